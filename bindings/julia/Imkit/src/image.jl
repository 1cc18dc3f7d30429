# Images, image files and write options.

const DTYPES = Dict{DataType,Int32}(
    UInt8 => IMKIT_DTYPE_U8, UInt16 => IMKIT_DTYPE_U16, Float16 => IMKIT_DTYPE_F16,
    Float32 => IMKIT_DTYPE_F32, Float64 => IMKIT_DTYPE_F64, Int8 => IMKIT_DTYPE_I8,
    Int16 => IMKIT_DTYPE_I16, UInt32 => IMKIT_DTYPE_U32, Int32 => IMKIT_DTYPE_I32,
    UInt64 => IMKIT_DTYPE_U64, Int64 => IMKIT_DTYPE_I64)

"""The `IMKIT_DTYPE_*` code of a Julia sample type."""
function dtype_of(::Type{T}) where {T}
    haskey(DTYPES, T) || throw(ImkitError(IMKIT_STATUS_INVALID_ARG, "no imkit dtype for $(T)"))
    return DTYPES[T]
end

"""The Julia sample type of an `IMKIT_DTYPE_*` code."""
function sample_type(code::Integer)
    for (T, c) in DTYPES
        c == code && return T
    end
    throw(ImkitError(IMKIT_STATUS_INVALID_ARG, "unknown dtype $(code)"))
end

# Pixels are (channels, width, height): a dense column-major array is imkit's packed
# row-major interleaved layout, so the view points at the array itself (no copy).
# The caller keeps `a` alive with GC.@preserve while the view is used.
function view_of(a::Array{T,3}) where {T}
    c, w, h = size(a)
    return imkit_image_view(pointer(a), UInt64(w), UInt64(h), Csize_t(0), UInt32(c), dtype_of(T))
end

# A Matrix is one channel: (width, height).
view_of(a::Matrix{T}) where {T} = view_of(reshape(a, 1, size(a)...))

"""
    WriteOptions(; png_compression=nothing)

Options for writing files (`nothing` keeps imkit's default, PNG compression 1 = fast).
`close` frees them early.
"""
mutable struct WriteOptions
    ptr::Ptr{Cvoid}
    function WriteOptions(; png_compression::Union{Nothing,Integer}=nothing)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(@ccall libimkit.imkit_write_options_new(out::Ref{Ptr{Cvoid}})::Int32)
        obj = finalizer(close, new(out[]))
        png_compression === nothing || set_png_compression!(obj, png_compression)
        return obj
    end
end

function Base.close(o::WriteOptions)
    if o.ptr != C_NULL
        @ccall libimkit.imkit_write_options_free(o.ptr::Ptr{Cvoid})::Cvoid
        o.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, o::WriteOptions) = o.ptr == C_NULL ? throw(closed_error("WriteOptions")) : o.ptr

# `nothing` means the defaults (a NULL pointer).
options_ptr(::Nothing) = C_NULL
options_ptr(o::WriteOptions) = Base.unsafe_convert(Ptr{Cvoid}, o)

"""Sets the PNG compression: 0 none, 1 fastest, 2-9 zlib levels."""
function set_png_compression!(o::WriteOptions, level::Integer)
    check(@ccall libimkit.imkit_write_options_set_png_compression(o::Ptr{Cvoid}, UInt32(level)::UInt32)::Int32)
    return o
end

"""
    Image

An image decoded by imkit; see `read_image` and `pixels`. `close` frees it early.
"""
mutable struct Image
    ptr::Ptr{Cvoid}
    Image(ptr::Ptr{Cvoid}) = finalizer(close, new(ptr))
end

function Base.close(img::Image)
    if img.ptr != C_NULL
        @ccall libimkit.imkit_image_free(img.ptr::Ptr{Cvoid})::Cvoid
        img.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, img::Image) = img.ptr == C_NULL ? throw(closed_error("Image")) : img.ptr

"""
    read_image(path) -> Image

Reads a whole image file (format detected from its content).
"""
function read_image(path::AbstractString)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(@ccall libimkit.imkit_image_read(path::Cstring, out::Ref{Ptr{Cvoid}})::Int32)
    return Image(out[])
end

"""
    pixels(img) -> Array{T,3}

A copy of the pixels as `(channels, width, height)`; `A[c, x, y]`.
"""
function pixels(img::Image)
    v = Ref{imkit_image_view}()
    check(@ccall libimkit.imkit_image_get_view(img::Ptr{Cvoid}, v::Ref{imkit_image_view})::Int32)
    iv = v[]
    T = sample_type(iv.dtype)
    c, w, h = Int(iv.channels), Int(iv.width), Int(iv.height)
    out = Array{T,3}(undef, c, w, h)
    row = c * w * sizeof(T)
    stride = iv.row_stride_bytes == 0 ? row : Int(iv.row_stride_bytes)
    GC.@preserve img out begin
        for y in 0:h-1
            unsafe_copyto!(Ptr{UInt8}(pointer(out)) + y * row, Ptr{UInt8}(iv.data) + y * stride, row)
        end
    end
    return out
end

"""
    image_info(path) -> NamedTuple

Width, height, channels, sample type and file format from a file's header.
"""
function image_info(path::AbstractString)
    info = Ref{imkit_image_info}()
    check(@ccall libimkit.imkit_image_info_read(path::Cstring, info::Ref{imkit_image_info})::Int32)
    i = info[]
    return (width=Int(i.width), height=Int(i.height), channels=Int(i.channels),
            eltype=sample_type(i.dtype), format=i.file_format)
end

"""
    write_image(path, A; options=nothing)

Writes `A` (`(channels, width, height)` array, or a `(width, height)` matrix for one
channel) atomically; the format comes from the extension.
"""
function write_image(path::AbstractString, a::Union{Array{T,3},Matrix{T}}; options::Union{Nothing,WriteOptions}=nothing) where {T}
    GC.@preserve a options begin
        v = Ref(view_of(a))
        check(@ccall libimkit.imkit_image_write(path::Cstring, v::Ref{imkit_image_view},
                                                options_ptr(options)::Ptr{Cvoid})::Int32)
    end
    return nothing
end
