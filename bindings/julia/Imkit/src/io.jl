# Save/load with metadata, lists and directories, and the background save queue.
# Metadata is JSON text (a JSON object; "" for none). Arrays are saved and loaded in C order:
# a Julia array of size (a, b, c) is written with shape (c, b, a), see `save_array`.

"""Sets the EXR compression (an `IMKIT_EXR_COMPRESSION_*` constant; all lossless)."""
function set_exr_compression!(o::WriteOptions, compression::Integer)
    check(@ccall libimkit.imkit_write_options_set_exr_compression(o::Ptr{Cvoid}, Int32(compression)::Int32)::Int32)
    return o
end

# Copies an Owned string imkit returned and frees it.
function take_string(p::Ptr{UInt8})
    p == C_NULL && return ""
    s = unsafe_string(p)
    @ccall libimkit.imkit_string_free(p::Ptr{UInt8})::Cvoid
    return s
end

# NULL for "no metadata".
opt_text(s::AbstractString) = isempty(s) ? Ptr{UInt8}(C_NULL) : pointer(s)

"""
    SaveOptions(; write=nothing, python_tokens=false, overwrite=false)

How files are saved. `close` frees them early.
"""
mutable struct SaveOptions
    ptr::Ptr{Cvoid}
    function SaveOptions(; write::Union{Nothing,WriteOptions}=nothing, python_tokens::Bool=false,
                         overwrite::Bool=false)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(@ccall libimkit.imkit_save_options_new(out::Ref{Ptr{Cvoid}})::Int32)
        o = finalizer(close, new(out[]))
        if write !== nothing
            check(@ccall libimkit.imkit_save_options_set_write_options(o::Ptr{Cvoid}, write::Ptr{Cvoid})::Int32)
        end
        check(@ccall libimkit.imkit_save_options_set_python_tokens(o::Ptr{Cvoid}, python_tokens::Bool)::Int32)
        check(@ccall libimkit.imkit_save_options_set_overwrite(o::Ptr{Cvoid}, overwrite::Bool)::Int32)
        return o
    end
end

function Base.close(o::SaveOptions)
    if o.ptr != C_NULL
        @ccall libimkit.imkit_save_options_free(o.ptr::Ptr{Cvoid})::Cvoid
        o.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, o::SaveOptions) = o.ptr == C_NULL ? throw(closed_error("SaveOptions")) : o.ptr

options_ptr(o::SaveOptions) = Base.unsafe_convert(Ptr{Cvoid}, o)

"""
    save_image(path, A; metadata="", options=nothing) -> String

Saves `A` (`(channels, width, height)`, or a `(width, height)` matrix) and its metadata;
without a known extension the format is chosen from the data and appended. Returns the
image path written.
"""
function save_image(path::AbstractString, a::Union{Array{T,3},Matrix{T}}; metadata::AbstractString="",
                    options::Union{Nothing,SaveOptions}=nothing) where {T}
    written = Ref{Ptr{UInt8}}(C_NULL)
    meta = String(metadata)
    GC.@preserve a meta options begin
        v = Ref(view_of(a))
        check(@ccall libimkit.imkit_save(path::Cstring, v::Ref{imkit_image_view}, opt_text(meta)::Ptr{UInt8},
                                         options_ptr(options)::Ptr{Cvoid}, written::Ref{Ptr{UInt8}})::Int32)
    end
    return take_string(written[])
end

"""
    save_array(path, A; metadata="", options=nothing) -> String

Saves an N-dimensional array. imkit arrays are C order, so the shape written is
`reverse(size(A))` with no copy (a 2x3 Julia matrix becomes a (3, 2) array on disk, which
numpy reads as the transpose); `permutedims` first to keep numpy's view of the axes.
"""
function save_array(path::AbstractString, a::Array{T}; metadata::AbstractString="",
                    options::Union{Nothing,SaveOptions}=nothing) where {T}
    shape = Csize_t[reverse(size(a))...]
    written = Ref{Ptr{UInt8}}(C_NULL)
    meta = String(metadata)
    GC.@preserve a shape meta options begin
        check(@ccall libimkit.imkit_save_array(path::Cstring, pointer(a)::Ptr{Cvoid}, sizeof(a)::Csize_t,
                                               dtype_of(T)::Int32, pointer(shape)::Ptr{Csize_t}, length(shape)::Csize_t,
                                               opt_text(meta)::Ptr{UInt8}, options_ptr(options)::Ptr{Cvoid},
                                               written::Ref{Ptr{UInt8}})::Int32)
    end
    return take_string(written[])
