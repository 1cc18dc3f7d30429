package imkit

// Partitions (virtual grids of cells over an image), fragment and stitch.

// #include "shim.h"
//
// extern int32_t imkitGoProgress(void *user_data, uint64_t done, uint64_t total);
//
// IMKIT_GO_SHIM(imkit_partition_options_new, (imkit_partition_options **out), (out))
// IMKIT_GO_SHIM(imkit_partition_options_set_cell, (imkit_partition_options *o, uint64_t h, uint64_t w), (o, h, w))
// IMKIT_GO_SHIM(imkit_partition_options_set_stride, (imkit_partition_options *o, double y, double x), (o, y, x))
// IMKIT_GO_SHIM(imkit_partition_options_set_step, (imkit_partition_options *o, uint64_t y, uint64_t x), (o, y, x))
// IMKIT_GO_SHIM(imkit_partition_options_set_depth, (imkit_partition_options *o, uint64_t c, uint64_t s), (o, c, s))
// IMKIT_GO_SHIM(imkit_partition_options_set_edge, (imkit_partition_options *o, int32_t e, double fill), (o, e, fill))
// IMKIT_GO_SHIM(imkit_partition_options_set_channels, (imkit_partition_options *o, const int64_t *c, size_t n), (o, c, n))
// IMKIT_GO_SHIM(imkit_partition_options_set_volume, (imkit_partition_options *o, int32_t v), (o, v))
// IMKIT_GO_SHIM(imkit_partition_options_set_cache_dir, (imkit_partition_options *o, const char *dir), (o, dir))
// IMKIT_GO_SHIM(imkit_partition_open, (const char *path, const imkit_partition_options *o, imkit_partition **out),
//               (path, o, out))
// IMKIT_GO_SHIM(imkit_partition_shape, (const imkit_partition *p, uint64_t *r, uint64_t *c, uint64_t *d), (p, r, c, d))
// IMKIT_GO_SHIM(imkit_partition_step, (const imkit_partition *p, double *y, double *x), (p, y, x))
// IMKIT_GO_SHIM(imkit_partition_source, (const imkit_partition *p, uint64_t *w, uint64_t *h, uint64_t *s, uint32_t *c,
//               int32_t *t), (p, w, h, s, c, t))
// IMKIT_GO_SHIM(imkit_partition_cell_rect, (const imkit_partition *p, int64_t r, int64_t c, imkit_rect *out), (p, r, c, out))
// IMKIT_GO_SHIM(imkit_partition_region, (const imkit_partition *p, const imkit_axis_key *k, size_t n, imkit_rect *r,
//               size_t *len), (p, k, n, r, len))
// IMKIT_GO_SHIM(imkit_partition_read, (const imkit_partition *p, const imkit_axis_key *k, size_t n, int32_t layout,
//               void *buf, size_t len), (p, k, n, layout, buf, len))
// IMKIT_GO_SHIM(imkit_partition_read_cell, (const imkit_partition *p, int64_t r, int64_t c, int32_t layout, void *buf,
//               size_t len), (p, r, c, layout, buf, len))
// IMKIT_GO_SHIM(imkit_partition_cells_at, (const imkit_partition *p, uint64_t x, uint64_t y, uint64_t *r0, uint64_t *r1,
//               uint64_t *c0, uint64_t *c1), (p, x, y, r0, r1, c0, c1))
//
// static inline imkit_status go_partition_from_buffer(char **err, IMKIT_GO_VIEW_PARAMS(v),
//                                                     const imkit_partition_options *o, imkit_partition **out) {
//     imkit_image_view view = IMKIT_GO_VIEW(v);
//     return imkit_go_capture(imkit_partition_from_buffer(&view, o, out), err);
// }
//
// static inline imkit_status go_fragment(char **err, const imkit_partition *p, const char *dir, const char *tmpl,
//                                        const imkit_write_options *o, uintptr_t progress) {
//     return imkit_go_capture(imkit_fragment(p, dir, tmpl, o, progress ? imkitGoProgress : NULL, (void *)progress), err);
// }
//
// static inline imkit_status go_stitch(char **err, const char *manifest, const char *out, int32_t blend,
//                                      const imkit_write_options *o, uintptr_t progress) {
//     return imkit_go_capture(imkit_stitch(manifest, out, blend, o, progress ? imkitGoProgress : NULL,
//                                          (void *)progress), err);
// }
import "C"

import (
	"runtime"
	"unsafe"
)

