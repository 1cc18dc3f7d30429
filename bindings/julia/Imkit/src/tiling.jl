# Tiles: placement, extract and paste for arrays and files, with progress callbacks.

"""
    tile_spec(; x=0, y=0, width=1024, height=1024, corner=IMKIT_CORNER_TL,
              edge=IMKIT_TILE_EDGE_ERROR, fill=0.0) -> imkit_tile_spec

Where a tile goes. Coordinates are imkit's: 0-based, `x` a column and `y` a row.
"""
function tile_spec(; kwargs...)
    s = Ref{imkit_tile_spec}()
    check(@ccall libimkit.imkit_tile_spec_default(s::Ref{imkit_tile_spec})::Int32)
    d = s[]
    get_field(name) = get(kwargs, name, getfield(d, name))
    return imkit_tile_spec(get_field(:x), get_field(:y), get_field(:width), get_field(:height),
                           get_field(:fill), get_field(:corner), get_field(:edge))
end

"""
    place_tile(spec, image_width, image_height) -> (width, height, rect)

The tile's size and the part of the image it covers (the size query before extracting).
"""
function place_tile(spec::imkit_tile_spec, image_width::Integer, image_height::Integer)
    w = Ref{UInt64}(0)
    h = Ref{UInt64}(0)
    r = Ref{imkit_rect}()
    check(@ccall libimkit.imkit_tile_place(Ref(spec)::Ref{imkit_tile_spec}, UInt64(image_width)::UInt64,
                                           UInt64(image_height)::UInt64, w::Ref{UInt64}, h::Ref{UInt64},
                                           r::Ref{imkit_rect})::Int32)
    return (Int(w[]), Int(h[]), r[])
end

"""
    extract_tile(A, spec) -> Array{T,3}

A tile of `A` (`(channels, width, height)`) as a new array.
"""
function extract_tile(a::Array{T,3}, spec::imkit_tile_spec) where {T}
    w, h, _ = place_tile(spec, size(a, 2), size(a, 3))
    out = Array{T,3}(undef, size(a, 1), w, h)
    GC.@preserve a out begin
        src = Ref(view_of(a))
        dst = Ref(view_of(out))
        r = Ref{imkit_rect}()
        check(@ccall libimkit.imkit_extract_tile(src::Ref{imkit_image_view}, Ref(spec)::Ref{imkit_tile_spec},
                                                 dst::Ref{imkit_image_view}, r::Ref{imkit_rect})::Int32)
    end
    return out
end

"""
    paste_tile!(base, tile, spec) -> imkit_rect

Pastes `tile` into `base` in place (same element type and channels; never converted).
"""
function paste_tile!(base::Array{T,3}, tile::Array{T,3}, spec::imkit_tile_spec) where {T}
    r = Ref{imkit_rect}()
    GC.@preserve base tile begin
        b = Ref(view_of(base))
        t = Ref(view_of(tile))
        check(@ccall libimkit.imkit_paste_tile(b::Ref{imkit_image_view}, t::Ref{imkit_image_view},
                                               Ref(spec)::Ref{imkit_tile_spec}, r::Ref{imkit_rect})::Int32)
    end
    return r[]
end

# State shared with the progress trampoline during one call.
mutable struct ProgressCall
    fn::Any
    error::Any
end

# The C callback. Runs on the calling thread (imkit calls it synchronously); never lets a
# Julia error unwind into imkit: it is kept and thrown again once the C call has returned.
function progress_trampoline(user_data::Ptr{Cvoid}, done::UInt64, total::UInt64)::Int32
    call = unsafe_pointer_to_objref(user_data)::ProgressCall
    try
        return call.fn(done, total) ? Int32(0) : Int32(1)
    catch e
        call.error = e
        return Int32(1)
    end
end

# Runs f(callback_ptr, user_data_ptr) -> status with `progress` wired in (or NULLs).
function with_progress(f, progress)
    if progress === nothing
        return check(f(C_NULL, C_NULL))
    end
    call = ProgressCall(progress, nothing)
    cb = @cfunction(progress_trampoline, Int32, (Ptr{Cvoid}, UInt64, UInt64))
    status = GC.@preserve call f(cb, pointer_from_objref(call))
    call.error === nothing || throw(call.error)
    check(status)
end

"""
    extract_tile_file(input, output, spec; options=nothing, progress=nothing) -> imkit_rect

Extracts a tile of the file `input` into the new file `output` (written atomically).
`progress(done, total)` returns `true` to continue, `false` to cancel.
"""
function extract_tile_file(input::AbstractString, output::AbstractString, spec::imkit_tile_spec;
                           options::Union{Nothing,WriteOptions}=nothing, progress=nothing)
    r = Ref{imkit_rect}()
    GC.@preserve options begin
        with_progress(progress) do cb, ud
            @ccall libimkit.imkit_extract_tile_file(input::Cstring, output::Cstring, Ref(spec)::Ref{imkit_tile_spec},
                                                    options_ptr(options)::Ptr{Cvoid}, cb::Ptr{Cvoid}, ud::Ptr{Cvoid},
                                                    r::Ref{imkit_rect})::Int32
        end
    end
    return r[]
end

"""
    paste_tile_file(base, tile, output, spec; options=nothing, progress=nothing) -> imkit_rect

Pastes the file `tile` into the file `base`, writing `output` (may equal `base`).
"""
function paste_tile_file(base::AbstractString, tile::AbstractString, output::AbstractString, spec::imkit_tile_spec;
                         options::Union{Nothing,WriteOptions}=nothing, progress=nothing)
    r = Ref{imkit_rect}()
    GC.@preserve options begin
        with_progress(progress) do cb, ud
            @ccall libimkit.imkit_paste_tile_file(base::Cstring, tile::Cstring, output::Cstring,
                                                  Ref(spec)::Ref{imkit_tile_spec}, options_ptr(options)::Ptr{Cvoid},
                                                  cb::Ptr{Cvoid}, ud::Ptr{Cvoid}, r::Ref{imkit_rect})::Int32
        end
    end
    return r[]
end
