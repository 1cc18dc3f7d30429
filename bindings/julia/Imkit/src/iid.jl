# .iid segmentation files: the immutable IIDFile reader, its IIDGraph, and IIDWriter.
# Keys are imkit's (0-based) entry numbers; boxes are imkit_iid_bbox(minr, minc, maxr, maxc),
# rows [minr, maxr) and columns [minc, maxc), 0-based and half-open.

"""
    IIDFile

An open, immutable `.iid` file (`open_iid`, `open_iid_buffer`). Queries may run from
several threads at once; `close` must not race with them.
"""
mutable struct IIDFile
    ptr::Ptr{Cvoid}
    IIDFile(ptr::Ptr{Cvoid}) = finalizer(close, new(ptr))
end

function Base.close(f::IIDFile)
    if f.ptr != C_NULL
        @ccall libimkit.imkit_iid_file_free(f.ptr::Ptr{Cvoid})::Cvoid
        f.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, f::IIDFile) = f.ptr == C_NULL ? throw(closed_error("IIDFile")) : f.ptr

"""
    open_iid(path) -> IIDFile

Opens and validates a `.iid` file (memory-mapped read-only: do not rewrite it in place
while it is open).
"""
function open_iid(path::AbstractString)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(@ccall libimkit.imkit_iid_file_open(path::Cstring, out::Ref{Ptr{Cvoid}})::Int32)
    return IIDFile(out[])
end

"""
    open_iid_buffer(bytes) -> IIDFile

Opens a `.iid` file held in memory (the bytes are copied).
"""
function open_iid_buffer(data::Vector{UInt8})
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve data begin
        check(@ccall libimkit.imkit_iid_file_open_buffer(pointer(data)::Ptr{UInt8}, length(data)::Csize_t,
                                                         out::Ref{Ptr{Cvoid}})::Int32)
    end
    return IIDFile(out[])
end

"""Number of entries (keys 0 .. count-1)."""
function Base.length(f::IIDFile)
    n = Ref{Csize_t}(0)
    check(@ccall libimkit.imkit_iid_file_count(f::Ptr{Cvoid}, n::Ref{Csize_t})::Int32)
    return Int(n[])
end

"""Checks every record; throws `ImkitError(IMKIT_STATUS_FORMAT, ...)` on the first problem."""
validate(f::IIDFile) = check(@ccall libimkit.imkit_iid_file_validate(f::Ptr{Cvoid})::Int32)

"""Entry `key`'s address bytes (copied)."""
function address(f::IIDFile, key::Integer)
    data = Ref{Ptr{UInt8}}(C_NULL)
    len = Ref{Csize_t}(0)
    bytes = GC.@preserve f begin
        check(@ccall libimkit.imkit_iid_file_address(f::Ptr{Cvoid}, UInt32(key)::UInt32, data::Ref{Ptr{UInt8}},
                                                     len::Ref{Csize_t})::Int32)
        copy(unsafe_wrap(Array, data[], len[]))
    end
    return bytes
end

"""Entry `key`'s domain bytes (copied; empty when absent)."""
function domain(f::IIDFile, key::Integer)
    data = Ref{Ptr{UInt8}}(C_NULL)
    len = Ref{Csize_t}(0)
    bytes = GC.@preserve f begin
        check(@ccall libimkit.imkit_iid_file_domain(f::Ptr{Cvoid}, UInt32(key)::UInt32, data::Ref{Ptr{UInt8}},
                                                    len::Ref{Csize_t})::Int32)
        copy(unsafe_wrap(Array, data[], len[]))
    end
    return bytes
end

"""Box, area, region count and mask sizes of entry `key` (an `imkit_iid_segment_info`)."""
function segment_info(f::IIDFile, key::Integer)
    s = Ref{imkit_iid_segment_info}()
    check(@ccall libimkit.imkit_iid_file_segment_info(f::Ptr{Cvoid}, UInt32(key)::UInt32,
                                                      s::Ref{imkit_iid_segment_info})::Int32)
    return s[]
end

"""Region `index` (0-based, file order) of entry `key`: `(bbox, area)`."""
function region_info(f::IIDFile, key::Integer, index::Integer)
    b = Ref{imkit_iid_bbox}()
    area = Ref{UInt64}(0)
    check(@ccall libimkit.imkit_iid_file_region_info(f::Ptr{Cvoid}, UInt32(key)::UInt32, Csize_t(index)::Csize_t,
                                                     b::Ref{imkit_iid_bbox}, area::Ref{UInt64})::Int32)
    return (b[], area[])
end

