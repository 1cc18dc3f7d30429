// Package imkit is the Go binding of imkit, tile-based processing of images of any size,
// over its C ABI (include/imkit.h).
//
// Handles (Image, WriteOptions, IIDFile, IIDGraph, IIDWriter, ...) wrap a C pointer. Call
// Close when done: it is idempotent, and a finalizer frees forgotten handles as a safety
// net. A handle must not be closed while another goroutine uses it.
//
// Every failure is an *Error carrying the status Code and imkit's Message, read in the same
// C call as the failure. errors.Is(err, imkit.StatusIO) tests the code.
//
// Pixel buffers are passed to C without copies; imkit never keeps them past a call.
//
// The package links target/release/libimkit.a statically by default (run `cargo build
// --release` first); `-tags imkit_system` links an installed imkit through pkg-config.
package imkit

// #include "shim.h"
//
// IMKIT_GO_SHIM(imkit_set_num_threads, (size_t threads), (threads))
// IMKIT_GO_SHIM(imkit_get_num_threads, (size_t *out), (out))
import "C"

import (
	"fmt"
	"unsafe"
)

// ABIVersion is the ABI this binding was written for (IMKIT_ABI_VERSION in imkit.h).
const ABIVersion = 2

// Status is an imkit status code (imkit_status). Values are plain integers so that codes
// added by newer libraries still print and compare.
type Status int32

// Status codes (IMKIT_STATUS_*).
const (
	StatusOK             Status = C.IMKIT_STATUS_OK
	StatusInvalidArg     Status = C.IMKIT_STATUS_INVALID_ARG
	StatusNullArg        Status = C.IMKIT_STATUS_NULL_ARG
	StatusInvalidHandle  Status = C.IMKIT_STATUS_INVALID_HANDLE
	StatusOutOfBounds    Status = C.IMKIT_STATUS_OUT_OF_BOUNDS
	StatusBufferTooSmall Status = C.IMKIT_STATUS_BUFFER_TOO_SMALL
	StatusMismatch       Status = C.IMKIT_STATUS_MISMATCH
	StatusIO             Status = C.IMKIT_STATUS_IO
	StatusFormat         Status = C.IMKIT_STATUS_FORMAT
	StatusUnsupported    Status = C.IMKIT_STATUS_UNSUPPORTED
	StatusTooLarge       Status = C.IMKIT_STATUS_TOO_LARGE
	StatusBadState       Status = C.IMKIT_STATUS_BAD_STATE
	StatusWouldBlock     Status = C.IMKIT_STATUS_WOULD_BLOCK
	StatusCancelled      Status = C.IMKIT_STATUS_CANCELLED
	StatusNoMemory       Status = C.IMKIT_STATUS_NO_MEMORY
	StatusInternal       Status = C.IMKIT_STATUS_INTERNAL
	StatusPanic          Status = C.IMKIT_STATUS_PANIC
)

// String gives the status's macro name and description (imkit_status_str).
func (s Status) String() string { return C.GoString(C.imkit_status_str(C.int32_t(s))) }

// Error makes a Status usable as an errors.Is target.
func (s Status) Error() string { return s.String() }

// Error is a failed imkit call.
type Error struct {
	// Code is the status the call returned.
	Code Status
	// Message is imkit's explanation of this failure.
	Message string
}

// Error gives the status name and the message.
func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// Is reports whether target is the same Status, or an *Error with the same Code.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Status:
		return e.Code == t
	case *Error:
		return e.Code == t.Code
	}
	return false
}

// check turns a status and the message captured by a shim into an error (nil on success)
// and frees the message.
func check(status C.imkit_status, msg *C.char) error {
	if msg != nil {
		defer C.free(unsafe.Pointer(msg))
	}
	if status == C.IMKIT_STATUS_OK {
		return nil
	}
	return &Error{Code: Status(status), Message: C.GoString(msg)}
}

// errClosed is returned by methods of a closed handle.
func errClosed(kind string) error {
	return &Error{Code: StatusNullArg, Message: kind + " is closed"}
}

// checkABI fails when the library implements another ABI than this binding.
func checkABI(library uint32) error {
	if library != ABIVersion {
		return &Error{Code: StatusUnsupported, Message: fmt.Sprintf(
			"libimkit implements ABI version %d but the Go binding was built for ABI version %d; "+
				"rebuild the binding against the library's imkit.h or link the matching library",
			library, ABIVersion)}
	}
	return nil
}

func init() {
	if err := checkABI(uint32(C.imkit_abi_version())); err != nil {
		panic(err)
	}
}

// Version is the library version as MAJOR*10000 + MINOR*100 + PATCH.
func Version() uint32 { return uint32(C.imkit_version()) }

// VersionString is the library version as text.
func VersionString() string { return C.GoString(C.imkit_version_string()) }

// LibraryABIVersion is the ABI the linked library implements (checked at init).
func LibraryABIVersion() uint32 { return uint32(C.imkit_abi_version()) }

// SetNumThreads sets the size of imkit's worker pool (0 = one per core). Output never
// depends on it.
func SetNumThreads(n int) error {
	if n < 0 {
		return &Error{Code: StatusInvalidArg, Message: "threads: negative"}
	}
	var msg *C.char
	return check(C.go_imkit_set_num_threads(&msg, C.size_t(n)), msg)
}

// NumThreads is the number of threads imkit's pool uses.
func NumThreads() (int, error) {
	var msg *C.char
	var n C.size_t
	if err := check(C.go_imkit_get_num_threads(&msg, &n), msg); err != nil {
		return 0, err
	}
	return int(n), nil
}

// cStrings is a C array of C strings (NULL when empty) and the function freeing them.
func cStrings(list []string) (**C.char, func()) {
	if len(list) == 0 {
		return nil, func() {}
	}
	size := C.size_t(len(list)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))
	arr := (*[1 << 28]*C.char)(C.malloc(size))[:len(list):len(list)]
	for i, s := range list {
		arr[i] = C.CString(s)
	}
	return &arr[0], func() {
		for _, p := range arr {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(&arr[0]))
	}
}