// Partition edge policies.
const (
	PartitionClip  = C.IMKIT_PARTITION_EDGE_CLIP  // the last cell is clipped (impart)
	PartitionDrop  = C.IMKIT_PARTITION_EDGE_DROP  // only full cells
	PartitionPad   = C.IMKIT_PARTITION_EDGE_PAD   // full cells, outside pixels read as the fill
	PartitionShift = C.IMKIT_PARTITION_EDGE_SHIFT // the last cell moves back inside
)

// Stitch blend modes.
const (
	BlendOverwrite = C.IMKIT_BLEND_OVERWRITE
	BlendAverage   = C.IMKIT_BLEND_AVERAGE
	BlendLinear    = C.IMKIT_BLEND_LINEAR
	BlendGaussian  = C.IMKIT_BLEND_GAUSSIAN
)

// Read layouts.
const (
	Interleaved = C.IMKIT_LAYOUT_INTERLEAVED // height x width x channels
	Planar      = C.IMKIT_LAYOUT_PLANAR      // channels x height x width
)

// AxisKey selects cells along one axis: Index(i), Slice(start, stop) or All().
type AxisKey struct {
	k C.imkit_axis_key
}

// Index is cell i (negative counts from the end).
func Index(i int64) AxisKey {
	return AxisKey{C.imkit_axis_key{kind: C.IMKIT_KEY_KIND_INDEX, start: C.int64_t(i)}}
}

// Slice is cells start:stop with Python semantics; nil is an omitted bound.
func Slice(start, stop *int64) AxisKey {
	k := C.imkit_axis_key{kind: C.IMKIT_KEY_KIND_SLICE}
	if start != nil {
		k.has_start, k.start = true, C.int64_t(*start)
	}
	if stop != nil {
		k.has_stop, k.stop = true, C.int64_t(*stop)
	}
	return AxisKey{k}
}

// All is the whole axis.
func All() AxisKey { return AxisKey{C.imkit_axis_key{kind: C.IMKIT_KEY_KIND_ALL}} }

func cKeys(keys []AxisKey) (*C.imkit_axis_key, C.size_t) {
	if len(keys) == 0 {
		return nil, 0
	}
	// AxisKey holds exactly one C struct, so the slice is an array of them.
	return &keys[0].k, C.size_t(len(keys))
}

// PartitionOptions configure a partition: cell, stride or step, depth, edge, channels.
type PartitionOptions struct {
	ptr *C.imkit_partition_options
}

// NewPartitionOptions gives the defaults.
func NewPartitionOptions() (*PartitionOptions, error) {
	var msg *C.char
	var p *C.imkit_partition_options
	if err := check(C.go_imkit_partition_options_new(&msg, &p), msg); err != nil {
		return nil, err
	}
	o := &PartitionOptions{ptr: p}
	runtime.SetFinalizer(o, (*PartitionOptions).Close)
	return o, nil
}

// Close frees the options; further calls do nothing.
func (o *PartitionOptions) Close() error {
	if o.ptr != nil {
		runtime.SetFinalizer(o, nil)
		C.imkit_partition_options_free(o.ptr)
		o.ptr = nil
	}
	return nil
}

func (o *PartitionOptions) set(f func(msg **C.char, p *C.imkit_partition_options) C.imkit_status) error {
	if o.ptr == nil {
		return errClosed("PartitionOptions")
	}
	maybeGC()
	var msg *C.char
	err := check(f(&msg, o.ptr), msg)
	runtime.KeepAlive(o)
	return err
}

// SetCell sets the cell size in pixels.
func (o *PartitionOptions) SetCell(height, width uint64) error {
	return o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_cell(m, p, C.uint64_t(height), C.uint64_t(width))
	})
}

// SetStride sets the stride as a fraction of the cell (impart's form).
func (o *PartitionOptions) SetStride(y, x float64) error {
	return o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_stride(m, p, C.double(y), C.double(x))
	})
}

// SetStep sets the step in whole pixels.
func (o *PartitionOptions) SetStep(y, x uint64) error {
	return o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_step(m, p, C.uint64_t(y), C.uint64_t(x))
	})
}

// SetDepth sets the depth axis of volume grids: cell depth and step in slices.
func (o *PartitionOptions) SetDepth(cellDepth, stepDepth uint64) error {
	return o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_depth(m, p, C.uint64_t(cellDepth), C.uint64_t(stepDepth))
	})
}

// SetEdge sets the edge policy (Partition* constants) and the fill of padded cells.
func (o *PartitionOptions) SetEdge(edge int32, fill float64) error {
	return o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_edge(m, p, C.int32_t(edge), C.double(fill))
	})
}

