# Library-wide functions: versions and the thread pool.

"""Library version as MAJOR*10000 + MINOR*100 + PATCH."""
version() = @ccall libimkit.imkit_version()::UInt32

"""Library version as text."""
version_string() = unsafe_string(@ccall libimkit.imkit_version_string()::Cstring)

"""The library's ABI version (checked against `IMKIT_ABI_VERSION` when the module loads)."""
abi_version() = @ccall libimkit.imkit_abi_version()::UInt32

"""
    set_num_threads(n)

Sets imkit's own worker-pool size (0 = one per core). Output never depends on it.
"""
function set_num_threads(n::Integer)
    n < 0 && throw(ImkitError(IMKIT_STATUS_INVALID_ARG, "threads: negative"))
    check(@ccall libimkit.imkit_set_num_threads(Csize_t(n)::Csize_t)::Int32)
end

"""The number of threads imkit's pool uses."""
function num_threads()
    n = Ref{Csize_t}(0)
    check(@ccall libimkit.imkit_get_num_threads(n::Ref{Csize_t})::Int32)
    return Int(n[])
end