end

"""
    load(path) -> (Image, metadata_json)

Loads a file (format from its content) and its metadata (`"{}"` when none). Use `pixels`
for images, `array_shape` and `array_data` for any array.
"""
function load(path::AbstractString)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    meta = Ref{Ptr{UInt8}}(C_NULL)
    check(@ccall libimkit.imkit_load(path::Cstring, out::Ref{Ptr{Cvoid}}, meta::Ref{Ptr{UInt8}})::Int32)
    img = Image(out[])
    return (img, take_string(meta[]))
end

# Shape (C order, outermost first) of a C image pointer.
function shape_of(p::Ptr{Cvoid})
    return Int.(two_call(Csize_t, (buf, cap, count) ->
        @ccall libimkit.imkit_image_get_shape(p::Ptr{Cvoid}, buf::Ptr{Csize_t}, cap::Csize_t, count::Ref{Csize_t})::Int32))
end

# Samples of a C image pointer as a Julia array of size reverse(shape) (a copy).
function data_of(p::Ptr{Cvoid})
    data = Ref{Ptr{Cvoid}}(C_NULL)
    len = Ref{Csize_t}(0)
    dtype = Ref{Int32}(0)
    check(@ccall libimkit.imkit_image_get_data(p::Ptr{Cvoid}, data::Ref{Ptr{Cvoid}}, len::Ref{Csize_t},
                                               dtype::Ref{Int32})::Int32)
    T = sample_type(dtype[])
    dims = Tuple(reverse(shape_of(p)))
    out = Array{T}(undef, dims)
    sizeof(out) == len[] || throw(ImkitError(IMKIT_STATUS_INTERNAL, "array holds $(len[]) bytes, shape says $(sizeof(out))"))
    GC.@preserve out unsafe_copyto!(Ptr{UInt8}(pointer(out)), Ptr{UInt8}(data[]), len[])
    return out
end

"""The loaded array's shape in imkit's C order (`(h, w)` or `(h, w, c)` for images)."""
array_shape(img::Image) = GC.@preserve img shape_of(Base.unsafe_convert(Ptr{Cvoid}, img))

"""The loaded samples as a Julia array of size `reverse(array_shape(img))` (a copy)."""
array_data(img::Image) = GC.@preserve img data_of(Base.unsafe_convert(Ptr{Cvoid}, img))

"""Writes only the metadata sidecar of the image `path`."""
function metadata_save(path::AbstractString, metadata::AbstractString; options::Union{Nothing,SaveOptions}=nothing)
    GC.@preserve options begin
        check(@ccall libimkit.imkit_metadata_save(path::Cstring, metadata::Cstring,
                                                  options_ptr(options)::Ptr{Cvoid})::Int32)
    end
end

"""Reads only the metadata of the image `path` (`"{}"` when none)."""
function metadata_load(path::AbstractString)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(@ccall libimkit.imkit_metadata_load(path::Cstring, out::Ref{Ptr{UInt8}})::Int32)
    return take_string(out[])
end

"""
    save_list(paths, arrays; metadata=String[], options=nothing)

Saves each array to its path, in parallel; `metadata` holds 0, 1 (shared) or one text per array.
"""
function save_list(paths::AbstractVector{<:AbstractString}, arrays::AbstractVector; metadata=String[],
                   options::Union{Nothing,SaveOptions}=nothing)
    length(paths) == length(arrays) ||
        throw(ImkitError(IMKIT_STATUS_INVALID_ARG, "save_list: $(length(paths)) paths for $(length(arrays)) images"))
    p = String.(paths)
    m = String.(metadata)
    GC.@preserve p m arrays options begin
        views = imkit_image_view[view_of(a) for a in arrays]
        cp, cm = cstrings(p), cstrings(m)
        GC.@preserve views cp cm begin
            check(@ccall libimkit.imkit_save_list(pointer(cp)::Ptr{Cstring}, pointer(views)::Ptr{imkit_image_view},
                                                  length(views)::Csize_t, pointer(cm)::Ptr{Cstring}, length(cm)::Csize_t,
                                                  options_ptr(options)::Ptr{Cvoid})::Int32)
        end
    end
end

