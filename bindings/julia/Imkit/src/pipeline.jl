# The tile pipeline: an image file streamed through a Julia function cell by cell into one
# blended output file, no file per tile.

"""
    PipelineOptions(; cell=nothing, step=nothing, edge=nothing, blend=nothing, scale=nothing,
                    output_format=nothing, grow=nothing, fill=nothing, output_overwritten=false)

`cell = (height, width)` and `step = (y, x)` in pixels (overlap = cell - step), `edge` an
`IMKIT_PARTITION_EDGE_*` constant, `blend` an `IMKIT_BLEND_*` constant, `scale` the factor
by which output tiles are larger, `output_format = (T, channels)` with `T` a Julia sample
type, `grow = (top, right, bottom, left)` canvas margins in input pixels, `fill` the value
outside the input. `output_overwritten=true` declares that the function writes every element
of `tile_out`, which then starts with unspecified contents instead of a copy of `tile_in`
(one pass saved). `close` frees them early.
"""
mutable struct PipelineOptions
    ptr::Ptr{Cvoid}
    function PipelineOptions(; cell=nothing, step=nothing, edge=nothing, blend=nothing, scale=nothing,
                             output_format=nothing, grow=nothing, fill=nothing, output_overwritten=false)
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(@ccall libimkit.imkit_pipeline_options_new(out::Ref{Ptr{Cvoid}})::Int32)
        o = finalizer(close, new(out[]))
        if cell !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_cell(o::Ptr{Cvoid}, UInt64(cell[1])::UInt64,
                                                                  UInt64(cell[2])::UInt64)::Int32)
        end
        if step !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_step(o::Ptr{Cvoid}, UInt64(step[1])::UInt64,
                                                                  UInt64(step[2])::UInt64)::Int32)
        end
        if edge !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_edge(o::Ptr{Cvoid}, Int32(edge)::Int32)::Int32)
        end
        if blend !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_blend(o::Ptr{Cvoid}, Int32(blend)::Int32)::Int32)
        end
        if scale !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_scale(o::Ptr{Cvoid}, UInt64(scale)::UInt64)::Int32)
        end
        if output_format !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_output_format(o::Ptr{Cvoid},
                      dtype_of(output_format[1])::Int32, UInt32(output_format[2])::UInt32)::Int32)
        end
        if grow !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_grow(o::Ptr{Cvoid}, UInt64(grow[1])::UInt64,
                      UInt64(grow[2])::UInt64, UInt64(grow[3])::UInt64, UInt64(grow[4])::UInt64)::Int32)
        end
        if fill !== nothing
            check(@ccall libimkit.imkit_pipeline_options_set_fill(o::Ptr{Cvoid}, Float64(fill)::Cdouble)::Int32)
        end
        if output_overwritten
            check(@ccall libimkit.imkit_pipeline_options_set_output_overwritten(o::Ptr{Cvoid}, true::Bool)::Int32)
        end
        return o
    end
end

function Base.close(o::PipelineOptions)
    if o.ptr != C_NULL
        @ccall libimkit.imkit_pipeline_options_free(o.ptr::Ptr{Cvoid})::Cvoid
        o.ptr = C_NULL
    end
    return nothing
end

Base.unsafe_convert(::Type{Ptr{Cvoid}}, o::PipelineOptions) =
    o.ptr == C_NULL ? throw(closed_error("PipelineOptions")) : o.ptr

# State shared with the tile trampoline during one map_tiles call.
mutable struct TileCall
    fn::Any
    error::Any
end

# imkit's packed tile buffer as a (channels, width, height) array: no copy, valid during
# the callback only.
function tile_array(v::imkit_image_view)
    T = sample_type(v.dtype)
    return unsafe_wrap(Array, Ptr{T}(v.data), (Int(v.channels), Int(v.width), Int(v.height)))
end

# The C tile function. imkit calls it on the thread that called map_tiles (the binding sets
# the calling-thread option), never on a foreign thread; a Julia error never unwinds into
# imkit: it is kept, stops the run, and is thrown again once the C call has returned.
function tile_trampoline(user_data::Ptr{Cvoid}, info::Ptr{imkit_tile_info}, input::Ptr{imkit_image_view},
                         output::Ptr{imkit_image_view})::Int32
    call = unsafe_pointer_to_objref(user_data)::TileCall
    try
        call.fn(unsafe_load(info), tile_array(unsafe_load(input)), tile_array(unsafe_load(output)))
        return Int32(0)
    catch e
        call.error = e
        return e isa ImkitError ? Int32(e.code) : IMKIT_STATUS_BAD_STATE
    end
end

"""
    map_tiles(fn, input, output; options=PipelineOptions(), progress=nothing) -> nothing

Streams the image file `input` through `fn(info, tile_in, tile_out)` cell by cell and writes
the blended result to `output` (format from its extension), in one top-to-bottom pass.
`tile_in` and `tile_out` are `(channels, width, height)` arrays over imkit's buffers, valid
during the call only; fill `tile_out` (it starts as a copy of `tile_in` at scale 1 with the
same type). `info` is an `imkit_tile_info` (0-based `row`, `col`, and the cell's `rect`,
`out_rect`, `input_rect`). `fn` runs on the calling thread, one cell at a time. An error
thrown by `fn` stops the run, leaves no output file and is rethrown.
`progress(done, total)` (cells) returns `true` to continue.
"""
function map_tiles(fn, input::AbstractString, output::AbstractString;
                   options::PipelineOptions=PipelineOptions(), progress=nothing)
    check(@ccall libimkit.imkit_pipeline_options_set_calling_thread(options::Ptr{Cvoid}, true::Bool)::Int32)
    call = TileCall(fn, nothing)
    cb = @cfunction(tile_trampoline, Int32,
                    (Ptr{Cvoid}, Ptr{imkit_tile_info}, Ptr{imkit_image_view}, Ptr{imkit_image_view}))
    failed = Ref{imkit_tile_info}()
    GC.@preserve options call begin
        err = nothing
        try
            with_progress(progress) do pcb, pud
                @ccall libimkit.imkit_map_tiles(input::Cstring, output::Cstring, options::Ptr{Cvoid},
                                                cb::Ptr{Cvoid}, pointer_from_objref(call)::Ptr{Cvoid},
                                                pcb::Ptr{Cvoid}, pud::Ptr{Cvoid},
                                                failed::Ref{imkit_tile_info})::Int32
            end
        catch e
            err = e
        end
        call.error === nothing || throw(call.error)
        err === nothing || throw(err)
    end
    return nothing
end
