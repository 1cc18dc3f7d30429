//! Writes a large synthetic RGB PNG row by row (memory: one row), for benchmarks.
//! Usage: cargo run --release --example make_big_png -- OUT.png WIDTH HEIGHT [ramp|natural]
//!
//! - `ramp` (the default): diagonal ramps modulo 256 in each channel. PNG's filters predict
//!   them exactly, so the file compresses about 80:1: the cheapest case for every codec.
//! - `natural`: what photographs, slides and satellite images look like to a codec: fractal
//!   value noise (octaves of 1024 down to 4 pixels, amplitude falling with frequency, the
//!   channels correlated like luminance and chroma) plus a grain of a few levels per pixel.
//!   It compresses about 2:1, as photographs do.

use imkit::codec::{atomic::AtomicFile, png::PngMetadata, png::PngWriter};
use imkit::{PixelFormat, PixelType};

fn main() -> imkit::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: make_big_png OUT.png WIDTH HEIGHT [ramp|natural]");
        std::process::exit(2);
    }
    let parse = |s: &str| {
        s.parse::<usize>()
            .map_err(|e| imkit::Error::invalid(format!("{s}: {e}")))
    };
    let (width, height) = (parse(&args[2])?, parse(&args[3])?);
    let mut pattern = match args.get(4).map(String::as_str) {
        None | Some("ramp") => Pattern::Ramp,
        Some("natural") => Pattern::Natural(Box::new(Natural::new(width))),
        Some(other) => {
            return Err(imkit::Error::invalid(format!(
                "unknown pattern {other:?} (ramp or natural)"
            )))
        }
    };
    let file = AtomicFile::create(&args[1])?;
    let format = PixelFormat::new(PixelType::U8, 3)?;
    let mut writer = PngWriter::new(
        file.unbuffered()?,
        &args[1],
        width,
        height,
        format,
        3,
        &PngMetadata::default(),
    )?;
    let mut row = vec![0u8; width * 3];
    for y in 0..height {
        pattern.row(y, &mut row);
        writer.write_row(&row)?;
    }
    writer.finish()?;
    file.commit()
}

/// The picture drawn.
enum Pattern {
    Ramp,
    Natural(Box<Natural>),
}

impl Pattern {
    /// Fills image row `y`.
    fn row(&mut self, y: usize, row: &mut [u8]) {
        match self {
            Pattern::Ramp => ramp(y, row),
            Pattern::Natural(natural) => natural.row(y, row),
        }
    }
}

/// Row `y` of the ramp pattern.
fn ramp(y: usize, row: &mut [u8]) {
    for (x, px) in row.chunks_exact_mut(3).enumerate() {
        px[0] = ((37 * x + 17 * y) % 256) as u8;
        px[1] = ((13 * x + 53 * y) % 256) as u8;
        px[2] = ((97 * x + 19 * y) % 256) as u8;
    }
}

/// A well-mixed 64-bit hash (splitmix64's finaliser).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A lattice value in [-1, 1] for point (i, j) of noise `seed`.
fn lattice(seed: u64, i: usize, j: usize) -> f32 {
    let h = mix(seed ^ mix((i as u64) << 32 | j as u64));
    (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// One octave of value noise: a lattice every `period` pixels, smoothly interpolated.
struct Octave {
    seed: u64,
    period: usize,
    amplitude: f32,
    /// Lattice values of the lattice rows above and below the current image row.
    rows: [Vec<f32>; 2],
    /// The lattice row `rows[0]` holds.
    at: usize,
}

impl Octave {
    fn new(seed: u64, period: usize, amplitude: f32, width: usize) -> Octave {
        let n = width / period + 2;
        let mut octave = Octave {
            seed,
            period,
            amplitude,
            rows: [vec![0.0; n], vec![0.0; n]],
            at: usize::MAX,
        };
        octave.move_to(0);
        octave
    }

    fn move_to(&mut self, j: usize) {
        if self.at != j {
            for (k, row) in self.rows.iter_mut().enumerate() {
                for (i, v) in row.iter_mut().enumerate() {
                    *v = lattice(self.seed, i, j + k);
                }
            }
            self.at = j;
        }
    }

    /// Adds this octave's values along image row `y` to `acc` (one value per pixel).
    fn add_row(&mut self, y: usize, acc: &mut [f32]) {
        self.move_to(y / self.period);
        let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
        let fy = smooth((y % self.period) as f32 / self.period as f32);
        for (x, a) in acc.iter_mut().enumerate() {
            let (i, fx) = (
                x / self.period,
                (x % self.period) as f32 / self.period as f32,
            );
            let fx = smooth(fx);
            let top = self.rows[0][i] + (self.rows[0][i + 1] - self.rows[0][i]) * fx;
            let bottom = self.rows[1][i] + (self.rows[1][i + 1] - self.rows[1][i]) * fx;
            *a += self.amplitude * (top + (bottom - top) * fy);
        }
    }
}

/// The `natural` pattern: luminance of five octaves, two chroma planes of two, and grain.
struct Natural {
    luminance: Vec<Octave>,
    chroma: [Vec<Octave>; 2],
    planes: [Vec<f32>; 3],
}

impl Natural {
    fn new(width: usize) -> Natural {
        let octaves = |seed: u64, periods: &[usize]| -> Vec<Octave> {
            periods
                .iter()
                .enumerate()
                .map(|(k, &p)| Octave::new(seed + k as u64, p, (p as f32).powf(0.6), width))
                .collect()
        };
        Natural {
            luminance: octaves(1, &[1024, 256, 64, 16, 4]),
            chroma: [octaves(11, &[1024, 128]), octaves(21, &[1024, 128])],
            planes: [vec![0.0; width], vec![0.0; width], vec![0.0; width]],
        }
    }

    fn row(&mut self, y: usize, row: &mut [u8]) {
        let [luminance, chroma_a, chroma_b] = &mut self.planes;
        let [octaves_a, octaves_b] = &mut self.chroma;
        for (plane, octaves) in [
            (luminance, &mut self.luminance),
            (chroma_a, octaves_a),
            (chroma_b, octaves_b),
        ] {
            plane.fill(0.0);
            for octave in octaves.iter_mut() {
                octave.add_row(y, plane);
            }
        }
        let [l, a, b] = &self.planes;
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let grain = mix((y as u64) << 32 | x as u64);
            let (lum, ca, cb) = (128.0 + 1.2 * l[x], 0.8 * a[x], 0.8 * b[x]);
            for (c, v) in [lum + ca, lum - 0.5 * ca + cb, lum - cb]
                .into_iter()
                .enumerate()
            {
                let g = ((grain >> (16 * c)) & 7) as f32 - 3.5;
                px[c] = (v + g).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}