"""
    mask_bytes(f, key; packed=false) -> Vector{UInt8}

Entry `key`'s mask as imkit stores it: row-major over the box, one byte (0/1) per pixel,
or packed bits (MSB first, rows not byte-aligned) when `packed`.
"""
function mask_bytes(f::IIDFile, key::Integer; packed::Bool=false)
    info = segment_info(f, key)
    buf = Vector{UInt8}(undef, packed ? info.mask_packed_bytes : info.mask_bytes)
    needed = Ref{Csize_t}(0)
    GC.@preserve buf begin
        check(@ccall libimkit.imkit_iid_file_mask(f::Ptr{Cvoid}, UInt32(key)::UInt32, packed::Bool,
                                                  pointer(buf)::Ptr{UInt8}, length(buf)::Csize_t,
                                                  needed::Ref{Csize_t})::Int32)
    end
    return resize!(buf, needed[])
end

"""
    mask(f, key) -> Matrix{Bool}

Entry `key`'s mask over its box as a `(rows, columns)` matrix, `M[row, col]` (imkit's
row-major bytes transposed into Julia's column-major order).
"""
function mask(f::IIDFile, key::Integer)
    b = segment_info(f, key).bbox
    h, w = Int(b.maxr - b.minr), Int(b.maxc - b.minc)
    return Matrix{Bool}(permutedims(reshape(mask_bytes(f, key) .!= 0, w, h)))
end

"""The meta JSON text as stored."""
function meta_json(f::IIDFile)
    GC.@preserve f text_query((buf, len, needed) ->
        @ccall libimkit.imkit_iid_file_meta_json(f::Ptr{Cvoid}, buf::Ptr{UInt8}, len::Csize_t,
                                                 needed::Ref{Csize_t})::Int32)
end

"""Group names in file order."""
function groups(f::IIDFile)
    n = Ref{Csize_t}(0)
    check(@ccall libimkit.imkit_iid_file_group_count(f::Ptr{Cvoid}, n::Ref{Csize_t})::Int32)
    name(i) = text_query((buf, len, needed) ->
        @ccall libimkit.imkit_iid_file_group_name(f::Ptr{Cvoid}, Csize_t(i)::Csize_t, buf::Ptr{UInt8},
                                                  len::Csize_t, needed::Ref{Csize_t})::Int32)
    return String[name(i) for i in 0:Int(n[])-1]
end

# C strings for a list of names; keep `names` preserved while the pointers are used.
cstrings(names::Vector{String}) = Cstring[Base.unsafe_convert(Cstring, Base.cconvert(Cstring, s)) for s in names]

# imkit_iid_bytes for a list of byte vectors; keep `list` preserved while they are used.
iid_bytes(list::Vector{Vector{UInt8}}) = imkit_iid_bytes[imkit_iid_bytes(pointer(b), length(b)) for b in list]

function fetch_keys_with(f::IIDFile, select::Int32, keys::Vector{UInt64}, names::Vector{String}, iids::Bool, segments::Bool)
    GC.@preserve f keys names begin
        g = cstrings(names)
        GC.@preserve g two_call(UInt32, (buf, cap, count) ->
            @ccall libimkit.imkit_iid_file_fetch(f::Ptr{Cvoid}, select::Int32, pointer(keys)::Ptr{UInt64},
                                                 length(keys)::Csize_t, pointer(g)::Ptr{Cstring}, length(g)::Csize_t,
                                                 iids::Bool, segments::Bool, buf::Ptr{UInt32}, cap::Csize_t,
                                                 count::Ref{Csize_t})::Int32)
    end
end

"""Every key, with labels/segments checked (decoded) first when asked."""
fetch_all(f::IIDFile; iids::Bool=false, segments::Bool=false) =
    fetch_keys_with(f, IMKIT_IID_SELECT_ALL, UInt64[], String[], iids, segments)

"""The given keys, ascending and deduplicated (a missing key throws OUT_OF_BOUNDS)."""
fetch_keys(f::IIDFile, keys::AbstractVector{<:Integer}; iids::Bool=false, segments::Bool=false) =
    fetch_keys_with(f, IMKIT_IID_SELECT_KEYS, UInt64.(keys), String[], iids, segments)

"""The union of the named groups."""
fetch_groups(f::IIDFile, names::AbstractVector{<:AbstractString}; iids::Bool=false, segments::Bool=false) =
    fetch_keys_with(f, IMKIT_IID_SELECT_GROUPS, UInt64[], String.(names), iids, segments)