"""
    save_dir(dir, arrays; metadata=String[], options=nothing)

Saves the arrays into `dir` as `0.<ext>`, `1.<ext>`, ... with sidecars.
"""
function save_dir(dir::AbstractString, arrays::AbstractVector; metadata=String[],
                  options::Union{Nothing,SaveOptions}=nothing)
    m = String.(metadata)
    GC.@preserve m arrays options begin
        views = imkit_image_view[view_of(a) for a in arrays]
        cm = cstrings(m)
        GC.@preserve views cm begin
            check(@ccall libimkit.imkit_save_dir(dir::Cstring, pointer(views)::Ptr{imkit_image_view}, length(views)::Csize_t,
                                                 pointer(cm)::Ptr{Cstring}, length(cm)::Csize_t,
                                                 options_ptr(options)::Ptr{Cvoid})::Int32)
        end
    end
end

"""
    ImageList

Images loaded together (`load_list`, `load_dir`): `length(l)` and `l[i]` (1-based), which
gives `(data, metadata, path)` with `data` as `array_data` returns it.
"""
mutable struct ImageList
    ptr::Ptr{Cvoid}
    ImageList(ptr::Ptr{Cvoid}) = finalizer(close, new(ptr))
end

function Base.close(l::ImageList)
    if l.ptr != C_NULL
        @ccall libimkit.imkit_image_list_free(l.ptr::Ptr{Cvoid})::Cvoid
        l.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, l::ImageList) = l.ptr == C_NULL ? throw(closed_error("ImageList")) : l.ptr

"""Loads files in parallel."""
function load_list(paths::AbstractVector{<:AbstractString})
    p = String.(paths)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    GC.@preserve p begin
        cp = cstrings(p)
        GC.@preserve cp begin
            check(@ccall libimkit.imkit_load_list(pointer(cp)::Ptr{Cstring}, length(cp)::Csize_t,
                                                  out::Ref{Ptr{Cvoid}})::Int32)
        end
    end
    return ImageList(out[])
end

"""Loads every image file of `dir` in natural name order."""
function load_dir(dir::AbstractString)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(@ccall libimkit.imkit_load_dir(dir::Cstring, out::Ref{Ptr{Cvoid}})::Int32)
    return ImageList(out[])
end

function Base.length(l::ImageList)
    n = Ref{Csize_t}(0)
    check(@ccall libimkit.imkit_image_list_len(l::Ptr{Cvoid}, n::Ref{Csize_t})::Int32)
    return Int(n[])
end

function Base.getindex(l::ImageList, i::Integer)
    img = Ref{Ptr{Cvoid}}(C_NULL)
    meta = Ref{Ptr{UInt8}}(C_NULL)
    path = Ref{Ptr{UInt8}}(C_NULL)
    entry = GC.@preserve l begin
        check(@ccall libimkit.imkit_image_list_get(l::Ptr{Cvoid}, Csize_t(i - 1)::Csize_t, img::Ref{Ptr{Cvoid}},
                                                   meta::Ref{Ptr{UInt8}}, path::Ref{Ptr{UInt8}})::Int32)
        (data_of(img[]), unsafe_string(meta[]), unsafe_string(path[]))
    end
    return entry
end

"""
    SaveQueueOptions(; threads=2, max_pending_bytes=512MiB, max_pending_jobs=64, save=nothing)

Settings of a save queue.
"""
mutable struct SaveQueueOptions
    ptr::Ptr{Cvoid}
    function SaveQueueOptions(; threads::Union{Nothing,Integer}=nothing, max_pending_bytes::Union{Nothing,Integer}=nothing,
                              max_pending_jobs::Union{Nothing,Integer}=nothing, save::Union{Nothing,SaveOptions}=nothing)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(@ccall libimkit.imkit_save_queue_options_new(out::Ref{Ptr{Cvoid}})::Int32)
        o = finalizer(close, new(out[]))
        threads === nothing ||
            check(@ccall libimkit.imkit_save_queue_options_set_threads(o::Ptr{Cvoid}, Csize_t(threads)::Csize_t)::Int32)
        max_pending_bytes === nothing ||
            check(@ccall libimkit.imkit_save_queue_options_set_max_pending_bytes(o::Ptr{Cvoid},
                                                                                 Csize_t(max_pending_bytes)::Csize_t)::Int32)
        max_pending_jobs === nothing ||
            check(@ccall libimkit.imkit_save_queue_options_set_max_pending_jobs(o::Ptr{Cvoid},
                                                                                Csize_t(max_pending_jobs)::Csize_t)::Int32)
        save === nothing ||
            check(@ccall libimkit.imkit_save_queue_options_set_save_options(o::Ptr{Cvoid}, save::Ptr{Cvoid})::Int32)
        return o
    end
