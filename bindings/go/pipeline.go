package imkit

// The tile pipeline: an image streamed through a Go func cell by cell into one blended file.

// #include "shim.h"
//
// extern int32_t imkitGoProgress(void *user_data, uint64_t done, uint64_t total);
// extern int32_t imkitGoTile(void *user_data, const imkit_tile_info *info, const imkit_image_view *in,
//                            const imkit_image_view *out);
//
// IMKIT_GO_SHIM(imkit_pipeline_options_new, (imkit_pipeline_options **out), (out))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_cell, (imkit_pipeline_options *o, uint64_t h, uint64_t w), (o, h, w))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_step, (imkit_pipeline_options *o, uint64_t y, uint64_t x), (o, y, x))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_edge, (imkit_pipeline_options *o, int32_t e), (o, e))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_blend, (imkit_pipeline_options *o, int32_t b), (o, b))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_scale, (imkit_pipeline_options *o, uint64_t k), (o, k))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_output_format, (imkit_pipeline_options *o, int32_t t, uint32_t c), (o, t, c))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_grow, (imkit_pipeline_options *o, uint64_t t, uint64_t r, uint64_t b,
//               uint64_t l), (o, t, r, b, l))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_fill, (imkit_pipeline_options *o, double f), (o, f))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_thread_safe, (imkit_pipeline_options *o, bool s), (o, s))
// IMKIT_GO_SHIM(imkit_pipeline_options_set_output_overwritten, (imkit_pipeline_options *o, bool w), (o, w))
//
// static inline imkit_status go_map_tiles(char **err, const char *in, const char *out,
//         const imkit_pipeline_options *o, uintptr_t fn, uintptr_t progress, imkit_tile_info *failed) {
//     return imkit_go_capture(imkit_map_tiles(in, out, o, imkitGoTile, (void *)fn,
//                                             progress ? imkitGoProgress : NULL, (void *)progress, failed), err);
// }
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// TileInfo says where a cell sits: its grid position, its rectangle on the canvas (input
// coordinates shifted by the growth margins), where its tile goes on the output, and the
// part of the input it covers (zero when it lies in a margin).
type TileInfo struct {
	Row, Col                 uint64
	Rect, OutRect, InputRect Rect
}

// TileFunc fills out (imkit's buffer, OutRect's size) from in (read-only). Both views point
// at memory imkit owns and are valid during the call only: do not keep them. It runs on
// imkit's worker threads, several at once only when the options say SetThreadSafe(true).
// A returned error or a panic stops the run: MapTiles returns the error or re-panics.
type TileFunc func(info TileInfo, in, out View) error

// PipelineOptions are the tile pipeline's parameters (imkit_pipeline_options).
type PipelineOptions struct {
	ptr *C.imkit_pipeline_options
}

// NewPipelineOptions gives the defaults: cell 1024, step 1024, clip, overwrite, scale 1,
// output like the input, no growth, fill 0, not thread-safe.
func NewPipelineOptions() (*PipelineOptions, error) {
	var msg *C.char
	var p *C.imkit_pipeline_options
	if err := check(C.go_imkit_pipeline_options_new(&msg, &p), msg); err != nil {
		return nil, err
	}
	o := &PipelineOptions{ptr: p}
	runtime.SetFinalizer(o, (*PipelineOptions).Close)
	return o, nil
}

// Close frees the options; further calls do nothing.
func (o *PipelineOptions) Close() error {
	if o.ptr != nil {
		runtime.SetFinalizer(o, nil)
		C.imkit_pipeline_options_free(o.ptr)
		o.ptr = nil
	}
	return nil
}

func (o *PipelineOptions) set(f func(msg **C.char, p *C.imkit_pipeline_options) C.imkit_status) error {
	if o.ptr == nil {
		return errClosed("PipelineOptions")
	}
	maybeGC()
	var msg *C.char
	err := check(f(&msg, o.ptr), msg)
	runtime.KeepAlive(o)
	return err
}

// SetCell sets the cell size in pixels.
func (o *PipelineOptions) SetCell(height, width uint64) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_cell(m, p, C.uint64_t(height), C.uint64_t(width))
	})
}

// SetStep sets the step between cells in pixels (overlap = cell - step).
func (o *PipelineOptions) SetStep(y, x uint64) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_step(m, p, C.uint64_t(y), C.uint64_t(x))
	})
}

// SetEdge sets the edge policy (Partition* constants).
func (o *PipelineOptions) SetEdge(edge int32) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_edge(m, p, C.int32_t(edge))
	})
}

// SetBlend sets how overlapping tiles combine (Blend* constants).
func (o *PipelineOptions) SetBlend(blend int32) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_blend(m, p, C.int32_t(blend))
	})
}

// SetScale makes output tiles k times the cells (upscalers).
func (o *PipelineOptions) SetScale(k uint64) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_scale(m, p, C.uint64_t(k))
	})
}