"""
    look_for(f, addresses; domains=[], groups=[]) -> Vector{UInt32}

Keys whose address is one of `addresses` (byte vectors or strings), restricted to
`domains` and `groups` when they are not empty.
"""
function look_for(f::IIDFile, addresses::AbstractVector; domains::AbstractVector=Vector{UInt8}[],
                  groups::AbstractVector=String[])
    a = Vector{UInt8}[Vector{UInt8}(x) for x in addresses]
    d = Vector{UInt8}[Vector{UInt8}(x) for x in domains]
    names = String.(groups)
    GC.@preserve f a d names begin
        ab, db, g = iid_bytes(a), iid_bytes(d), cstrings(names)
        GC.@preserve ab db g two_call(UInt32, (buf, cap, count) ->
            @ccall libimkit.imkit_iid_file_look_for(f::Ptr{Cvoid}, pointer(ab)::Ptr{imkit_iid_bytes}, length(ab)::Csize_t,
                                                    pointer(db)::Ptr{imkit_iid_bytes}, length(db)::Csize_t,
                                                    pointer(g)::Ptr{Cstring}, length(g)::Csize_t, buf::Ptr{UInt32},
                                                    cap::Csize_t, count::Ref{Csize_t})::Int32)
    end
end

"""
    filter_keys(f; groups=[], domains=[], area=nothing) -> Vector{UInt32}

Keys in the union of `groups` (all when empty), with a domain among `domains` (any when
empty) and an area within `area`, an `imkit_iid_area_range` (any when `nothing`).
"""
function filter_keys(f::IIDFile; groups::AbstractVector=String[], domains::AbstractVector=Vector{UInt8}[],
                     area::Union{Nothing,imkit_iid_area_range}=nothing)
    d = Vector{UInt8}[Vector{UInt8}(x) for x in domains]
    names = String.(groups)
    range = area === nothing ? nothing : Ref(area)
    GC.@preserve f d names range begin
        db, g = iid_bytes(d), cstrings(names)
        rp = range === nothing ? Ptr{imkit_iid_area_range}(C_NULL) : Base.unsafe_convert(Ptr{imkit_iid_area_range}, range)
        GC.@preserve db g two_call(UInt32, (buf, cap, count) ->
            @ccall libimkit.imkit_iid_file_filter(f::Ptr{Cvoid}, pointer(g)::Ptr{Cstring}, length(g)::Csize_t,
                                                  pointer(db)::Ptr{imkit_iid_bytes}, length(db)::Csize_t,
                                                  rp::Ptr{imkit_iid_area_range}, buf::Ptr{UInt32}, cap::Csize_t,
                                                  count::Ref{Csize_t})::Int32)
    end
end

"""Keys with at least one true pixel inside `box` (an `imkit_iid_bbox`)."""
function region(f::IIDFile, box::imkit_iid_bbox)
    GC.@preserve f two_call(UInt32, (buf, cap, count) ->
        @ccall libimkit.imkit_iid_file_region(f::Ptr{Cvoid}, Ref(box)::Ref{imkit_iid_bbox}, buf::Ptr{UInt32},
                                              cap::Csize_t, count::Ref{Csize_t})::Int32)
end

"""Keys whose mask has pixel (`row`, `col`) set (0-based image coordinates)."""
function at(f::IIDFile, row::Integer, col::Integer)
    GC.@preserve f two_call(UInt32, (buf, cap, count) ->
        @ccall libimkit.imkit_iid_file_at(f::Ptr{Cvoid}, Int64(row)::Int64, Int64(col)::Int64, buf::Ptr{UInt32},
                                          cap::Csize_t, count::Ref{Csize_t})::Int32)
end

"""The reference's `at(x, y)`: any true pixel in rows y-1..y, columns x-1..x."""
function at_compat(f::IIDFile, x::Integer, y::Integer)
    GC.@preserve f two_call(UInt32, (buf, cap, count) ->
        @ccall libimkit.imkit_iid_file_at_compat(f::Ptr{Cvoid}, Int64(x)::Int64, Int64(y)::Int64, buf::Ptr{UInt32},
                                                 cap::Csize_t, count::Ref{Csize_t})::Int32)
end

"""
    IIDGraph

An overlap graph (`overlap_graph`): `nodes(g)` and `edges(g)`; `close` frees it early.
"""
mutable struct IIDGraph
    ptr::Ptr{Cvoid}
    IIDGraph(ptr::Ptr{Cvoid}) = finalizer(close, new(ptr))
end

function Base.close(g::IIDGraph)
    if g.ptr != C_NULL
        @ccall libimkit.imkit_iid_graph_free(g.ptr::Ptr{Cvoid})::Cvoid
        g.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, g::IIDGraph) = g.ptr == C_NULL ? throw(closed_error("IIDGraph")) : g.ptr

