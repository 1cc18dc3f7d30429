"""
    Imkit

Julia binding of imkit (tile-based processing of images of any size) over its C ABI,
`include/imkit.h`.

- The library is `ENV["IMKIT_LIB"]` when set, else the repository's
  `target/release/libimkit.so` (run `cargo build --release`); fixed at precompile time.
- Handles (`Image`, `WriteOptions`, `IIDFile`, `IIDGraph`, `IIDWriter`) are mutable structs
  with a finalizer; `close(x)` frees them early and is idempotent. A closed handle throws
  `ImkitError(IMKIT_STATUS_NULL_ARG, ...)` instead of reaching C.
- Failures throw `ImkitError(code, msg)`; status codes are plain `Int32` constants
  (`IMKIT_STATUS_IO`, ...), so codes added later never break `ImkitError`.
- Layout: imkit pixels are row-major and interleaved. Julia is column-major, so pixels are
  `Array{T,3}` of size `(channels, width, height)`, indexed `A[c, x, y]` (1-based), which
  is the same memory with no copy. `permutedims(A, (3, 2, 1))` gives `(height, width,
  channels)`. Masks of `.iid` files are returned as `Matrix{Bool}` of size
  `(rows, columns)`, i.e. `M[row, col]`, converted from imkit's row-major bytes.
"""
module Imkit

const libimkit = get(ENV, "IMKIT_LIB", normpath(joinpath(@__DIR__, "..", "..", "..", "..", "target", "release", "libimkit.so")))

export ImkitError, status_str, last_error_message, version, version_string, abi_version,
       set_num_threads, num_threads,
       WriteOptions, set_png_compression!, Image, read_image, pixels, image_info, write_image,
       tile_spec, place_tile, extract_tile, paste_tile!, extract_tile_file, paste_tile_file,
       IIDFile, open_iid, open_iid_buffer, validate, address, domain, segment_info, region_info,
       mask, mask_bytes, meta_json, groups, fetch_all, fetch_keys, fetch_groups, look_for,
       filter_keys, region, at, at_compat, IIDGraph, overlap_graph, nodes, edges,
       IIDWriter, add!, add_to_group!, set_meta_json!, save,
       set_exr_compression!, SaveOptions, save_image, save_array, load, array_shape, array_data,
       metadata_save, metadata_load, save_list, save_dir, ImageList, load_list, load_dir,
       SaveQueueOptions, SaveQueue, try_push!, next_error,
       PartitionOptions, Partition, open_partition, partition, key_index, key_slice, key_all,
       grid_shape, grid_step, source_info, cell_rect, selection, read_selection, read_selection!, read_cell,
       cells_at, fragment, stitch, PipelineOptions, map_tiles

include("lib.jl")
include("errors.jl")
include("library.jl")
include("image.jl")
include("tiling.jl")
include("io.jl")
include("partition.jl")
include("pipeline.jl")
include("iid.jl")

function __init__()
    abi = @ccall libimkit.imkit_abi_version()::UInt32
    if abi != IMKIT_ABI_VERSION
        error("Imkit: $(libimkit) implements ABI version $(abi) but this binding was written for " *
              "IMKIT_ABI_VERSION $(IMKIT_ABI_VERSION); point ENV[\"IMKIT_LIB\"] at a matching library")
    end
end

end # module
