# Partitions (virtual grids of cells over an image), fragment and stitch.
# Cell indices are imkit's: 0-based, negative counting from the end (like Python/impart).
# Pixel coordinates are imkit's too (0-based x = column, y = row).

"""Cell `i` of an axis (0-based; negative from the end)."""
key_index(i::Integer) = imkit_axis_key(IMKIT_KEY_KIND_INDEX, false, false, Int64(i), 0)

"""Cells `start:stop` of an axis with Python semantics; `nothing` omits a bound."""
key_slice(start::Union{Nothing,Integer}, stop::Union{Nothing,Integer}) =
    imkit_axis_key(IMKIT_KEY_KIND_SLICE, start !== nothing, stop !== nothing,
                   start === nothing ? 0 : Int64(start), stop === nothing ? 0 : Int64(stop))

"""The whole axis."""
key_all() = imkit_axis_key(IMKIT_KEY_KIND_ALL, false, false, 0, 0)

"""
    PartitionOptions(; cell=nothing, stride=nothing, step=nothing, depth=nothing,
                     edge=nothing, fill=0.0, channels=nothing, cache_dir=nothing, volume=nothing)

`cell = (height, width)`, `stride = (y, x)` fractions of the cell, `step = (y, x)` pixels,
`depth = (cell_depth, step_depth)`, `edge` an `IMKIT_PARTITION_EDGE_*` constant,
`channels` band indices (0-based, negative from the end), `cache_dir` for PNG sources,
`volume=true` to open 3-D NPY arrays as (depth, height, width) volumes.
"""
mutable struct PartitionOptions
    ptr::Ptr{Cvoid}
    function PartitionOptions(; cell=nothing, stride=nothing, step=nothing, depth=nothing, edge=nothing,
                              fill::Real=0.0, channels=nothing, cache_dir=nothing, volume=nothing)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(@ccall libimkit.imkit_partition_options_new(out::Ref{Ptr{Cvoid}})::Int32)
        o = finalizer(close, new(out[]))
        if cell !== nothing
            check(@ccall libimkit.imkit_partition_options_set_cell(o::Ptr{Cvoid}, UInt64(cell[1])::UInt64,
                                                                   UInt64(cell[2])::UInt64)::Int32)
        end
        if stride !== nothing
            check(@ccall libimkit.imkit_partition_options_set_stride(o::Ptr{Cvoid}, Float64(stride[1])::Cdouble,
                                                                     Float64(stride[2])::Cdouble)::Int32)
        end
        if step !== nothing
            check(@ccall libimkit.imkit_partition_options_set_step(o::Ptr{Cvoid}, UInt64(step[1])::UInt64,
                                                                   UInt64(step[2])::UInt64)::Int32)
        end
        if depth !== nothing
            check(@ccall libimkit.imkit_partition_options_set_depth(o::Ptr{Cvoid}, UInt64(depth[1])::UInt64,
                                                                    UInt64(depth[2])::UInt64)::Int32)
        end
        if edge !== nothing
            check(@ccall libimkit.imkit_partition_options_set_edge(o::Ptr{Cvoid}, Int32(edge)::Int32,
                                                                   Float64(fill)::Cdouble)::Int32)
        end
        if channels !== nothing
            bands = Int64.(collect(channels))
            GC.@preserve bands begin
                check(@ccall libimkit.imkit_partition_options_set_channels(o::Ptr{Cvoid}, pointer(bands)::Ptr{Int64},
                                                                           length(bands)::Csize_t)::Int32)
            end
        end
        if volume !== nothing
            check(@ccall libimkit.imkit_partition_options_set_volume(o::Ptr{Cvoid}, Int32(volume)::Int32)::Int32)
        end
        if cache_dir !== nothing
            check(@ccall libimkit.imkit_partition_options_set_cache_dir(o::Ptr{Cvoid}, cache_dir::Cstring)::Int32)
        end
        return o
    end
end

function Base.close(o::PartitionOptions)
    if o.ptr != C_NULL
        @ccall libimkit.imkit_partition_options_free(o.ptr::Ptr{Cvoid})::Cvoid
        o.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, o::PartitionOptions) =
    o.ptr == C_NULL ? throw(closed_error("PartitionOptions")) : o.ptr

options_ptr(o::PartitionOptions) = Base.unsafe_convert(Ptr{Cvoid}, o)

"""
    Partition

A virtual grid of cells over an image (`open_partition`, `partition`). Reads may run from
several threads at once; `close` frees it early.
"""
mutable struct Partition
    ptr::Ptr{Cvoid}
    Partition(ptr::Ptr{Cvoid}) = finalizer(close, new(ptr))
end

