package imkit

// .iid segmentation files: the immutable IIDFile reader, its IIDGraph, and the IIDWriter.

// #include "shim.h"
//
// IMKIT_GO_SHIM(imkit_iid_file_open, (const char *path, imkit_iid_file **out), (path, out))
// IMKIT_GO_SHIM(imkit_iid_file_open_buffer, (const uint8_t *data, size_t len, imkit_iid_file **out), (data, len, out))
// IMKIT_GO_SHIM(imkit_iid_file_count, (const imkit_iid_file *f, size_t *out), (f, out))
// IMKIT_GO_SHIM(imkit_iid_file_validate, (const imkit_iid_file *f), (f))
// IMKIT_GO_SHIM(imkit_iid_file_address, (const imkit_iid_file *f, uint32_t key, const uint8_t **data, size_t *len),
//               (f, key, data, len))
// IMKIT_GO_SHIM(imkit_iid_file_domain, (const imkit_iid_file *f, uint32_t key, const uint8_t **data, size_t *len),
//               (f, key, data, len))
// IMKIT_GO_SHIM(imkit_iid_file_segment_info, (const imkit_iid_file *f, uint32_t key, imkit_iid_segment_info *out),
//               (f, key, out))
// IMKIT_GO_SHIM(imkit_iid_file_region_info, (const imkit_iid_file *f, uint32_t key, size_t index, imkit_iid_bbox *bbox,
//               uint64_t *area), (f, key, index, bbox, area))
// IMKIT_GO_SHIM(imkit_iid_file_mask, (const imkit_iid_file *f, uint32_t key, bool packed, uint8_t *buf, size_t len,
//               size_t *needed), (f, key, packed, buf, len, needed))
// IMKIT_GO_SHIM(imkit_iid_file_meta_json, (const imkit_iid_file *f, char *buf, size_t len, size_t *needed),
//               (f, buf, len, needed))
// IMKIT_GO_SHIM(imkit_iid_file_group_count, (const imkit_iid_file *f, size_t *out), (f, out))
// IMKIT_GO_SHIM(imkit_iid_file_group_name, (const imkit_iid_file *f, size_t index, char *buf, size_t len,
//               size_t *needed), (f, index, buf, len, needed))
// IMKIT_GO_SHIM(imkit_iid_file_fetch, (const imkit_iid_file *f, int32_t select, const uint64_t *keys_in, size_t nkeys,
//               const char *const *groups, size_t ngroups, bool iids, bool segments, uint32_t *keys, size_t cap,
//               size_t *count), (f, select, keys_in, nkeys, groups, ngroups, iids, segments, keys, cap, count))
// IMKIT_GO_SHIM(imkit_iid_file_look_for, (const imkit_iid_file *f, const imkit_iid_bytes *addresses, size_t naddresses,
//               const imkit_iid_bytes *domains, size_t ndomains, const char *const *groups, size_t ngroups,
//               uint32_t *keys, size_t cap, size_t *count),
//               (f, addresses, naddresses, domains, ndomains, groups, ngroups, keys, cap, count))
// IMKIT_GO_SHIM(imkit_iid_file_filter, (const imkit_iid_file *f, const char *const *groups, size_t ngroups,
//               const imkit_iid_bytes *domains, size_t ndomains, const imkit_iid_area_range *area, uint32_t *keys,
//               size_t cap, size_t *count), (f, groups, ngroups, domains, ndomains, area, keys, cap, count))
// IMKIT_GO_SHIM(imkit_iid_file_region, (const imkit_iid_file *f, const imkit_iid_bbox *bbox, uint32_t *keys, size_t cap,
//               size_t *count), (f, bbox, keys, cap, count))
// IMKIT_GO_SHIM(imkit_iid_file_at, (const imkit_iid_file *f, int64_t row, int64_t col, uint32_t *keys, size_t cap,
//               size_t *count), (f, row, col, keys, cap, count))
// IMKIT_GO_SHIM(imkit_iid_file_at_compat, (const imkit_iid_file *f, int64_t x, int64_t y, uint32_t *keys, size_t cap,
//               size_t *count), (f, x, y, keys, cap, count))
// IMKIT_GO_SHIM(imkit_iid_file_overlap_graph, (const imkit_iid_file *f, bool all, const uint64_t *keys_in, size_t nkeys,
//               imkit_iid_graph **out), (f, all, keys_in, nkeys, out))
// IMKIT_GO_SHIM(imkit_iid_graph_nodes, (const imkit_iid_graph *g, uint32_t *keys, size_t cap, size_t *count),
//               (g, keys, cap, count))
// IMKIT_GO_SHIM(imkit_iid_graph_edges, (const imkit_iid_graph *g, imkit_iid_overlap *edges, size_t cap, size_t *count),
//               (g, edges, cap, count))
// IMKIT_GO_SHIM(imkit_iid_writer_new, (imkit_iid_writer **out), (out))
// IMKIT_GO_SHIM(imkit_iid_writer_from_file, (const imkit_iid_file *f, imkit_iid_writer **out), (f, out))
// IMKIT_GO_SHIM(imkit_iid_writer_add, (imkit_iid_writer *w, const uint8_t *address, size_t address_len,
//               const uint8_t *domain, size_t domain_len, const imkit_iid_bbox *bbox, const uint8_t *mask,
//               size_t mask_len, int32_t mask_format, uint32_t *key),
//               (w, address, address_len, domain, domain_len, bbox, mask, mask_len, mask_format, key))
// IMKIT_GO_SHIM(imkit_iid_writer_add_to_group, (imkit_iid_writer *w, const char *name, uint32_t key), (w, name, key))
// IMKIT_GO_SHIM(imkit_iid_writer_set_meta_json, (imkit_iid_writer *w, const char *json), (w, json))
// IMKIT_GO_SHIM(imkit_iid_writer_count, (const imkit_iid_writer *w, size_t *out), (w, out))
// IMKIT_GO_SHIM(imkit_iid_writer_save, (const imkit_iid_writer *w, const char *path), (w, path))
import "C"

