package imkit

// Tiles: placement, extract and paste for buffers and files.

// #include "shim.h"
//
// extern int32_t imkitGoProgress(void *user_data, uint64_t done, uint64_t total);
//
// IMKIT_GO_SHIM(imkit_tile_spec_default, (imkit_tile_spec *out), (out))
// IMKIT_GO_SHIM(imkit_tile_place, (const imkit_tile_spec *spec, uint64_t w, uint64_t h, uint64_t *ow,
//               uint64_t *oh, imkit_rect *rect), (spec, w, h, ow, oh, rect))
//
// static inline imkit_status go_extract_tile(char **err, IMKIT_GO_VIEW_PARAMS(s), const imkit_tile_spec *spec,
//                                            IMKIT_GO_VIEW_PARAMS(d), imkit_rect *rect) {
//     imkit_image_view src = IMKIT_GO_VIEW(s), dst = IMKIT_GO_VIEW(d);
//     return imkit_go_capture(imkit_extract_tile(&src, spec, &dst, rect), err);
// }
//
// static inline imkit_status go_paste_tile(char **err, IMKIT_GO_VIEW_PARAMS(b), IMKIT_GO_VIEW_PARAMS(t),
//                                          const imkit_tile_spec *spec, imkit_rect *rect) {
//     imkit_image_view base = IMKIT_GO_VIEW(b), tile = IMKIT_GO_VIEW(t);
//     return imkit_go_capture(imkit_paste_tile(&base, &tile, spec, rect), err);
// }
//
// static inline imkit_status go_extract_tile_file(char **err, const char *in, const char *out,
//         const imkit_tile_spec *spec, const imkit_write_options *o, uintptr_t progress, imkit_rect *rect) {
//     return imkit_go_capture(imkit_extract_tile_file(in, out, spec, o, progress ? imkitGoProgress : NULL,
//                                                     (void *)progress, rect), err);
// }
//
// static inline imkit_status go_paste_tile_file(char **err, const char *base, const char *tile, const char *out,
//         const imkit_tile_spec *spec, const imkit_write_options *o, uintptr_t progress, imkit_rect *rect) {
//     return imkit_go_capture(imkit_paste_tile_file(base, tile, out, spec, o, progress ? imkitGoProgress : NULL,
//                                                   (void *)progress, rect), err);
// }
import "C"

import (
	"runtime"
	"unsafe"
)

// Corner says which tile pixel sits on the anchor (imkit_corner).
type Corner int32

// Corners.
const (
	TopLeft     Corner = C.IMKIT_CORNER_TL
	TopRight    Corner = C.IMKIT_CORNER_TR
	BottomLeft  Corner = C.IMKIT_CORNER_BL
	BottomRight Corner = C.IMKIT_CORNER_BR
	Center      Corner = C.IMKIT_CORNER_CENTER
)

// Edge is what happens when a tile crosses the image border (imkit_tile_edge).
type Edge int32

// Edge policies.
const (
	EdgeError Edge = C.IMKIT_TILE_EDGE_ERROR
	EdgeClip  Edge = C.IMKIT_TILE_EDGE_CLIP
	EdgePad   Edge = C.IMKIT_TILE_EDGE_PAD
)

// Rect is a half-open pixel rectangle: columns [Left, Right), rows [Top, Bottom).
type Rect struct {
	Left, Top, Right, Bottom uint64
}

// TileSpec says where a tile goes; start from DefaultTileSpec.
type TileSpec struct {
	X, Y          int64
	Width, Height uint64 // for paste, 0 means the tile's size
	Fill          float64
	Corner        Corner
	Edge          Edge
}

// DefaultTileSpec is anchor (0, 0), top-left, 1024 x 1024, edge error, fill 0.
func DefaultTileSpec() TileSpec {
	var msg *C.char
	var s C.imkit_tile_spec
	if err := check(C.go_imkit_tile_spec_default(&msg, &s), msg); err != nil {
		panic(err) // cannot fail: the out-pointer is valid
	}
	return TileSpec{int64(s.x), int64(s.y), uint64(s.width), uint64(s.height), float64(s.fill), Corner(s.corner), Edge(s.edge)}
}

func (s *TileSpec) c() C.imkit_tile_spec {
	return C.imkit_tile_spec{x: C.int64_t(s.X), y: C.int64_t(s.Y), width: C.uint64_t(s.Width), height: C.uint64_t(s.Height),
		fill: C.double(s.Fill), corner: C.int32_t(s.Corner), edge: C.int32_t(s.Edge)}
}

func goRect(r *C.imkit_rect) Rect {
	return Rect{uint64(r.left), uint64(r.top), uint64(r.right), uint64(r.bottom)}
}

