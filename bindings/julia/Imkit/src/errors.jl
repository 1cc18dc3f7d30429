# Errors: every failed call throws ImkitError with the status and imkit's message.

"""
    ImkitError(code, msg)

A failed imkit call: `code` is the `imkit_status` (an `IMKIT_STATUS_*` constant), `msg`
imkit's explanation, read right after the failing call on the same thread.
"""
struct ImkitError <: Exception
    code::Int32
    msg::String
end

function Base.showerror(io::IO, e::ImkitError)
    print(io, "ImkitError: ", status_str(e.code), ": ", e.msg)
end

"""
    status_str(code) -> String

The macro name and description of a status code.
"""
status_str(code::Integer) = unsafe_string(@ccall libimkit.imkit_status_str(Int32(code)::Int32)::Cstring)

"""
    last_error_message() -> String

The message of the last failed imkit call on this thread.
"""
function last_error_message()
    # The two-call copy form: never changes the message, so the size query is safe.
    n = Ref{Csize_t}(0)
    @ccall libimkit.imkit_last_error_copy(C_NULL::Ptr{UInt8}, 0::Csize_t, n::Ref{Csize_t})::Int32
    n[] == 0 && return ""
    buf = Vector{UInt8}(undef, n[])
    status = GC.@preserve buf @ccall libimkit.imkit_last_error_copy(pointer(buf)::Ptr{UInt8}, length(buf)::Csize_t,
                                                                  n::Ref{Csize_t})::Int32
    return status == IMKIT_STATUS_OK ? String(buf[1:n[]-1]) : ""
end

# Throws for a failed status. Called right after the ccall: no yield point in between, so
# the task is still on the thread whose last-error message belongs to the failure.
function check(status::Int32)
    status == IMKIT_STATUS_OK && return nothing
    throw(ImkitError(status, last_error_message()))
end

closed_error(kind) = ImkitError(IMKIT_STATUS_NULL_ARG, "$(kind) is closed")

# Runs a two-call query f(buf, cap, count_ref) -> status and returns the results.
function two_call(::Type{T}, f) where {T}
    buf = Vector{T}(undef, 0)
    while true
        n = Ref{Csize_t}(0)
        status = GC.@preserve buf f(pointer(buf), Csize_t(length(buf)), n)
        if status == IMKIT_STATUS_BUFFER_TOO_SMALL && n[] > length(buf)
            buf = Vector{T}(undef, n[])
            continue
        end
        check(status)
        return resize!(buf, n[])
    end
end

# Runs a text query f(buf, len, needed_ref) -> status (NUL-terminated size protocol).
function text_query(f)
    buf = Vector{UInt8}(undef, 0)
    while true
        n = Ref{Csize_t}(0)
        status = GC.@preserve buf f(pointer(buf), Csize_t(length(buf)), n)
        if status == IMKIT_STATUS_BUFFER_TOO_SMALL && n[] > length(buf)
            buf = Vector{UInt8}(undef, n[])
            continue
        end
        check(status)
        return n[] == 0 ? "" : String(buf[1:n[]-1])
    end
end