import (
	"runtime"
	"unsafe"
)

// BBox is a box: rows [MinR, MaxR), columns [MinC, MaxC).
type BBox struct {
	MinR, MinC, MaxR, MaxC int64
}

func (b BBox) c() C.imkit_iid_bbox {
	return C.imkit_iid_bbox{minr: C.int64_t(b.MinR), minc: C.int64_t(b.MinC), maxr: C.int64_t(b.MaxR), maxc: C.int64_t(b.MaxC)}
}

func goBBox(b *C.imkit_iid_bbox) BBox {
	return BBox{int64(b.minr), int64(b.minc), int64(b.maxr), int64(b.maxc)}
}

// SegmentInfo is a segment's box, area, region count and mask sizes.
type SegmentInfo struct {
	BBox            BBox
	Area            uint64
	RegionCount     uint64
	MaskBytes       uint64
	MaskPackedBytes uint64
}

// IIDEdge is one overlap-graph edge: keys A < B share Pixels pixels.
type IIDEdge struct {
	A, B   uint32
	Pixels uint64
}

// AreaRange bounds the area in IIDFile.Filter. Max of ^uint64(0) means no upper bound;
// Exclusive selects the reference's strict bounds.
type AreaRange struct {
	Min, Max  uint64
	Exclusive bool
}

// MaskFormat is the layout of a mask given to IIDWriter.Add.
type MaskFormat int32

// Mask layouts.
const (
	MaskBytes  MaskFormat = C.IMKIT_IID_MASK_FORMAT_BYTES  // one byte per pixel, row-major, non-zero = true
	MaskPacked MaskFormat = C.IMKIT_IID_MASK_FORMAT_PACKED // bits, MSB first, rows not byte-aligned
)

// IIDFile is an open, immutable .iid file. Its methods may run concurrently from several
// goroutines; Close must not race with them.
type IIDFile struct {
	ptr *C.imkit_iid_file
}

func newIIDFile(p *C.imkit_iid_file) *IIDFile {
	f := &IIDFile{ptr: p}
	runtime.SetFinalizer(f, (*IIDFile).Close)
	return f
}

