//! `imkit._imkit`: the Python extension of imkit, a thin skin over the Rust core (argument
//! conversion, GIL release around every I/O, codec and compute call, error mapping). The
//! public API is `imkit` (python/imkit/__init__.py), which re-exports what is here.

mod convert;
mod errors;
mod iid;
mod io;
mod partition;
mod pipeline;
mod progress;
mod tiles;

use pyo3::prelude::*;

/// Sets the number of threads of imkit's own pool (0 = one per core).
#[pyfunction]
fn set_num_threads(py: Python<'_>, n: usize) -> PyResult<()> {
    use errors::CoreResult;
    imkit::threads::set_num_threads(n).py(py)
}

/// Sets the size limit for every buffer sized from input, in samples (pixels x channels);
/// 0 restores the default (2**32). Input past it raises :class:`imkit.TooLargeError`.
#[pyfunction]
fn set_max_pixels(samples: u64) {
    imkit::limits::set_max_pixels(samples);
}

/// The size limit in samples (see :func:`set_max_pixels`).
#[pyfunction]
fn get_max_pixels() -> u64 {
    imkit::limits::max_pixels()
}

#[pymodule]
fn _imkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(io::load, m)?)?;
    m.add_function(wrap_pyfunction!(io::save, m)?)?;
    m.add_function(wrap_pyfunction!(io::load_list, m)?)?;
    m.add_function(wrap_pyfunction!(io::save_list, m)?)?;
    m.add_function(wrap_pyfunction!(io::load_dir, m)?)?;
    m.add_function(wrap_pyfunction!(io::save_dir, m)?)?;
    m.add_function(wrap_pyfunction!(io::load_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(io::save_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(io::info, m)?)?;
    m.add_class::<io::SaveQueue>()?;
    m.add_function(wrap_pyfunction!(tiles::extract_tile, m)?)?;
    m.add_function(wrap_pyfunction!(tiles::paste_tile, m)?)?;
    m.add_function(wrap_pyfunction!(tiles::fragment, m)?)?;
    m.add_function(wrap_pyfunction!(tiles::stitch, m)?)?;
    m.add_function(wrap_pyfunction!(tiles::stitch_png_part, m)?)?;
    m.add_function(wrap_pyfunction!(tiles::join_png_parts, m)?)?;
    m.add_function(wrap_pyfunction!(tiles::png_part_rows, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::map_tiles, m)?)?;
    m.add_class::<partition::Partition>()?;
    m.add_class::<partition::Region>()?;
    m.add_class::<iid::IidFile>()?;
    m.add_class::<iid::IidEntry>()?;
    m.add_class::<iid::IidWriter>()?;
    m.add_class::<iid::EntryTable>()?;
    m.add_class::<iid::CompatEntry>()?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_max_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(get_max_pixels, m)?)?;
    Ok(())
}
