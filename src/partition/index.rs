//! NumPy-style keys over a grid axis: one index, a slice `a:b` or the whole axis, resolved
//! with Python's semantics (negative values count from the end, slice bounds are clamped,
//! `a:-1` means "all but the last") into a non-empty range of cells, with clear errors.

use std::ops::Range;

use crate::error::{Error, Result};

/// A selection along one grid axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisKey {
    /// One cell; negative counts from the end (`-1` = last). Out of range is an error.
    Index(i64),
    /// Cells `start..stop` with Python slice semantics (`None` = from the start / to the end;
    /// negative bounds count from the end; bounds are clamped). An empty result is an error.
    Slice(Option<i64>, Option<i64>),
    /// Every cell (`:` / `None` / `...`).
    All,
}

impl AxisKey {
    /// Resolves the key against an axis of `n` cells into a non-empty cell range.
    pub fn resolve(self, n: u64, axis: &str) -> Result<Range<u64>> {
        let n_i = i64::try_from(n).map_err(|_| Error::invalid("grid too large"))?;
        match self {
            AxisKey::Index(i) => {
                let k = if i < 0 { i.checked_add(n_i) } else { Some(i) };
                match k {
                    Some(k) if (0..n_i).contains(&k) => Ok(k as u64..k as u64 + 1),
                    _ => Err(Error::OutOfBounds(format!(
                        "{axis} index {i} is out of range for {n} cell(s) (valid: {} to {})",
                        -n_i,
                        n_i - 1
                    ))),
                }
            }
            AxisKey::Slice(a, b) => {
                let clamp = |v: i64| -> i64 {
                    if v < 0 {
                        v.saturating_add(n_i).max(0)
                    } else {
                        v.min(n_i)
                    }
                };
                let start = a.map_or(0, clamp);
                let stop = b.map_or(n_i, clamp);
                if start >= stop {
                    return Err(Error::OutOfBounds(format!(
                        "{axis} slice {} selects no cell of {n}",
                        fmt_slice(a, b)
                    )));
                }
                Ok(start as u64..stop as u64)
            }
            AxisKey::All => {
                if n == 0 {
                    return Err(Error::OutOfBounds(format!("{axis} axis has no cells")));
                }
                Ok(0..n)
            }
        }
    }

    /// Parses `i`, `a:b`, `a:`, `:b`, `:` or `...` (spaces allowed). A third slice part is
    /// accepted only as an empty or `1` step: a strided selection is not a rectangle.
    pub fn parse(text: &str) -> Result<AxisKey> {
        let t = text.trim();
        if t.is_empty() || t == ":" || t == "..." || t == "::" {
            return Ok(AxisKey::All);
        }
        let int = |s: &str| -> Result<Option<i64>> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| Error::invalid(format!("{s:?} is not an integer in key {text:?}")))
        };
        let parts: Vec<&str> = t.split(':').collect();
        match parts.len() {
            1 => Ok(AxisKey::Index(int(parts[0])?.unwrap_or(0))),
            2 => Ok(AxisKey::Slice(int(parts[0])?, int(parts[1])?)),
            3 => match int(parts[2])? {
                None | Some(1) => Ok(AxisKey::Slice(int(parts[0])?, int(parts[1])?)),
                Some(s) => Err(Error::unsupported(format!(
                    "slice step {s} in {text:?}: a strided selection is a set of cells, not \
                     a rectangle; select cells one by one"
                ))),
            },
            _ => Err(Error::invalid(format!("{text:?} is not an index or slice"))),
        }
    }
}

fn fmt_slice(a: Option<i64>, b: Option<i64>) -> String {
    let f = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    format!("{}:{}", f(a), f(b))
}

impl std::fmt::Display for AxisKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AxisKey::Index(i) => write!(f, "{i}"),
            AxisKey::Slice(a, b) => f.write_str(&fmt_slice(*a, *b)),
            AxisKey::All => f.write_str(":"),
        }
    }
}

/// Parses a comma-separated key like `"2, -1"`, `"1:3, :"` or `"0"` (one part = rows, all
/// columns) into `dims` axis keys; missing trailing axes mean the whole axis.
pub fn parse_key(text: &str, dims: usize) -> Result<Vec<AxisKey>> {
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() > dims {
        return Err(Error::invalid(format!(
            "key {text:?} has {} parts, the grid has {dims} axes",
            parts.len()
        )));
    }
    let mut keys = parts
        .into_iter()
        .map(AxisKey::parse)
        .collect::<Result<Vec<_>>>()?;
    keys.resize(dims, AxisKey::All);
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Python's `list(range(n))[a:b]` selects.
    fn python(n: i64, a: Option<i64>, b: Option<i64>) -> Vec<i64> {
        let norm = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
        let (s, e) = (a.map_or(0, norm), b.map_or(n, norm));
        (s..e.max(s)).collect()
    }

    #[test]
    fn slices_follow_python() {
        for n in 1..6i64 {
            let bounds: Vec<Option<i64>> = std::iter::once(None)
                .chain((-n - 3..n + 3).map(Some))
                .collect();
            for &a in &bounds {
                for &b in &bounds {
                    let want = python(n, a, b);
                    match AxisKey::Slice(a, b).resolve(n as u64, "row") {
                        Ok(r) => {
                            let got: Vec<i64> = (r.start as i64..r.end as i64).collect();
                            assert_eq!(got, want, "{n} {a:?}:{b:?}");
                        }
                        Err(e) => {
                            assert!(want.is_empty(), "{n} {a:?}:{b:?}: {e}");
                            assert!(matches!(e, Error::OutOfBounds(_)));
                        }
                    }
                }
            }
            for i in -n - 3..n + 3 {
                let r = AxisKey::Index(i).resolve(n as u64, "col");
                if (-n..n).contains(&i) {
                    let k = if i < 0 { i + n } else { i } as u64;
                    assert_eq!(r.unwrap(), k..k + 1);
                } else {
                    assert!(r.is_err());
                }
            }
        }
        assert_eq!(
            AxisKey::Slice(None, Some(-1)).resolve(16, "row").unwrap(),
            0..15
        );
        assert_eq!(
            AxisKey::Slice(Some(1), Some(-1))
                .resolve(16, "row")
                .unwrap(),
            1..15
        );
        assert!(AxisKey::Slice(Some(-1), Some(2))
            .resolve(16, "row")
            .is_err());
        assert!(AxisKey::Index(i64::MIN).resolve(16, "row").is_err());
    }

    #[test]
    fn parsing() {
        assert_eq!(AxisKey::parse("3").unwrap(), AxisKey::Index(3));
        assert_eq!(AxisKey::parse(" -1 ").unwrap(), AxisKey::Index(-1));
        assert_eq!(
            AxisKey::parse("1:-1").unwrap(),
            AxisKey::Slice(Some(1), Some(-1))
        );
        assert_eq!(AxisKey::parse(":4").unwrap(), AxisKey::Slice(None, Some(4)));
        assert_eq!(AxisKey::parse("2:").unwrap(), AxisKey::Slice(Some(2), None));
        assert_eq!(AxisKey::parse("...").unwrap(), AxisKey::All);
        assert_eq!(AxisKey::parse("::1").unwrap(), AxisKey::Slice(None, None));
        assert!(AxisKey::parse("::2").is_err());
        assert!(AxisKey::parse("x").is_err());
        assert!(AxisKey::parse("1:2:3:4").is_err());
        assert_eq!(
            parse_key("1:3", 2).unwrap(),
            vec![AxisKey::Slice(Some(1), Some(3)), AxisKey::All]
        );
        assert!(parse_key("1,2,3", 2).is_err());
    }
}