// SetChannels selects and orders channels (empty = all).
func (o *PartitionOptions) SetChannels(bands []int64) error {
	var bp *C.int64_t
	if len(bands) > 0 {
		bp = (*C.int64_t)(unsafe.Pointer(&bands[0]))
	}
	err := o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_channels(m, p, bp, C.size_t(len(bands)))
	})
	runtime.KeepAlive(bands)
	return err
}

// SetVolume opens 3-D NPY arrays as (depth, height, width) volumes instead of
// (height, width, channels) images.
func (o *PartitionOptions) SetVolume(volume bool) error {
	v := C.int32_t(0)
	if volume {
		v = 1
	}
	return o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_volume(m, p, v)
	})
}

// SetCacheDir sets the decode-once cache directory of PNG sources ("" clears it).
func (o *PartitionOptions) SetCacheDir(dir string) error {
	cdir := optText(dir)
	defer C.free(unsafe.Pointer(cdir))
	return o.set(func(m **C.char, p *C.imkit_partition_options) C.imkit_status {
		return C.go_imkit_partition_options_set_cache_dir(m, p, cdir)
	})
}

func (o *PartitionOptions) raw() (*C.imkit_partition_options, error) {
	if o == nil {
		return nil, nil
	}
	if o.ptr == nil {
		return nil, errClosed("PartitionOptions")
	}
	maybeGC()
	return o.ptr, nil
}

// Partition is a virtual grid of cells over an image. Its methods (reads included) may run
// concurrently; Close must not race with them.
type Partition struct {
	ptr *C.imkit_partition
}

func newPartition(p *C.imkit_partition) *Partition {
	part := &Partition{ptr: p}
	runtime.SetFinalizer(part, (*Partition).Close)
	return part
}

// OpenPartition opens an image file (PNG, TIFF; multi-page TIFF as a volume); only headers
// are read. options may be nil.
func OpenPartition(path string, options *PartitionOptions) (*Partition, error) {
	o, err := options.raw()
	if err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	var p *C.imkit_partition
	err = check(C.go_imkit_partition_open(&msg, cpath, o, &p), msg)
	runtime.KeepAlive(options)
	if err != nil {
		return nil, err
	}
	return newPartition(p), nil
}

// PartitionFromBuffer makes a partition over a copy of v.
func PartitionFromBuffer(v View, options *PartitionOptions) (*Partition, error) {
	if err := v.check("pixels"); err != nil {
		return nil, err
	}
	o, err := options.raw()
	if err != nil {
		return nil, err
	}
	var msg *C.char
	var p *C.imkit_partition
	d, w, h, s, c, t := v.cArgs()
	err = check(C.go_partition_from_buffer(&msg, d, w, h, s, c, t, o, &p), msg)
	runtime.KeepAlive(v.Data)
	runtime.KeepAlive(options)
	if err != nil {
		return nil, err
	}
	return newPartition(p), nil
}

// Close frees the partition; further calls do nothing.
func (p *Partition) Close() error {
	if p.ptr != nil {
		runtime.SetFinalizer(p, nil)
		C.imkit_partition_free(p.ptr)
		p.ptr = nil
	}
	return nil
}

// call runs f on the C handle, capturing its error, and keeps p alive.
func (p *Partition) call(f func(msg **C.char, cp *C.imkit_partition) C.imkit_status) error {
	if p.ptr == nil {
		return errClosed("Partition")
	}
	maybeGC()
	var msg *C.char
	err := check(f(&msg, p.ptr), msg)
	runtime.KeepAlive(p)
	return err
}

// Shape is the number of cells per axis (depth is 1 for plain images).
func (p *Partition) Shape() (rows, cols, depth uint64, err error) {
	var r, c, d C.uint64_t
	err = p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_shape(m, cp, &r, &c, &d)
	})
	return uint64(r), uint64(c), uint64(d), err
}

// Step is the step in pixels (y, x) as impart reports it.
func (p *Partition) Step() (y, x float64, err error) {
	var cy, cx C.double
	err = p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_step(m, cp, &cy, &cx)
	})
	return float64(cy), float64(cx), err
}

// SourceInfo is a partition source's size and the pixel layout reads return.
type SourceInfo struct {
	Width, Height, Slices uint64
	Channels              uint32
	DType                 DType
}

// Source describes the image behind the grid (after channel selection).
func (p *Partition) Source() (SourceInfo, error) {
	var w, h, s C.uint64_t
	var c C.uint32_t
	var t C.int32_t
	err := p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_source(m, cp, &w, &h, &s, &c, &t)
	})
	return SourceInfo{uint64(w), uint64(h), uint64(s), uint32(c), DType(t)}, err
}