function Base.close(p::Partition)
    if p.ptr != C_NULL
        @ccall libimkit.imkit_partition_free(p.ptr::Ptr{Cvoid})::Cvoid
        p.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, p::Partition) = p.ptr == C_NULL ? throw(closed_error("Partition")) : p.ptr

"""Opens an image file (PNG, TIFF; multi-page TIFF as a volume) as a partition."""
function open_partition(path::AbstractString; options::Union{Nothing,PartitionOptions}=nothing)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve options begin
        check(@ccall libimkit.imkit_partition_open(path::Cstring, options_ptr(options)::Ptr{Cvoid},
                                                   out::Ref{Ptr{Cvoid}})::Int32)
    end
    return Partition(out[])
end

"""A partition over a copy of `A` (`(channels, width, height)` or a `(width, height)` matrix)."""
function partition(a::Union{Array{T,3},Matrix{T}}; options::Union{Nothing,PartitionOptions}=nothing) where {T}
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve a options begin
        v = Ref(view_of(a))
        check(@ccall libimkit.imkit_partition_from_buffer(v::Ref{imkit_image_view}, options_ptr(options)::Ptr{Cvoid},
                                                          out::Ref{Ptr{Cvoid}})::Int32)
    end
    return Partition(out[])
end

"""Cells per axis: `(rows, cols, depth)`."""
function grid_shape(p::Partition)
    r, c, d = Ref{UInt64}(0), Ref{UInt64}(0), Ref{UInt64}(0)
    check(@ccall libimkit.imkit_partition_shape(p::Ptr{Cvoid}, r::Ref{UInt64}, c::Ref{UInt64}, d::Ref{UInt64})::Int32)
    return (Int(r[]), Int(c[]), Int(d[]))
end

"""Step in pixels `(y, x)` as impart reports it."""
function grid_step(p::Partition)
    y, x = Ref{Cdouble}(0), Ref{Cdouble}(0)
    check(@ccall libimkit.imkit_partition_step(p::Ptr{Cvoid}, y::Ref{Cdouble}, x::Ref{Cdouble})::Int32)
    return (y[], x[])
end

"""The source's size and the layout reads return: `(width, height, slices, channels, eltype)`."""
function source_info(p::Partition)
    w, h, s = Ref{UInt64}(0), Ref{UInt64}(0), Ref{UInt64}(0)
    c = Ref{UInt32}(0)
    t = Ref{Int32}(0)
    check(@ccall libimkit.imkit_partition_source(p::Ptr{Cvoid}, w::Ref{UInt64}, h::Ref{UInt64}, s::Ref{UInt64},
                                                c::Ref{UInt32}, t::Ref{Int32})::Int32)
    return (width=Int(w[]), height=Int(h[]), slices=Int(s[]), channels=Int(c[]), eltype=sample_type(t[]))
end

"""The image rectangle (an `imkit_rect`, 0-based, half-open) of cell (`row`, `col`)."""
function cell_rect(p::Partition, row::Integer, col::Integer)
    r = Ref{imkit_rect}()
    check(@ccall libimkit.imkit_partition_cell_rect(p::Ptr{Cvoid}, Int64(row)::Int64, Int64(col)::Int64,
                                                    r::Ref{imkit_rect})::Int32)
    return r[]
end

"""
    selection(p, keys) -> (rect, nbytes)

The union rectangle of a selection (`keys` from `key_index`, `key_slice`, `key_all`: rows,
cols; or depth, rows, cols) and the bytes a read of it needs.
"""
function selection(p::Partition, keys::Vector{imkit_axis_key})
    r = Ref{imkit_rect}()
    n = Ref{Csize_t}(0)
    GC.@preserve keys begin
        check(@ccall libimkit.imkit_partition_region(p::Ptr{Cvoid}, pointer(keys)::Ptr{imkit_axis_key},
                                                     length(keys)::Csize_t, r::Ref{imkit_rect}, n::Ref{Csize_t})::Int32)
    end
    return (r[], Int(n[]))
end

"""
    read_selection!(out, p, keys; layout=IMKIT_LAYOUT_INTERLEAVED) -> out

Reads a selection into the caller's dense array `out` (element type the source's, at least
`selection(p, keys)[2]` bytes), flat in imkit's order: interleaved is (h, w, c) in C order, i.e.
`reshape(out, c, w, h)` in Julia, and for a volume (three keys: depth, rows, cols)
(d, h, w, c), i.e. `reshape(out, c, w, h, d)`; planar is (c, h, w) per slice.
"""
function read_selection!(out::DenseArray{T}, p::Partition, keys::Vector{imkit_axis_key};
                         layout::Integer=IMKIT_LAYOUT_INTERLEAVED) where {T}
    T == source_info(p).eltype || throw(ArgumentError("`out` holds $T, the partition reads $(source_info(p).eltype)"))
    GC.@preserve keys out begin
        check(@ccall libimkit.imkit_partition_read(p::Ptr{Cvoid}, pointer(keys)::Ptr{imkit_axis_key}, length(keys)::Csize_t,
                                                   Int32(layout)::Int32, pointer(out)::Ptr{Cvoid}, sizeof(out)::Csize_t)::Int32)
    end
    return out
