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
    m.add_function(wrap_pyfunction!(pipeline::map_tiles, m)?)?;
    m.add_class::<partition::Partition>()?;
    m.add_class::<partition::Region>()?;
    m.add_class::<iid::IidFile>()?;
    m.add_class::<iid::IidEntry>()?;
    m.add_class::<iid::IidWriter>()?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    Ok(())
}