// OpenIID opens and validates a .iid file (memory-mapped read-only: do not rewrite it in
// place while it is open).
func OpenIID(path string) (*IIDFile, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	var p *C.imkit_iid_file
	if err := check(C.go_imkit_iid_file_open(&msg, cpath, &p), msg); err != nil {
		return nil, err
	}
	return newIIDFile(p), nil
}

// OpenIIDBuffer opens a .iid file held in memory (the bytes are copied).
func OpenIIDBuffer(data []byte) (*IIDFile, error) {
	var msg *C.char
	var p *C.imkit_iid_file
	err := check(C.go_imkit_iid_file_open_buffer(&msg, bytesPtr(data), C.size_t(len(data)), &p), msg)
	runtime.KeepAlive(data)
	if err != nil {
		return nil, err
	}
	return newIIDFile(p), nil
}

// Close frees the file; further calls do nothing.
func (f *IIDFile) Close() error {
	if f.ptr != nil {
		runtime.SetFinalizer(f, nil)
		C.imkit_iid_file_free(f.ptr)
		f.ptr = nil
	}
	return nil
}

func (f *IIDFile) raw() (*C.imkit_iid_file, error) {
	if f.ptr == nil {
		return nil, errClosed("IIDFile")
	}
	maybeGC()
	return f.ptr, nil
}

// bytesPtr is the address of data's first byte (nil when empty).
func bytesPtr(data []byte) *C.uint8_t {
	if len(data) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&data[0]))
}

// keysQuery runs a key query with the two-call protocol.
func keysQuery(q func(msg **C.char, buf *C.uint32_t, cap C.size_t, count *C.size_t) C.imkit_status) ([]uint32, error) {
	var keys []uint32
	for {
		var msg *C.char
		var count C.size_t
		var buf *C.uint32_t
		if len(keys) > 0 {
			buf = (*C.uint32_t)(unsafe.Pointer(&keys[0]))
		}
		st := q(&msg, buf, C.size_t(len(keys)), &count)
		if st == C.IMKIT_STATUS_BUFFER_TOO_SMALL && int(count) > len(keys) {
			C.free(unsafe.Pointer(msg))
			keys = make([]uint32, int(count))
			continue
		}
		if err := check(st, msg); err != nil {
			return nil, err
		}
		return keys[:int(count)], nil
	}
}

// textQuery runs a NUL-terminated text query with the size protocol.
func textQuery(q func(msg **C.char, buf *C.char, len C.size_t, needed *C.size_t) C.imkit_status) (string, error) {
	var buf []byte
	for {
		var msg *C.char
		var needed C.size_t
		var p *C.char
		if len(buf) > 0 {
			p = (*C.char)(unsafe.Pointer(&buf[0]))
		}
		st := q(&msg, p, C.size_t(len(buf)), &needed)
		if st == C.IMKIT_STATUS_BUFFER_TOO_SMALL && int(needed) > len(buf) {
			C.free(unsafe.Pointer(msg))
			buf = make([]byte, int(needed))
			continue
		}
		if err := check(st, msg); err != nil {
			return "", err
		}
		if needed == 0 {
			return "", nil
		}
		return string(buf[:int(needed)-1]), nil
	}
}

// cBytesList is a C array of imkit_iid_bytes copies of list (nil when empty) and its free.
func cBytesList(list [][]byte) (*C.imkit_iid_bytes, func()) {
	if len(list) == 0 {
		return nil, func() {}
	}
	arr := (*[1 << 26]C.imkit_iid_bytes)(C.malloc(C.size_t(len(list)) * C.size_t(unsafe.Sizeof(C.imkit_iid_bytes{}))))[:len(list):len(list)]
	for i, b := range list {
		arr[i] = C.imkit_iid_bytes{data: (*C.uint8_t)(C.CBytes(b)), len: C.size_t(len(b))}
	}
	return &arr[0], func() {
		for _, b := range arr {
			C.free(unsafe.Pointer(b.data))
		}
		C.free(unsafe.Pointer(&arr[0]))
	}
}