"""
    overlap_graph(f; keys=nothing) -> IIDGraph

The overlap graph over every entry, or over `keys`.
"""
function overlap_graph(f::IIDFile; keys::Union{Nothing,AbstractVector{<:Integer}}=nothing)
    k = keys === nothing ? UInt64[] : UInt64.(keys)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve k begin
        check(@ccall libimkit.imkit_iid_file_overlap_graph(f::Ptr{Cvoid}, (keys === nothing)::Bool,
                                                           pointer(k)::Ptr{UInt64}, length(k)::Csize_t,
                                                           out::Ref{Ptr{Cvoid}})::Int32)
    end
    return IIDGraph(out[])
end

"""Node keys of a graph, ascending."""
nodes(g::IIDGraph) = GC.@preserve g two_call(UInt32, (buf, cap, count) ->
    @ccall libimkit.imkit_iid_graph_nodes(g::Ptr{Cvoid}, buf::Ptr{UInt32}, cap::Csize_t, count::Ref{Csize_t})::Int32)

"""Edges of a graph (`imkit_iid_overlap(a, b, pixels)`), sorted by (a, b)."""
edges(g::IIDGraph) = GC.@preserve g two_call(imkit_iid_overlap, (buf, cap, count) ->
    @ccall libimkit.imkit_iid_graph_edges(g::Ptr{Cvoid}, buf::Ptr{imkit_iid_overlap}, cap::Csize_t,
                                          count::Ref{Csize_t})::Int32)

"""
    IIDWriter()
    IIDWriter(f::IIDFile)

Builds a `.iid` file, empty or seeded with a copy of `f`. Not for two threads at once.
"""
mutable struct IIDWriter
    ptr::Ptr{Cvoid}
    function IIDWriter()
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(@ccall libimkit.imkit_iid_writer_new(out::Ref{Ptr{Cvoid}})::Int32)
        return finalizer(close, new(out[]))
    end
    function IIDWriter(f::IIDFile)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(@ccall libimkit.imkit_iid_writer_from_file(f::Ptr{Cvoid}, out::Ref{Ptr{Cvoid}})::Int32)
        return finalizer(close, new(out[]))
    end
end

function Base.close(w::IIDWriter)
    if w.ptr != C_NULL
        @ccall libimkit.imkit_iid_writer_free(w.ptr::Ptr{Cvoid})::Cvoid
        w.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, w::IIDWriter) = w.ptr == C_NULL ? throw(closed_error("IIDWriter")) : w.ptr

"""
    add!(w, address, domain, box, mask) -> key

Adds an entry. `mask` is a `(rows, columns)` `AbstractMatrix{Bool}` covering exactly
`box` (converted to imkit's row-major bytes), or a `Vector{UInt8}` already in imkit's
layout with `format` `IMKIT_IID_MASK_FORMAT_BYTES` or `IMKIT_IID_MASK_FORMAT_PACKED`.
"""
function add!(w::IIDWriter, address, domain, box::imkit_iid_bbox, mask::AbstractMatrix{Bool})
    return add!(w, address, domain, box, vec(UInt8.(permutedims(mask))), IMKIT_IID_MASK_FORMAT_BYTES)
end

function add!(w::IIDWriter, address, domain, box::imkit_iid_bbox, mask::Vector{UInt8}, format::Int32)
    a = Vector{UInt8}(address)
    d = Vector{UInt8}(domain)
    key = Ref{UInt32}(0)
    GC.@preserve a d mask begin
        check(@ccall libimkit.imkit_iid_writer_add(w::Ptr{Cvoid}, pointer(a)::Ptr{UInt8}, length(a)::Csize_t,
                                                   pointer(d)::Ptr{UInt8}, length(d)::Csize_t,
                                                   Ref(box)::Ref{imkit_iid_bbox}, pointer(mask)::Ptr{UInt8},
                                                   length(mask)::Csize_t, format::Int32, key::Ref{UInt32})::Int32)
    end
    return key[]
end

"""Adds entry `key` to group `name` (created if needed)."""
add_to_group!(w::IIDWriter, name::AbstractString, key::Integer) =
    check(@ccall libimkit.imkit_iid_writer_add_to_group(w::Ptr{Cvoid}, name::Cstring, UInt32(key)::UInt32)::Int32)

"""Sets the meta from JSON text."""
set_meta_json!(w::IIDWriter, json::AbstractString) =
    check(@ccall libimkit.imkit_iid_writer_set_meta_json(w::Ptr{Cvoid}, json::Cstring)::Int32)

"""Entries added so far."""
function Base.length(w::IIDWriter)
    n = Ref{Csize_t}(0)
    check(@ccall libimkit.imkit_iid_writer_count(w::Ptr{Cvoid}, n::Ref{Csize_t})::Int32)
    return Int(n[])
end

"""Writes the file atomically; the writer stays usable."""
save(w::IIDWriter, path::AbstractString) =
    check(@ccall libimkit.imkit_iid_writer_save(w::Ptr{Cvoid}, path::Cstring)::Int32)
