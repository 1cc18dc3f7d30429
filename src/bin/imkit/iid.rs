//! `imkit iid …`: inspect, query and draw `.iid` segmentation files.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use imkit::codec::WriteOptions;
use imkit::iid::{dump_json, IidFile};
use imkit::progress::Progress;

use crate::progress_bar::ProgressBar;

/// The `iid` subcommands.
#[derive(Subcommand)]
pub enum IidCommand {
    /// Entry count, groups and meta of a file.
    Info {
        /// The .iid file.
        file: PathBuf,
    },
    /// Every entry (label, box, area, regions, groups); --json gives the vectors' schema.
    Dump {
        /// The .iid file.
        file: PathBuf,
        /// Print the canonical JSON view (schema iidfile-0.2.0-vectors/1).
        #[arg(long)]
        json: bool,
    },
    /// Keys whose mask has pixel (row Y, column X) set.
    At(AtArgs),
    /// Keys with at least one true pixel in rows MINR..MAXR, columns MINC..MAXC (max exclusive).
    Region {
        /// The .iid file.
        file: PathBuf,
        /// First row.
        #[arg(allow_hyphen_values = true)]
        minr: i64,
        /// First column.
        #[arg(allow_hyphen_values = true)]
        minc: i64,
        /// One past the last row.
        #[arg(allow_hyphen_values = true)]
        maxr: i64,
        /// One past the last column.
        #[arg(allow_hyphen_values = true)]
        maxc: i64,
    },
    /// The overlap graph: one line "A B PIXELS" per pair of entries sharing pixels.
    Overlap {
        /// The .iid file.
        file: PathBuf,
        /// Print {"nodes": [...], "edges": [[a, b, pixels], ...]} instead.
        #[arg(long)]
        json: bool,
    },
    /// Draw the segments in distinct colours over an image (or a black canvas of the
    /// segments' extent) into a picture (RGB uint8; format from the extension).
    Render {
        /// The .iid file.
        file: PathBuf,
        /// The picture to write, e.g. segments.png.
        output: PathBuf,
        /// The image to draw over (PNG, TIFF, NPY or EXR, uint8 or uint16).
        #[arg(long, value_name = "BASE")]
        image: Option<PathBuf>,
    },
}

/// Arguments of `imkit iid at`.
#[derive(Args)]
pub struct AtArgs {
    /// The .iid file.
    file: PathBuf,
    /// Column.
    #[arg(allow_hyphen_values = true)]
    x: i64,
    /// Row.
    #[arg(allow_hyphen_values = true)]
    y: i64,
    /// Use the reference's 2x2 test (rows Y-1..Y, columns X-1..X) instead of the single pixel.
    #[arg(long)]
    compat: bool,
}

fn printable(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn print_keys(keys: &[u32]) {
    for k in keys {
        println!("{k}");
    }
}

/// Runs one `iid` subcommand.
pub fn run(cmd: IidCommand) -> imkit::Result<()> {
    match cmd {
        IidCommand::Info { file } => {
            let f = IidFile::open(&file)?;
            let h = f.header();
            println!("file:     {}", file.display());
            println!("size:     {} bytes", f.bytes().len());
            println!("version:  {} (rformat {})", h.version, h.rformat);
            println!("entries:  {}", f.len());
            println!("groups:   {}", f.groups().len());
            for g in f.groups() {
                println!("  {:?}: {} keys", g.name, g.keys.len());
            }
            println!("meta:     {}", f.meta_json());
        }
        IidCommand::Dump { file, json } => {
            let f = IidFile::open(&file)?;
            if json {
                println!("{}", dump_json(&f)?);
                return Ok(());
            }
            for key in 0..f.len() as u32 {
                let iid = f.iid(key)?;
                let seg = f.segment(key)?;
                println!(
                    "{key}\taddress={} domain={} bbox={} area={} regions={} groups={:?}",
                    printable(iid.address),
                    printable(iid.domain),
                    seg.bbox,
                    seg.area,
                    seg.regions().count(),
                    f.groups_of(key)
                );
            }
        }
        IidCommand::At(a) => {
            let f = IidFile::open(&a.file)?;
            let keys = if a.compat {
                f.at_compat(a.x, a.y)?
            } else {
                f.at(a.y, a.x)?
            };
            print_keys(&keys);
        }
        IidCommand::Region {
            file,
            minr,
            minc,
            maxr,
            maxc,
        } => print_keys(&IidFile::open(&file)?.region([minr, minc, maxr, maxc])?),
        IidCommand::Overlap { file, json } => {
            let g = IidFile::open(&file)?.overlap_graph(None)?;
            if json {
                let nodes: Vec<String> = g.nodes.iter().map(u32::to_string).collect();
                let edges: Vec<String> = g
                    .edges
                    .iter()
                    .map(|(a, b, w)| format!("[{a}, {b}, {w}]"))
                    .collect();
                println!(
                    "{{\"nodes\": [{}], \"edges\": [{}]}}",
                    nodes.join(", "),
                    edges.join(", ")
                );
            } else {
                for (a, b, w) in &g.edges {
                    println!("{a} {b} {w}");
                }
            }
        }
        IidCommand::Render {
            file,
            output,
            image,
        } => {
            let mut bar = ProgressBar::new("render");
            let mut report = |d, t| bar.update(d, t);
            let done = imkit::iid::render(
                &IidFile::open(&file)?,
                image.as_deref(),
                &output,
                &WriteOptions::default(),
                &mut Progress::new(&mut report),
            )?;
            drop(bar);
            println!(
                "wrote {} ({}x{}, {} segments)",
                output.display(),
                done.width,
                done.height,
                done.segments
            );
        }
    }
    Ok(())
}