// Count is the number of entries (keys 0 .. Count-1).
func (f *IIDFile) Count() (int, error) {
	p, err := f.raw()
	if err != nil {
		return 0, err
	}
	var msg *C.char
	var n C.size_t
	err = check(C.go_imkit_iid_file_count(&msg, p, &n), msg)
	runtime.KeepAlive(f)
	return int(n), err
}

// Validate checks every record, failing with StatusFormat on the first problem.
func (f *IIDFile) Validate() error {
	p, err := f.raw()
	if err != nil {
		return err
	}
	var msg *C.char
	err = check(C.go_imkit_iid_file_validate(&msg, p), msg)
	runtime.KeepAlive(f)
	return err
}

// bytesField copies a borrowed byte string out of the file.
func (f *IIDFile) bytesField(key uint32, domain bool) ([]byte, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	var msg *C.char
	var data *C.uint8_t
	var n C.size_t
	var st C.imkit_status
	if domain {
		st = C.go_imkit_iid_file_domain(&msg, p, C.uint32_t(key), &data, &n)
	} else {
		st = C.go_imkit_iid_file_address(&msg, p, C.uint32_t(key), &data, &n)
	}
	if err := check(st, msg); err != nil {
		return nil, err
	}
	return C.GoBytes(unsafe.Pointer(data), C.int(n)), nil
}

// Address is entry key's address (label name), copied.
func (f *IIDFile) Address(key uint32) ([]byte, error) { return f.bytesField(key, false) }

// Domain is entry key's domain, copied (empty when absent).
func (f *IIDFile) Domain(key uint32) ([]byte, error) { return f.bytesField(key, true) }

// SegmentInfo is entry key's box, area, region count and mask sizes.
func (f *IIDFile) SegmentInfo(key uint32) (SegmentInfo, error) {
	p, err := f.raw()
	if err != nil {
		return SegmentInfo{}, err
	}
	var msg *C.char
	var s C.imkit_iid_segment_info
	err = check(C.go_imkit_iid_file_segment_info(&msg, p, C.uint32_t(key), &s), msg)
	runtime.KeepAlive(f)
	if err != nil {
		return SegmentInfo{}, err
	}
	return SegmentInfo{goBBox(&s.bbox), uint64(s.area), uint64(s.region_count), uint64(s.mask_bytes), uint64(s.mask_packed_bytes)}, nil
}

// RegionInfo is region index (file order) of entry key: its box and pixel count.
func (f *IIDFile) RegionInfo(key uint32, index int) (BBox, uint64, error) {
	p, err := f.raw()
	if err != nil {
		return BBox{}, 0, err
	}
	var msg *C.char
	var b C.imkit_iid_bbox
	var area C.uint64_t
	err = check(C.go_imkit_iid_file_region_info(&msg, p, C.uint32_t(key), C.size_t(index), &b, &area), msg)
	runtime.KeepAlive(f)
	return goBBox(&b), uint64(area), err
}

// MaskInto writes entry key's mask into buf (one byte per pixel over the box, row-major;
// packed bits when packed) and returns the bytes written.
func (f *IIDFile) MaskInto(key uint32, packed bool, buf []byte) (int, error) {
	p, err := f.raw()
	if err != nil {
		return 0, err
	}
	var msg *C.char
	var needed C.size_t
	err = check(C.go_imkit_iid_file_mask(&msg, p, C.uint32_t(key), C.bool(packed), bytesPtr(buf), C.size_t(len(buf)), &needed), msg)
	runtime.KeepAlive(f)
	runtime.KeepAlive(buf)
	return int(needed), err
}

// Mask is entry key's mask in a new slice (see MaskInto).
func (f *IIDFile) Mask(key uint32, packed bool) ([]byte, error) {
	info, err := f.SegmentInfo(key)
	if err != nil {
		return nil, err
	}
	n := info.MaskBytes
	if packed {
		n = info.MaskPackedBytes
	}
	buf := make([]byte, n)
	written, err := f.MaskInto(key, packed, buf)
	if err != nil {
		return nil, err
	}
	return buf[:written], nil
}

