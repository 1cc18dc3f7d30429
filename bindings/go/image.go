package imkit

// Images, image files and write options.

// #include "shim.h"
//
// IMKIT_GO_SHIM(imkit_write_options_new, (imkit_write_options **out), (out))
// IMKIT_GO_SHIM(imkit_write_options_set_png_compression, (imkit_write_options *o, uint32_t level), (o, level))
// IMKIT_GO_SHIM(imkit_image_read, (const char *path, imkit_image **out), (path, out))
// IMKIT_GO_SHIM(imkit_image_get_view, (const imkit_image *image, imkit_image_view *out), (image, out))
// IMKIT_GO_SHIM(imkit_image_info_read, (const char *path, imkit_image_info *out), (path, out))
//
// static inline imkit_status go_image_write(char **err, const char *path, IMKIT_GO_VIEW_PARAMS(v),
//                                           const imkit_write_options *options) {
//     imkit_image_view view = IMKIT_GO_VIEW(v);
//     return imkit_go_capture(imkit_image_write(path, &view, options), err);
// }
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// DType is a sample type (imkit_dtype).
type DType int32

// Sample types.
const (
	U8  DType = C.IMKIT_DTYPE_U8
	U16 DType = C.IMKIT_DTYPE_U16
	F16 DType = C.IMKIT_DTYPE_F16
	F32 DType = C.IMKIT_DTYPE_F32
	F64 DType = C.IMKIT_DTYPE_F64
	I8  DType = C.IMKIT_DTYPE_I8
	I16 DType = C.IMKIT_DTYPE_I16
	U32 DType = C.IMKIT_DTYPE_U32
	I32 DType = C.IMKIT_DTYPE_I32
	U64 DType = C.IMKIT_DTYPE_U64
	I64 DType = C.IMKIT_DTYPE_I64
)

// Size is the number of bytes of one sample (0 for an unknown type).
func (d DType) Size() int {
	switch d {
	case U8, I8:
		return 1
	case U16, I16, F16:
		return 2
	case U32, I32, F32:
		return 4
	case U64, I64, F64:
		return 8
	}
	return 0
}

// FileFormat is an image file format (imkit_file_format).
type FileFormat int32

// File formats.
const (
	PNG  FileFormat = C.IMKIT_FILE_FORMAT_PNG
	JPEG FileFormat = C.IMKIT_FILE_FORMAT_JPEG
	TIFF FileFormat = C.IMKIT_FILE_FORMAT_TIFF
	EXR  FileFormat = C.IMKIT_FILE_FORMAT_EXR
	NPY  FileFormat = C.IMKIT_FILE_FORMAT_NPY
)

// View describes pixels in Go memory: Height rows of Width pixels of Channels interleaved
// samples of DType, native byte order; row y starts at byte y*RowStride (0 = packed rows).
// imkit reads or writes Data only during a call and never keeps it.
type View struct {
	Data      []byte
	Width     uint64
	Height    uint64
	RowStride int
	Channels  uint32
	DType     DType
}

// Sample is a Go type imkit has a DType for.
type Sample interface {
	~uint8 | ~uint16 | ~float32 | ~float64 | ~int8 | ~int16 | ~uint32 | ~int32 | ~uint64 | ~int64
}

// dtypeOf is the DType of T.
func dtypeOf[T Sample]() DType {
	var zero T
	switch any(zero).(type) {
	case uint8:
		return U8
	case uint16:
		return U16
	case float32:
		return F32
	case float64:
		return F64
	case int8:
		return I8
	case int16:
		return I16
	case uint32:
		return U32
	case int32:
		return I32
	case uint64:
		return U64
	case int64:
		return I64
	}
	panic(fmt.Sprintf("imkit: no DType for %T", zero))
}

// ViewOf describes packed pixels held in data (no copy: the View shares data's memory).
func ViewOf[T Sample](data []T, width, height uint64, channels uint32) View {
	var bytes []byte
	if len(data) > 0 {
		bytes = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), len(data)*int(unsafe.Sizeof(data[0])))
	}
	return View{Data: bytes, Width: width, Height: height, Channels: channels, DType: dtypeOf[T]()}
}

// NewView allocates zeroed packed pixels.
func NewView(width, height uint64, channels uint32, dtype DType) (View, error) {
	n, err := packedLen(width, height, channels, dtype)
	if err != nil {
		return View{}, err
	}
	return View{Data: make([]byte, n), Width: width, Height: height, Channels: channels, DType: dtype}, nil
}

// packedLen is the byte size of packed pixels, checked for overflow.
func packedLen(width, height uint64, channels uint32, dtype DType) (int, error) {
	size := uint64(dtype.Size())
	if size == 0 {
		return 0, &Error{Code: StatusInvalidArg, Message: fmt.Sprintf("dtype: unknown value %d", dtype)}
	}
	row := width * uint64(channels) * size
	if width != 0 && row/width != uint64(channels)*size {
		return 0, &Error{Code: StatusInvalidArg, Message: "image size overflows"}
	}
	total := row * height
	if height != 0 && total/height != row || total > uint64(^uint(0)>>1) {
		return 0, &Error{Code: StatusInvalidArg, Message: "image size overflows"}
	}
	return int(total), nil
}

