package imkit

// The progress trampoline. This file holds the //export, so its preamble may only declare.

// #include <stdint.h>
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// Progress is called with units done and total; returning false cancels the operation,
// which then fails with StatusCancelled. It runs on the calling goroutine's thread, during
// the call. A panic inside it cancels the operation and is re-raised in the caller once
// the C call has returned.
type Progress func(done, total uint64) bool

// progressCall is the state one call shares with the trampoline through a cgo.Handle.
type progressCall struct {
	fn       Progress
	panicked any
	didPanic bool
}

//export imkitGoProgress
func imkitGoProgress(userData unsafe.Pointer, done, total C.uint64_t) (cancel C.int32_t) {
	call := cgo.Handle(uintptr(userData)).Value().(*progressCall)
	defer func() {
		if r := recover(); r != nil {
			call.panicked, call.didPanic = r, true
			cancel = 1
		}
	}()
	if call.fn(uint64(done), uint64(total)) {
		return 0
	}
	return 1
}

// withProgress runs f with a handle for p (0 when p is nil) and re-raises a panic of p.
func withProgress(p Progress, f func(handle C.uintptr_t) error) error {
	if p == nil {
		return f(0)
	}
	call := &progressCall{fn: p}
	h := cgo.NewHandle(call)
	defer h.Delete()
	err := f(C.uintptr_t(h))
	if call.didPanic {
		panic(call.panicked)
	}
	return err
}