end

function Base.close(o::SaveQueueOptions)
    if o.ptr != C_NULL
        @ccall libimkit.imkit_save_queue_options_free(o.ptr::Ptr{Cvoid})::Cvoid
        o.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, o::SaveQueueOptions) =
    o.ptr == C_NULL ? throw(closed_error("SaveQueueOptions")) : o.ptr

options_ptr(o::SaveQueueOptions) = Base.unsafe_convert(Ptr{Cvoid}, o)

"""
    SaveQueue(options=nothing)
    SaveQueue(f, options=nothing)

Background saves. Call `close(q)` to flush and learn about failures (it throws the first
one not yet reported); the do-block form closes it for you. The finalizer still writes every
job of a forgotten queue but cannot report errors. Julia code is never called from the
queue's worker threads: completion is polled with `flush` and `next_error`.
"""
mutable struct SaveQueue
    ptr::Ptr{Cvoid}
    function SaveQueue(options::Union{Nothing,SaveQueueOptions}=nothing)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        GC.@preserve options begin
            check(@ccall libimkit.imkit_save_queue_new(options_ptr(options)::Ptr{Cvoid}, out::Ref{Ptr{Cvoid}})::Int32)
        end
        return finalizer(q -> (@ccall libimkit.imkit_save_queue_free(q.ptr::Ptr{Cvoid})::Cvoid), new(out[]))
    end
end

function SaveQueue(f::Function, options::Union{Nothing,SaveQueueOptions}=nothing)
    q = SaveQueue(options)
    try
        f(q)
    finally
        close(q)
    end
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, q::SaveQueue) = q.ptr == C_NULL ? throw(closed_error("SaveQueue")) : q.ptr

"""Flushes, stops the workers and frees the queue; throws the first failure not yet reported."""
function Base.close(q::SaveQueue)
    q.ptr == C_NULL && return nothing
    p = q.ptr
    q.ptr = C_NULL
    check(@ccall libimkit.imkit_save_queue_close(p::Ptr{Cvoid})::Int32)
end

function queue_push(q::SaveQueue, try_only::Bool, path::AbstractString, a, metadata::AbstractString)
    job = Ref{UInt64}(0)
    meta = String(metadata)
    status = GC.@preserve q a meta begin
        v = Ref(view_of(a))
        if try_only
            @ccall libimkit.imkit_save_queue_try_push(q::Ptr{Cvoid}, path::Cstring, v::Ref{imkit_image_view},
                                                      opt_text(meta)::Ptr{UInt8}, job::Ref{UInt64})::Int32
        else
            @ccall libimkit.imkit_save_queue_push(q::Ptr{Cvoid}, path::Cstring, v::Ref{imkit_image_view},
                                                  opt_text(meta)::Ptr{UInt8}, job::Ref{UInt64})::Int32
        end
    end
    try_only && status == IMKIT_STATUS_WOULD_BLOCK && return nothing
    check(status)
    return job[]
end

"""
    push!(q, path, A; metadata="") -> job id

Queues a save of a copy of `A` (reuse `A` at once); blocks while the queue is full.
"""
Base.push!(q::SaveQueue, path::AbstractString, a::Array; metadata::AbstractString="") =
    queue_push(q, false, path, a, metadata)

"""As `push!`, but returns `nothing` instead of waiting when the queue is full."""
try_push!(q::SaveQueue, path::AbstractString, a::Array; metadata::AbstractString="") =
    queue_push(q, true, path, a, metadata)

"""Waits for every queued job; throws the first failure since the previous flush."""
Base.flush(q::SaveQueue) = check(@ccall libimkit.imkit_save_queue_flush(q::Ptr{Cvoid})::Int32)

"""
    next_error(q) -> (job_id, message) or nothing

The oldest failed job not yet read.
"""
function next_error(q::SaveQueue)
    job = Ref{UInt64}(0)
    msg = GC.@preserve q text_query((buf, len, needed) ->
        @ccall libimkit.imkit_save_queue_next_error(q::Ptr{Cvoid}, job::Ref{UInt64}, buf::Ptr{UInt8}, len::Csize_t,
                                                    needed::Ref{Csize_t})::Int32)
    return job[] == 0 ? nothing : (job[], msg)
end