// check verifies that Data holds every row the View describes, since C cannot.
func (v *View) check(name string) error {
	packedRow, err := packedLen(v.Width, 1, v.Channels, v.DType)
	if err != nil {
		return err
	}
	if v.Height == 0 || v.Width == 0 {
		return nil
	}
	stride := v.RowStride
	if stride == 0 {
		stride = packedRow
	}
	if stride < packedRow {
		return &Error{Code: StatusInvalidArg, Message: fmt.Sprintf("%s: row stride %d is below the row size %d", name, stride, packedRow)}
	}
	need := (v.Height-1)*uint64(stride) + uint64(packedRow)
	if uint64(len(v.Data)) < need {
		return &Error{Code: StatusBufferTooSmall, Message: fmt.Sprintf("%s: %d bytes of data, the view needs %d", name, len(v.Data), need)}
	}
	return nil
}

// cArgs gives the C arguments describing v (no copy).
func (v *View) cArgs() (unsafe.Pointer, C.uint64_t, C.uint64_t, C.size_t, C.uint32_t, C.int32_t) {
	var p unsafe.Pointer
	if len(v.Data) > 0 {
		p = unsafe.Pointer(&v.Data[0])
	}
	return p, C.uint64_t(v.Width), C.uint64_t(v.Height), C.size_t(v.RowStride), C.uint32_t(v.Channels), C.int32_t(v.DType)
}

// WriteOptions are options for writing files (imkit_write_options).
type WriteOptions struct {
	ptr *C.imkit_write_options
}

// NewWriteOptions gives the defaults (PNG compression 1, fast).
func NewWriteOptions() (*WriteOptions, error) {
	var msg *C.char
	var p *C.imkit_write_options
	if err := check(C.go_imkit_write_options_new(&msg, &p), msg); err != nil {
		return nil, err
	}
	o := &WriteOptions{ptr: p}
	runtime.SetFinalizer(o, (*WriteOptions).Close)
	return o, nil
}

// SetPNGCompression sets the PNG compression: 0 none, 1 fastest, 2-9 zlib levels.
func (o *WriteOptions) SetPNGCompression(level uint32) error {
	if o.ptr == nil {
		return errClosed("WriteOptions")
	}
	maybeGC()
	var msg *C.char
	err := check(C.go_imkit_write_options_set_png_compression(&msg, o.ptr, C.uint32_t(level)), msg)
	runtime.KeepAlive(o)
	return err
}

// Close frees the options; further calls do nothing.
func (o *WriteOptions) Close() error {
	if o.ptr != nil {
		runtime.SetFinalizer(o, nil)
		C.imkit_write_options_free(o.ptr)
		o.ptr = nil
	}
	return nil
}

// raw is the C pointer of possibly-nil options (nil means defaults).
func (o *WriteOptions) raw() (*C.imkit_write_options, error) {
	if o == nil {
		return nil, nil
	}
	if o.ptr == nil {
		return nil, errClosed("WriteOptions")
	}
	maybeGC()
	return o.ptr, nil
}

// Image is an image decoded by imkit (imkit_image).
type Image struct {
	ptr *C.imkit_image
}

// ReadImage reads a whole image file (format detected from its content).
func ReadImage(path string) (*Image, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	var p *C.imkit_image
	if err := check(C.go_imkit_image_read(&msg, cpath, &p), msg); err != nil {
		return nil, err
	}
	img := &Image{ptr: p}
	runtime.SetFinalizer(img, (*Image).Close)
	return img, nil
}

// Pixels copies the image's pixels into Go memory (packed rows).
func (img *Image) Pixels() (View, error) {
	if img.ptr == nil {
		return View{}, errClosed("Image")
	}
	maybeGC()
	defer runtime.KeepAlive(img)
	var msg *C.char
	var v C.imkit_image_view
	if err := check(C.go_imkit_image_get_view(&msg, img.ptr, &v), msg); err != nil {
		return View{}, err
	}
	out, err := NewView(uint64(v.width), uint64(v.height), uint32(v.channels), DType(v.dtype))
	if err != nil {
		return View{}, err
	}
	row := int(out.Width) * int(out.Channels) * out.DType.Size()
	stride := int(v.row_stride_bytes)
	if stride == 0 {
		stride = row
	}
	for y := 0; y < int(out.Height); y++ {
		copy(out.Data[y*row:(y+1)*row], unsafe.Slice((*byte)(unsafe.Add(v.data, y*stride)), row))
	}
	return out, nil
}

// Close frees the image; further calls do nothing.
func (img *Image) Close() error {
	if img.ptr != nil {
		runtime.SetFinalizer(img, nil)
		C.imkit_image_free(img.ptr)
		img.ptr = nil
	}
	return nil
}

// ImageInfo is an image file's size, layout and format.
type ImageInfo struct {
	Width, Height uint64
	Channels      uint32
	DType         DType
	Format        FileFormat
}

// ReadImageInfo reads an image file's header without decoding pixels.
func ReadImageInfo(path string) (ImageInfo, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	var info C.imkit_image_info
	if err := check(C.go_imkit_image_info_read(&msg, cpath, &info), msg); err != nil {
		return ImageInfo{}, err
	}
	return ImageInfo{uint64(info.width), uint64(info.height), uint32(info.channels), DType(info.dtype), FileFormat(info.file_format)}, nil
}

// WriteImage writes pixels to path atomically (format from the extension); options may
// be nil for the defaults.
func WriteImage(path string, v View, options *WriteOptions) error {
	if err := v.check("image"); err != nil {
		return err
	}
	o, err := options.raw()
	if err != nil {
		return err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	d, w, h, s, c, t := v.cArgs()
	err = check(C.go_image_write(&msg, cpath, d, w, h, s, c, t, o), msg)
	runtime.KeepAlive(options)
	runtime.KeepAlive(v.Data)
	return err
}