end

"""
    read_selection(p, keys; layout=IMKIT_LAYOUT_INTERLEAVED) -> Vector{T}

The samples of a selection in a new vector, laid out as `read_selection!` describes.
"""
function read_selection(p::Partition, keys::Vector{imkit_axis_key}; layout::Integer=IMKIT_LAYOUT_INTERLEAVED)
    T = source_info(p).eltype
    _, n = selection(p, keys)
    return read_selection!(Vector{T}(undef, n ÷ sizeof(T)), p, keys; layout=layout)
end

"""
    read_cell(p, row, col; layout=IMKIT_LAYOUT_INTERLEAVED) -> Array{T,3}

Cell (`row`, `col`) as `(channels, width, height)` (interleaved) or `(width, height,
channels)` (planar): imkit's row-major layouts seen column-major, with no reordering.
Cells padded beyond the image (`IMKIT_PARTITION_EDGE_PAD`) are read with `read_selection`.
"""
function read_cell(p::Partition, row::Integer, col::Integer; layout::Integer=IMKIT_LAYOUT_INTERLEAVED)
    info = source_info(p)
    T = info.eltype
    keys = [key_index(row), key_index(col)]
    r, n = selection(p, keys)
    c = info.channels
    w, h = Int(r.right - r.left), Int(r.bottom - r.top)
    if w * h * c * sizeof(T) != n
        # A padded cell reads at full cell size, larger than its (clipped) rectangle.
        throw(ImkitError(IMKIT_STATUS_UNSUPPORTED, "cell ($(row), $(col)) is padded beyond the image; " *
                                                   "read it with read_selection"))
    end
    out = layout == IMKIT_LAYOUT_PLANAR ? Array{T,3}(undef, w, h, c) : Array{T,3}(undef, c, w, h)
    GC.@preserve out begin
        check(@ccall libimkit.imkit_partition_read_cell(p::Ptr{Cvoid}, Int64(row)::Int64, Int64(col)::Int64,
                                                        Int32(layout)::Int32, pointer(out)::Ptr{Cvoid},
                                                        sizeof(out)::Csize_t)::Int32)
    end
    return out
end

"""The cells containing pixel (`x`, `y`): 0-based half-open ranges `(row0, row1, col0, col1)`."""
function cells_at(p::Partition, x::Integer, y::Integer)
    r0, r1, c0, c1 = Ref{UInt64}(0), Ref{UInt64}(0), Ref{UInt64}(0), Ref{UInt64}(0)
    check(@ccall libimkit.imkit_partition_cells_at(p::Ptr{Cvoid}, UInt64(x)::UInt64, UInt64(y)::UInt64,
                                                   r0::Ref{UInt64}, r1::Ref{UInt64}, c0::Ref{UInt64},
                                                   c1::Ref{UInt64})::Int32)
    return (Int(r0[]), Int(r1[]), Int(c0[]), Int(c1[]))
end

"""
    fragment(p, out_dir; name_template="", options=nothing, progress=nothing)

Writes every cell into the existing directory `out_dir` plus `manifest.json`.
`progress(done, total)` (cells) returns `true` to continue.
"""
function fragment(p::Partition, out_dir::AbstractString; name_template::AbstractString="",
                  options::Union{Nothing,WriteOptions}=nothing, progress=nothing)
    tmpl = String(name_template)
    GC.@preserve p tmpl options begin
        with_progress(progress) do cb, ud
            @ccall libimkit.imkit_fragment(p::Ptr{Cvoid}, out_dir::Cstring, opt_text(tmpl)::Ptr{UInt8},
                                           options_ptr(options)::Ptr{Cvoid}, cb::Ptr{Cvoid}, ud::Ptr{Cvoid})::Int32
        end
    end
end

"""
    stitch(manifest, output; blend=IMKIT_BLEND_OVERWRITE, options=nothing, progress=nothing)

Rebuilds an image from a fragment manifest; `progress(done, total)` (rows).
"""
function stitch(manifest::AbstractString, output::AbstractString; blend::Integer=IMKIT_BLEND_OVERWRITE,
                options::Union{Nothing,WriteOptions}=nothing, progress=nothing)
    GC.@preserve options begin
        with_progress(progress) do cb, ud
            @ccall libimkit.imkit_stitch(manifest::Cstring, output::Cstring, Int32(blend)::Int32,
                                         options_ptr(options)::Ptr{Cvoid}, cb::Ptr{Cvoid}, ud::Ptr{Cvoid})::Int32
        end
    end
end