// CellRect is the image rectangle of cell (row, col); negative indices count from the end.
func (p *Partition) CellRect(row, col int64) (Rect, error) {
	var r C.imkit_rect
	err := p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_cell_rect(m, cp, C.int64_t(row), C.int64_t(col), &r)
	})
	return goRect(&r), err
}

// Region is the union rectangle of a selection and the bytes a read of it needs.
func (p *Partition) Region(keys ...AxisKey) (Rect, int, error) {
	var r C.imkit_rect
	var n C.size_t
	kp, kn := cKeys(keys)
	err := p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_region(m, cp, kp, kn, &r, &n)
	})
	runtime.KeepAlive(keys)
	return goRect(&r), int(n), err
}

// ReadInto reads a selection into buf (at least Region's size) in layout (Interleaved or Planar).
func (p *Partition) ReadInto(buf []byte, layout int32, keys ...AxisKey) error {
	kp, kn := cKeys(keys)
	var bp unsafe.Pointer
	if len(buf) > 0 {
		bp = unsafe.Pointer(&buf[0])
	}
	err := p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_read(m, cp, kp, kn, C.int32_t(layout), bp, C.size_t(len(buf)))
	})
	runtime.KeepAlive(keys)
	runtime.KeepAlive(buf)
	return err
}

// Read reads a selection into a new byte slice (samples in the source's DType).
func (p *Partition) Read(layout int32, keys ...AxisKey) ([]byte, error) {
	_, n, err := p.Region(keys...)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	return buf, p.ReadInto(buf, layout, keys...)
}

// ReadCellInto reads cell (row, col) into buf.
func (p *Partition) ReadCellInto(buf []byte, layout int32, row, col int64) error {
	var bp unsafe.Pointer
	if len(buf) > 0 {
		bp = unsafe.Pointer(&buf[0])
	}
	err := p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_read_cell(m, cp, C.int64_t(row), C.int64_t(col), C.int32_t(layout), bp, C.size_t(len(buf)))
	})
	runtime.KeepAlive(buf)
	return err
}

// ReadCell reads cell (row, col) into a new byte slice.
func (p *Partition) ReadCell(layout int32, row, col int64) ([]byte, error) {
	_, n, err := p.Region(Index(row), Index(col))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	return buf, p.ReadCellInto(buf, layout, row, col)
}

// CellsAt is the cells containing pixel (x, y): rows [row0, row1) x columns [col0, col1).
func (p *Partition) CellsAt(x, y uint64) (row0, row1, col0, col1 uint64, err error) {
	var r0, r1, c0, c1 C.uint64_t
	err = p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
		return C.go_imkit_partition_cells_at(m, cp, C.uint64_t(x), C.uint64_t(y), &r0, &r1, &c0, &c1)
	})
	return uint64(r0), uint64(r1), uint64(c0), uint64(c1), err
}

// Fragment writes every cell into the existing directory outDir (names from nameTemplate,
// "" for tile_{row:04}_{col:04}.png) plus manifest.json. options and progress may be nil;
// progress gets (cells done, total).
func (p *Partition) Fragment(outDir, nameTemplate string, options *WriteOptions, progress Progress) error {
	o, err := options.raw()
	if err != nil {
		return err
	}
	cdir, ctmpl := C.CString(outDir), optText(nameTemplate)
	defer C.free(unsafe.Pointer(cdir))
	defer C.free(unsafe.Pointer(ctmpl))
	err = withProgress(progress, func(h C.uintptr_t) error {
		return p.call(func(m **C.char, cp *C.imkit_partition) C.imkit_status {
			return C.go_fragment(m, cp, cdir, ctmpl, o, h)
		})
	})
	runtime.KeepAlive(options)
	return err
}

// Stitch rebuilds an image from a fragment manifest into output, blending overlaps (Blend*
// constants). options and progress may be nil; progress gets (rows done, height).
func Stitch(manifest, output string, blend int32, options *WriteOptions, progress Progress) error {
	o, err := options.raw()
	if err != nil {
		return err
	}
	cman, cout := C.CString(manifest), C.CString(output)
	defer C.free(unsafe.Pointer(cman))
	defer C.free(unsafe.Pointer(cout))
	err = withProgress(progress, func(h C.uintptr_t) error {
		var msg *C.char
		return check(C.go_stitch(&msg, cman, cout, C.int32_t(blend), o, h), msg)
	})
	runtime.KeepAlive(options)
	return err
}