// MetaJSON is the meta JSON text as stored.
func (f *IIDFile) MetaJSON() (string, error) {
	p, err := f.raw()
	if err != nil {
		return "", err
	}
	defer runtime.KeepAlive(f)
	return textQuery(func(msg **C.char, buf *C.char, n C.size_t, needed *C.size_t) C.imkit_status {
		return C.go_imkit_iid_file_meta_json(msg, p, buf, n, needed)
	})
}

// Groups are the group names in file order.
func (f *IIDFile) Groups() ([]string, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	var msg *C.char
	var n C.size_t
	if err := check(C.go_imkit_iid_file_group_count(&msg, p, &n), msg); err != nil {
		return nil, err
	}
	names := make([]string, 0, int(n))
	for i := 0; i < int(n); i++ {
		name, err := textQuery(func(msg **C.char, buf *C.char, l C.size_t, needed *C.size_t) C.imkit_status {
			return C.go_imkit_iid_file_group_name(msg, p, C.size_t(i), buf, l, needed)
		})
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

func (f *IIDFile) fetch(sel C.int32_t, keys []uint64, groups []string, iids, segments bool) ([]uint32, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	defer runtime.KeepAlive(keys)
	g, free := cStrings(groups)
	defer free()
	var kp *C.uint64_t
	if len(keys) > 0 {
		kp = (*C.uint64_t)(unsafe.Pointer(&keys[0]))
	}
	return keysQuery(func(msg **C.char, buf *C.uint32_t, c C.size_t, n *C.size_t) C.imkit_status {
		return C.go_imkit_iid_file_fetch(msg, p, sel, kp, C.size_t(len(keys)), g, C.size_t(len(groups)),
			C.bool(iids), C.bool(segments), buf, c, n)
	})
}

// FetchAll is every key; iids/segments check (decode) those records first.
func (f *IIDFile) FetchAll(iids, segments bool) ([]uint32, error) {
	return f.fetch(C.IMKIT_IID_SELECT_ALL, nil, nil, iids, segments)
}

// FetchKeys is the given keys, ascending (a missing key fails with StatusOutOfBounds).
func (f *IIDFile) FetchKeys(keys []uint64, iids, segments bool) ([]uint32, error) {
	return f.fetch(C.IMKIT_IID_SELECT_KEYS, keys, nil, iids, segments)
}

// FetchGroups is the union of the named groups (unknown name: StatusInvalidArg).
func (f *IIDFile) FetchGroups(groups []string, iids, segments bool) ([]uint32, error) {
	return f.fetch(C.IMKIT_IID_SELECT_GROUPS, nil, groups, iids, segments)
}

// LookFor is the keys whose address is one of addresses, restricted to domains and groups
// when they are not empty (an empty domain matches an absent one).
func (f *IIDFile) LookFor(addresses, domains [][]byte, groups []string) ([]uint32, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	a, freeA := cBytesList(addresses)
	defer freeA()
	d, freeD := cBytesList(domains)
	defer freeD()
	g, freeG := cStrings(groups)
	defer freeG()
	return keysQuery(func(msg **C.char, buf *C.uint32_t, c C.size_t, n *C.size_t) C.imkit_status {
		return C.go_imkit_iid_file_look_for(msg, p, a, C.size_t(len(addresses)), d, C.size_t(len(domains)), g,
			C.size_t(len(groups)), buf, c, n)
	})
}

// Filter is the keys in the union of groups (all when empty), with a domain among domains
// (any when empty) and an area within area (any when nil).
func (f *IIDFile) Filter(groups []string, domains [][]byte, area *AreaRange) ([]uint32, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	d, freeD := cBytesList(domains)
	defer freeD()
	g, freeG := cStrings(groups)
	defer freeG()
	var ar *C.imkit_iid_area_range
	if area != nil {
		ar = &C.imkit_iid_area_range{min: C.uint64_t(area.Min), max: C.uint64_t(area.Max), exclusive: C.bool(area.Exclusive)}
	}
	return keysQuery(func(msg **C.char, buf *C.uint32_t, c C.size_t, n *C.size_t) C.imkit_status {
		return C.go_imkit_iid_file_filter(msg, p, g, C.size_t(len(groups)), d, C.size_t(len(domains)), ar, buf, c, n)
	})
}

// Region is the keys with at least one true pixel inside box.
func (f *IIDFile) Region(box BBox) ([]uint32, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	cb := box.c()
	return keysQuery(func(msg **C.char, buf *C.uint32_t, c C.size_t, n *C.size_t) C.imkit_status {
		return C.go_imkit_iid_file_region(msg, p, &cb, buf, c, n)
	})
}

// At is the keys whose mask has pixel (row, col) set.
func (f *IIDFile) At(row, col int64) ([]uint32, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	return keysQuery(func(msg **C.char, buf *C.uint32_t, c C.size_t, n *C.size_t) C.imkit_status {
		return C.go_imkit_iid_file_at(msg, p, C.int64_t(row), C.int64_t(col), buf, c, n)
	})
}

// AtCompat is the reference's at(x, y): any true pixel in rows y-1..y, columns x-1..x.
func (f *IIDFile) AtCompat(x, y int64) ([]uint32, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(f)
	return keysQuery(func(msg **C.char, buf *C.uint32_t, c C.size_t, n *C.size_t) C.imkit_status {
		return C.go_imkit_iid_file_at_compat(msg, p, C.int64_t(x), C.int64_t(y), buf, c, n)
	})
}

// OverlapGraph computes the overlap graph over every entry (keys nil) or over keys.
func (f *IIDFile) OverlapGraph(keys []uint64) (*IIDGraph, error) {
	p, err := f.raw()
	if err != nil {
		return nil, err
	}
	var kp *C.uint64_t
	if len(keys) > 0 {
		kp = (*C.uint64_t)(unsafe.Pointer(&keys[0]))
	}
	var msg *C.char
	var g *C.imkit_iid_graph
	err = check(C.go_imkit_iid_file_overlap_graph(&msg, p, C.bool(keys == nil), kp, C.size_t(len(keys)), &g), msg)
	runtime.KeepAlive(f)
	runtime.KeepAlive(keys)
	if err != nil {
		return nil, err
	}
	graph := &IIDGraph{ptr: g}
	runtime.SetFinalizer(graph, (*IIDGraph).Close)
	return graph, nil
}

// IIDGraph is an overlap graph (immutable).
type IIDGraph struct {
	ptr *C.imkit_iid_graph
}

// Close frees the graph; further calls do nothing.
func (g *IIDGraph) Close() error {
	if g.ptr != nil {
		runtime.SetFinalizer(g, nil)
		C.imkit_iid_graph_free(g.ptr)
		g.ptr = nil
	}
	return nil
}

// Nodes are the graph's keys, ascending.
func (g *IIDGraph) Nodes() ([]uint32, error) {
	if g.ptr == nil {
		return nil, errClosed("IIDGraph")
	}
	maybeGC()
	p := g.ptr
	defer runtime.KeepAlive(g)
	return keysQuery(func(msg **C.char, buf *C.uint32_t, c C.size_t, n *C.size_t) C.imkit_status {
		return C.go_imkit_iid_graph_nodes(msg, p, buf, c, n)
	})
}

// Edges are the graph's edges sorted by (A, B).
func (g *IIDGraph) Edges() ([]IIDEdge, error) {
	if g.ptr == nil {
		return nil, errClosed("IIDGraph")
	}
	maybeGC()
	defer runtime.KeepAlive(g)
	var edges []C.imkit_iid_overlap
	for {
		var msg *C.char
		var count C.size_t
		var buf *C.imkit_iid_overlap
		if len(edges) > 0 {
			buf = &edges[0]
		}
		st := C.go_imkit_iid_graph_edges(&msg, g.ptr, buf, C.size_t(len(edges)), &count)
		if st == C.IMKIT_STATUS_BUFFER_TOO_SMALL && int(count) > len(edges) {
			C.free(unsafe.Pointer(msg))
			edges = make([]C.imkit_iid_overlap, int(count))
			continue
		}
		if err := check(st, msg); err != nil {
			return nil, err
		}
		out := make([]IIDEdge, int(count))
		for i := range out {
			out[i] = IIDEdge{uint32(edges[i].a), uint32(edges[i].b), uint64(edges[i].pixels)}
		}
		return out, nil
	}
}

// IIDWriter builds a .iid file. Not to be used from two goroutines at once.
type IIDWriter struct {
	ptr *C.imkit_iid_writer
}

func newIIDWriter(p *C.imkit_iid_writer) *IIDWriter {
	w := &IIDWriter{ptr: p}
	runtime.SetFinalizer(w, (*IIDWriter).Close)
	return w
}

// NewIIDWriter is an empty writer (no entry, no group, meta {}).
func NewIIDWriter() (*IIDWriter, error) {
	var msg *C.char
	var p *C.imkit_iid_writer
	if err := check(C.go_imkit_iid_writer_new(&msg, &p), msg); err != nil {
		return nil, err
	}
	return newIIDWriter(p), nil
}

// IIDWriterFromFile is a writer holding a copy of every entry, group and the meta of f.
func IIDWriterFromFile(f *IIDFile) (*IIDWriter, error) {
	fp, err := f.raw()
	if err != nil {
		return nil, err
	}
	var msg *C.char
	var p *C.imkit_iid_writer
	err = check(C.go_imkit_iid_writer_from_file(&msg, fp, &p), msg)
	runtime.KeepAlive(f)
	if err != nil {
		return nil, err
	}
	return newIIDWriter(p), nil
}

// Close frees the writer (unsaved entries are dropped); further calls do nothing.
func (w *IIDWriter) Close() error {
	if w.ptr != nil {
		runtime.SetFinalizer(w, nil)
		C.imkit_iid_writer_free(w.ptr)
		w.ptr = nil
	}
	return nil
}

func (w *IIDWriter) raw() (*C.imkit_iid_writer, error) {
	if w.ptr == nil {
		return nil, errClosed("IIDWriter")
	}
	maybeGC()
	return w.ptr, nil
}

// Add adds an entry whose mask covers exactly box and returns its key (0, 1, 2, ...).
func (w *IIDWriter) Add(address, domain []byte, box BBox, mask []byte, format MaskFormat) (uint32, error) {
	p, err := w.raw()
	if err != nil {
		return 0, err
	}
	var msg *C.char
	var key C.uint32_t
	cb := box.c()
	err = check(C.go_imkit_iid_writer_add(&msg, p, bytesPtr(address), C.size_t(len(address)), bytesPtr(domain),
		C.size_t(len(domain)), &cb, bytesPtr(mask), C.size_t(len(mask)), C.int32_t(format), &key), msg)
	runtime.KeepAlive(w)
	runtime.KeepAlive(address)
	runtime.KeepAlive(domain)
	runtime.KeepAlive(mask)
	return uint32(key), err
}

// AddToGroup adds entry key to group name (created if needed).
func (w *IIDWriter) AddToGroup(name string, key uint32) error {
	p, err := w.raw()
	if err != nil {
		return err
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var msg *C.char
	err = check(C.go_imkit_iid_writer_add_to_group(&msg, p, cname, C.uint32_t(key)), msg)
	runtime.KeepAlive(w)
	return err
}

// SetMetaJSON sets the meta from JSON text.
func (w *IIDWriter) SetMetaJSON(json string) error {
	p, err := w.raw()
	if err != nil {
		return err
	}
	cjson := C.CString(json)
	defer C.free(unsafe.Pointer(cjson))
	var msg *C.char
	err = check(C.go_imkit_iid_writer_set_meta_json(&msg, p, cjson), msg)
	runtime.KeepAlive(w)
	return err
}

// Count is the number of entries added so far.
func (w *IIDWriter) Count() (int, error) {
	p, err := w.raw()
	if err != nil {
		return 0, err
	}
	var msg *C.char
	var n C.size_t
	err = check(C.go_imkit_iid_writer_count(&msg, p, &n), msg)
	runtime.KeepAlive(w)
	return int(n), err
}

// Save writes the file to path atomically; the writer stays usable.
func (w *IIDWriter) Save(path string) error {
	p, err := w.raw()
	if err != nil {
		return err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	err = check(C.go_imkit_iid_writer_save(&msg, p, cpath), msg)
	runtime.KeepAlive(w)
	return err
}