// SetOutputFormat declares the output's sample type and channel count.
func (o *PipelineOptions) SetOutputFormat(dtype DType, channels uint32) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_output_format(m, p, C.int32_t(dtype), C.uint32_t(channels))
	})
}

// SetGrow grows the canvas by margins in input pixels (outpainting).
func (o *PipelineOptions) SetGrow(top, right, bottom, left uint64) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_grow(m, p, C.uint64_t(top), C.uint64_t(right), C.uint64_t(bottom), C.uint64_t(left))
	})
}

// SetFill sets the value of pixels outside the input.
func (o *PipelineOptions) SetFill(fill float64) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_fill(m, p, C.double(fill))
	})
}

// SetThreadSafe declares that the TileFunc may run on several threads at once.
func (o *PipelineOptions) SetThreadSafe(yes bool) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_thread_safe(m, p, C.bool(yes))
	})
}

// SetOutputOverwritten declares that the TileFunc writes every byte of its output tile,
// which then starts with unspecified contents instead of a copy of the input (one pass saved).
func (o *PipelineOptions) SetOutputOverwritten(yes bool) error {
	return o.set(func(m **C.char, p *C.imkit_pipeline_options) C.imkit_status {
		return C.go_imkit_pipeline_options_set_output_overwritten(m, p, C.bool(yes))
	})
}

// tileFailure is what a TileFunc raised on one cell.
type tileFailure struct {
	err      error
	panicked any
	didPanic bool
}

// tileCall is the state one MapTiles call shares with the trampoline through a cgo.Handle.
type tileCall struct {
	fn       TileFunc
	mu       sync.Mutex
	failures map[[2]uint64]tileFailure
}

// MapTiles streams the image file input through fn cell by cell into the blended file
// output (imkit_map_tiles). options and progress may be nil. When fn fails, MapTiles
// returns its error (or re-panics with its panic) for the first failing cell in grid order;
// no output file is left on any failure.
func MapTiles(input, output string, fn TileFunc, options *PipelineOptions, progress Progress) error {
	var o *C.imkit_pipeline_options
	if options != nil {
		if options.ptr == nil {
			return errClosed("PipelineOptions")
		}
		o = options.ptr
	}
	cin, cout := C.CString(input), C.CString(output)
	defer C.free(unsafe.Pointer(cin))
	defer C.free(unsafe.Pointer(cout))
	call := &tileCall{fn: fn, failures: map[[2]uint64]tileFailure{}}
	h := cgo.NewHandle(call)
	defer h.Delete()
	var failed C.imkit_tile_info
	err := withProgress(progress, func(ph C.uintptr_t) error {
		var msg *C.char
		return check(C.go_map_tiles(&msg, cin, cout, o, C.uintptr_t(h), ph, &failed), msg)
	})
	runtime.KeepAlive(options)
	if err == nil {
		return nil
	}
	if f, ok := call.failures[[2]uint64{uint64(failed.row), uint64(failed.col)}]; ok {
		if f.didPanic {
			panic(f.panicked)
		}
		return f.err
	}
	return err
}

// cView wraps imkit's pixels (C memory, valid during the callback) as a View.
func cView(v *C.imkit_image_view) View {
	stride := int(v.row_stride_bytes)
	n := 0
	if v.height > 0 {
		n = stride*(int(v.height)-1) + int(v.width)*int(v.channels)*DType(v.dtype).Size()
	}
	return View{Data: unsafe.Slice((*byte)(v.data), n), Width: uint64(v.width), Height: uint64(v.height),
		RowStride: stride, Channels: uint32(v.channels), DType: DType(v.dtype)}
}

// runTile is the trampoline's body: calls fn, records an error or panic for the cell.
func runTile(userData unsafe.Pointer, info *C.imkit_tile_info, in, out *C.imkit_image_view) (code C.int32_t) {
	call := cgo.Handle(uintptr(userData)).Value().(*tileCall)
	ti := TileInfo{uint64(info.row), uint64(info.col), goRect(&info.rect), goRect(&info.out_rect), goRect(&info.input_rect)}
	record := func(f tileFailure) {
		call.mu.Lock()
		call.failures[[2]uint64{ti.Row, ti.Col}] = f
		call.mu.Unlock()
	}
	defer func() {
		if r := recover(); r != nil {
			record(tileFailure{panicked: r, didPanic: true})
			code = C.IMKIT_STATUS_BAD_STATE
		}
	}()
	if err := call.fn(ti, cView(in), cView(out)); err != nil {
		record(tileFailure{err: err})
		if e, ok := err.(*Error); ok && e.Code != StatusOK {
			return C.int32_t(e.Code)
		}
		return C.IMKIT_STATUS_BAD_STATE
	}
	return 0
}