// PlaceTile resolves spec against an image of the given size: the tile's size and the part
// of the image it covers (the size query before ExtractTile).
func PlaceTile(spec TileSpec, imageWidth, imageHeight uint64) (width, height uint64, rect Rect, err error) {
	var msg *C.char
	cs := spec.c()
	var w, h C.uint64_t
	var r C.imkit_rect
	if err = check(C.go_imkit_tile_place(&msg, &cs, C.uint64_t(imageWidth), C.uint64_t(imageHeight), &w, &h, &r), msg); err != nil {
		return 0, 0, Rect{}, err
	}
	return uint64(w), uint64(h), goRect(&r), nil
}

// ExtractTileInto copies a tile of src into dst (shaped as PlaceTile says, src's channels
// and dtype) and returns the covered rectangle.
func ExtractTileInto(src View, spec TileSpec, dst View) (Rect, error) {
	if err := src.check("src"); err != nil {
		return Rect{}, err
	}
	if err := dst.check("dst"); err != nil {
		return Rect{}, err
	}
	var msg *C.char
	cs := spec.c()
	var r C.imkit_rect
	sd, sw, sh, ss, sc, st := src.cArgs()
	dd, dw, dh, ds, dc, dt := dst.cArgs()
	err := check(C.go_extract_tile(&msg, sd, sw, sh, ss, sc, st, &cs, dd, dw, dh, ds, dc, dt, &r), msg)
	runtime.KeepAlive(src.Data)
	runtime.KeepAlive(dst.Data)
	return goRect(&r), err
}

// ExtractTile copies a tile of src into new packed pixels.
func ExtractTile(src View, spec TileSpec) (View, Rect, error) {
	w, h, _, err := PlaceTile(spec, src.Width, src.Height)
	if err != nil {
		return View{}, Rect{}, err
	}
	dst, err := NewView(w, h, src.Channels, src.DType)
	if err != nil {
		return View{}, Rect{}, err
	}
	r, err := ExtractTileInto(src, spec, dst)
	if err != nil {
		return View{}, Rect{}, err
	}
	return dst, r, nil
}

// PasteTile pastes tile into base in place (same dtype and channels; never converted) and
// returns the part of base written.
func PasteTile(base, tile View, spec TileSpec) (Rect, error) {
	if err := base.check("base"); err != nil {
		return Rect{}, err
	}
	if err := tile.check("tile"); err != nil {
		return Rect{}, err
	}
	var msg *C.char
	cs := spec.c()
	var r C.imkit_rect
	bd, bw, bh, bs, bc, bt := base.cArgs()
	td, tw, th, ts, tc, tt := tile.cArgs()
	err := check(C.go_paste_tile(&msg, bd, bw, bh, bs, bc, bt, td, tw, th, ts, tc, tt, &cs, &r), msg)
	runtime.KeepAlive(base.Data)
	runtime.KeepAlive(tile.Data)
	return goRect(&r), err
}

// ExtractTileFile extracts a tile of the file input into the new file output (written
// atomically). options and progress may be nil.
func ExtractTileFile(input, output string, spec TileSpec, options *WriteOptions, progress Progress) (Rect, error) {
	o, err := options.raw()
	if err != nil {
		return Rect{}, err
	}
	cin, cout := C.CString(input), C.CString(output)
	defer C.free(unsafe.Pointer(cin))
	defer C.free(unsafe.Pointer(cout))
	cs := spec.c()
	var r C.imkit_rect
	err = withProgress(progress, func(h C.uintptr_t) error {
		var msg *C.char
		return check(C.go_extract_tile_file(&msg, cin, cout, &cs, o, h, &r), msg)
	})
	runtime.KeepAlive(options)
	return goRect(&r), err
}

// PasteTileFile pastes the file tile into the file base and writes output (which may be
// base; replaced atomically). options and progress may be nil.
func PasteTileFile(base, tile, output string, spec TileSpec, options *WriteOptions, progress Progress) (Rect, error) {
	o, err := options.raw()
	if err != nil {
		return Rect{}, err
	}
	cb, ct, co := C.CString(base), C.CString(tile), C.CString(output)
	defer C.free(unsafe.Pointer(cb))
	defer C.free(unsafe.Pointer(ct))
	defer C.free(unsafe.Pointer(co))
	cs := spec.c()
	var r C.imkit_rect
	err = withProgress(progress, func(h C.uintptr_t) error {
		var msg *C.char
		return check(C.go_paste_tile_file(&msg, cb, ct, co, &cs, o, h, &r), msg)
	})
	runtime.KeepAlive(options)
	return goRect(&r), err
}
