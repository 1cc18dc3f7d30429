package imkit

// Save/load with metadata, lists and directories, and the background save queue.

// #include "shim.h"
//
// IMKIT_GO_SHIM(imkit_write_options_set_exr_compression, (imkit_write_options *o, int32_t c), (o, c))
// IMKIT_GO_SHIM(imkit_save_options_new, (imkit_save_options **out), (out))
// IMKIT_GO_SHIM(imkit_save_options_set_write_options, (imkit_save_options *o, const imkit_write_options *w), (o, w))
// IMKIT_GO_SHIM(imkit_save_options_set_python_tokens, (imkit_save_options *o, bool allow), (o, allow))
// IMKIT_GO_SHIM(imkit_save_options_set_overwrite, (imkit_save_options *o, bool overwrite), (o, overwrite))
// IMKIT_GO_SHIM(imkit_save_array, (const char *path, const void *data, size_t len, int32_t dtype, const size_t *shape,
//               size_t ndim, const char *meta, const imkit_save_options *o, char **out_path),
//               (path, data, len, dtype, shape, ndim, meta, o, out_path))
// IMKIT_GO_SHIM(imkit_load, (const char *path, imkit_image **out, char **meta), (path, out, meta))
// IMKIT_GO_SHIM(imkit_image_get_shape, (const imkit_image *image, size_t *dims, size_t cap, size_t *ndim),
//               (image, dims, cap, ndim))
// IMKIT_GO_SHIM(imkit_image_get_data, (const imkit_image *image, const void **data, size_t *len, int32_t *dtype),
//               (image, data, len, dtype))
// IMKIT_GO_SHIM(imkit_metadata_save, (const char *path, const char *meta, const imkit_save_options *o), (path, meta, o))
// IMKIT_GO_SHIM(imkit_metadata_load, (const char *path, char **out), (path, out))
// IMKIT_GO_SHIM(imkit_save_list, (const char *const *paths, const imkit_image_view *images, size_t count,
//               const char *const *meta, size_t nmeta, const imkit_save_options *o), (paths, images, count, meta, nmeta, o))
// IMKIT_GO_SHIM(imkit_save_dir, (const char *dir, const imkit_image_view *images, size_t count,
//               const char *const *meta, size_t nmeta, const imkit_save_options *o), (dir, images, count, meta, nmeta, o))
// IMKIT_GO_SHIM(imkit_load_list, (const char *const *paths, size_t count, imkit_image_list **out), (paths, count, out))
// IMKIT_GO_SHIM(imkit_load_dir, (const char *dir, imkit_image_list **out), (dir, out))
// IMKIT_GO_SHIM(imkit_image_list_len, (const imkit_image_list *l, size_t *out), (l, out))
// IMKIT_GO_SHIM(imkit_image_list_get, (const imkit_image_list *l, size_t i, const imkit_image **image,
//               const char **meta, const char **path), (l, i, image, meta, path))
// IMKIT_GO_SHIM(imkit_save_queue_options_new, (imkit_save_queue_options **out), (out))
// IMKIT_GO_SHIM(imkit_save_queue_options_set_threads, (imkit_save_queue_options *o, size_t n), (o, n))
// IMKIT_GO_SHIM(imkit_save_queue_options_set_max_pending_bytes, (imkit_save_queue_options *o, size_t n), (o, n))
// IMKIT_GO_SHIM(imkit_save_queue_options_set_max_pending_jobs, (imkit_save_queue_options *o, size_t n), (o, n))
// IMKIT_GO_SHIM(imkit_save_queue_options_set_save_options, (imkit_save_queue_options *o, const imkit_save_options *s),
//               (o, s))
// IMKIT_GO_SHIM(imkit_save_queue_new, (const imkit_save_queue_options *o, imkit_save_queue **out), (o, out))
// IMKIT_GO_SHIM(imkit_save_queue_flush, (const imkit_save_queue *q), (q))
// IMKIT_GO_SHIM(imkit_save_queue_next_error, (const imkit_save_queue *q, uint64_t *job, char *buf, size_t len,
//               size_t *needed), (q, job, buf, len, needed))
// IMKIT_GO_SHIM(imkit_save_queue_close, (imkit_save_queue *q), (q))
//
// static inline imkit_status go_save(char **err, const char *path, IMKIT_GO_VIEW_PARAMS(v), const char *meta,
//                                    const imkit_save_options *o, char **out_path) {
//     imkit_image_view view = IMKIT_GO_VIEW(v);
//     return imkit_go_capture(imkit_save(path, &view, meta, o, out_path), err);
// }
//
// static inline imkit_status go_queue_push(char **err, const imkit_save_queue *q, bool try_only, const char *path,
//                                          IMKIT_GO_VIEW_PARAMS(v), const char *meta, uint64_t *job) {
//     imkit_image_view view = IMKIT_GO_VIEW(v);
//     return imkit_go_capture(try_only ? imkit_save_queue_try_push(q, path, &view, meta, job)
//                                      : imkit_save_queue_push(q, path, &view, meta, job), err);
// }
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// EXR compression methods (all lossless).
const (
	EXRNone = C.IMKIT_EXR_COMPRESSION_NONE
	EXRRLE  = C.IMKIT_EXR_COMPRESSION_RLE
	EXRZIPS = C.IMKIT_EXR_COMPRESSION_ZIPS
	EXRZIP  = C.IMKIT_EXR_COMPRESSION_ZIP
	EXRPIZ  = C.IMKIT_EXR_COMPRESSION_PIZ
)

// SetEXRCompression sets the EXR compression (one of the EXR* constants).
func (o *WriteOptions) SetEXRCompression(compression int32) error {
	p, err := o.raw()
	if err != nil || p == nil {
		return orClosed(err, "WriteOptions")
	}
	var msg *C.char
	err = check(C.go_imkit_write_options_set_exr_compression(&msg, p, C.int32_t(compression)), msg)
	runtime.KeepAlive(o)
	return err
}

// orClosed is err, or a closed-handle error for a nil receiver.
func orClosed(err error, kind string) error {
	if err != nil {
		return err
	}
	return errClosed(kind)
}

// takeString copies an Owned string imkit returned and frees it.
func takeString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.imkit_string_free(s)
	return C.GoString(s)
}

// optText is NULL for "" (no metadata), else a C copy; free with C.free.
func optText(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

// SaveOptions are how files are saved: write options, Python tokens in JSON, overwrite.
type SaveOptions struct {
	ptr *C.imkit_save_options
}

// NewSaveOptions gives the defaults.
func NewSaveOptions() (*SaveOptions, error) {
	var msg *C.char
	var p *C.imkit_save_options
	if err := check(C.go_imkit_save_options_new(&msg, &p), msg); err != nil {
		return nil, err
	}
	o := &SaveOptions{ptr: p}
	runtime.SetFinalizer(o, (*SaveOptions).Close)
	return o, nil
}

// Close frees the options; further calls do nothing.
func (o *SaveOptions) Close() error {
	if o.ptr != nil {
		runtime.SetFinalizer(o, nil)
		C.imkit_save_options_free(o.ptr)
		o.ptr = nil
	}
	return nil
}

// raw is the C pointer of possibly-nil options (nil means defaults).
func (o *SaveOptions) raw() (*C.imkit_save_options, error) {
	if o == nil {
		return nil, nil
	}
	if o.ptr == nil {
		return nil, errClosed("SaveOptions")
	}
	maybeGC()
	return o.ptr, nil
}

// SetWriteOptions uses a copy of w for encoding.
func (o *SaveOptions) SetWriteOptions(w *WriteOptions) error {
	p, err := o.raw()
	if err != nil || p == nil {
		return orClosed(err, "SaveOptions")
	}
	wp, err := w.raw()
	if err != nil {
		return err
	}
	var msg *C.char
	err = check(C.go_imkit_save_options_set_write_options(&msg, p, wp), msg)
	runtime.KeepAlive(o)
	runtime.KeepAlive(w)
	return err
}

// SetPythonTokens accepts Python's NaN/Infinity tokens in metadata JSON.
func (o *SaveOptions) SetPythonTokens(allow bool) error {
	p, err := o.raw()
	if err != nil || p == nil {
		return orClosed(err, "SaveOptions")
	}
	var msg *C.char
	err = check(C.go_imkit_save_options_set_python_tokens(&msg, p, C.bool(allow)), msg)
	runtime.KeepAlive(o)
	return err
}

// SetOverwrite lets directory saves replace numbered files already there.
func (o *SaveOptions) SetOverwrite(overwrite bool) error {
	p, err := o.raw()
	if err != nil || p == nil {
		return orClosed(err, "SaveOptions")
	}
	var msg *C.char
	err = check(C.go_imkit_save_options_set_overwrite(&msg, p, C.bool(overwrite)), msg)
	runtime.KeepAlive(o)
	return err
}

// Save saves pixels and their metadata (a JSON object, "" for none) to path (the format
// from its extension, or chosen from the data and appended) and returns the path written.
func Save(path string, v View, metadataJSON string, options *SaveOptions) (string, error) {
	if err := v.check("image"); err != nil {
		return "", err
	}
	o, err := options.raw()
	if err != nil {
		return "", err
	}
	cpath, cmeta := C.CString(path), optText(metadataJSON)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(cmeta))
	var msg, written *C.char
	d, w, h, s, c, t := v.cArgs()
	err = check(C.go_save(&msg, cpath, d, w, h, s, c, t, cmeta, o, &written), msg)
	runtime.KeepAlive(v.Data)
	runtime.KeepAlive(options)
	return takeString(written), err
}

// SaveArray saves an N-dimensional array (C order) with its metadata; returns the path written.
func SaveArray[T Sample](path string, data []T, shape []int, metadataJSON string, options *SaveOptions) (string, error) {
	o, err := options.raw()
	if err != nil {
		return "", err
	}
	cshape := make([]C.size_t, len(shape))
	for i, d := range shape {
		if d < 0 {
			return "", &Error{Code: StatusInvalidArg, Message: fmt.Sprintf("shape[%d]: negative", i)}
		}
		cshape[i] = C.size_t(d)
	}
	var dp unsafe.Pointer
	if len(data) > 0 {
		dp = unsafe.Pointer(&data[0])
	}
	var sp *C.size_t
	if len(cshape) > 0 {
		sp = &cshape[0]
	}
	cpath, cmeta := C.CString(path), optText(metadataJSON)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(cmeta))
	var msg, written *C.char
	size := C.size_t(len(data)) * C.size_t(unsafe.Sizeof(*new(T)))
	err = check(C.go_imkit_save_array(&msg, cpath, dp, size, C.int32_t(dtypeOf[T]()), sp, C.size_t(len(cshape)),
		cmeta, o, &written), msg)
	runtime.KeepAlive(data)
	runtime.KeepAlive(options)
	return takeString(written), err
}

// Load loads a file (format from its content) and its metadata ("{}" when none).
func Load(path string) (*Image, string, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg, meta *C.char
	var p *C.imkit_image
	if err := check(C.go_imkit_load(&msg, cpath, &p, &meta), msg); err != nil {
		return nil, "", err
	}
	img := &Image{ptr: p}
	runtime.SetFinalizer(img, (*Image).Close)
	return img, takeString(meta), nil
}

// shapeOf is the shape of a (possibly borrowed) C image.
func shapeOf(p *C.imkit_image) ([]int, error) {
	var dims []C.size_t
	for {
		var msg *C.char
		var n C.size_t
		var dp *C.size_t
		if len(dims) > 0 {
			dp = &dims[0]
		}
		st := C.go_imkit_image_get_shape(&msg, p, dp, C.size_t(len(dims)), &n)
		if st == C.IMKIT_STATUS_BUFFER_TOO_SMALL && int(n) > len(dims) {
			C.free(unsafe.Pointer(msg))
			dims = make([]C.size_t, int(n))
			continue
		}
		if err := check(st, msg); err != nil {
			return nil, err
		}
		out := make([]int, int(n))
		for i := range out {
			out[i] = int(dims[i])
		}
		return out, nil
	}
}

// dataOf copies the samples of a (possibly borrowed) C image.
func dataOf(p *C.imkit_image) ([]byte, DType, error) {
	var msg *C.char
	var data unsafe.Pointer
	var n C.size_t
	var dtype C.int32_t
	if err := check(C.go_imkit_image_get_data(&msg, p, &data, &n, &dtype), msg); err != nil {
		return nil, 0, err
	}
	return C.GoBytes(data, C.int(n)), DType(dtype), nil
}

// Shape is the image's or array's axis lengths, outermost first ((h, w) or (h, w, c) for images).
func (img *Image) Shape() ([]int, error) {
	if img.ptr == nil {
		return nil, errClosed("Image")
	}
	maybeGC()
	defer runtime.KeepAlive(img)
	return shapeOf(img.ptr)
}

// Data copies the samples (packed, C order, native byte order) and gives their type.
func (img *Image) Data() ([]byte, DType, error) {
	if img.ptr == nil {
		return nil, 0, errClosed("Image")
	}
	maybeGC()
	defer runtime.KeepAlive(img)
	return dataOf(img.ptr)
}

// MetadataSave writes only the metadata sidecar of the image path.
func MetadataSave(path, metadataJSON string, options *SaveOptions) error {
	o, err := options.raw()
	if err != nil {
		return err
	}
	cpath, cmeta := C.CString(path), C.CString(metadataJSON)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(cmeta))
	var msg *C.char
	err = check(C.go_imkit_metadata_save(&msg, cpath, cmeta, o), msg)
	runtime.KeepAlive(options)
	return err
}

// MetadataLoad reads only the metadata of the image path ("{}" when there is none).
func MetadataLoad(path string) (string, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg, out *C.char
	if err := check(C.go_imkit_metadata_load(&msg, cpath, &out), msg); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// cViews copies views into C memory (pixels included: C memory may not hold Go pointers)
// and returns them with their free function.
func cViews(views []View) (*C.imkit_image_view, func(), error) {
	if len(views) == 0 {
		return nil, func() {}, nil
	}
	for i := range views {
		if err := views[i].check(fmt.Sprintf("images[%d]", i)); err != nil {
			return nil, nil, err
		}
	}
	arr := (*[1 << 26]C.imkit_image_view)(C.malloc(C.size_t(len(views)) * C.size_t(unsafe.Sizeof(C.imkit_image_view{}))))[:len(views):len(views)]
	for i, v := range views {
		arr[i] = C.imkit_image_view{data: C.CBytes(v.Data), width: C.uint64_t(v.Width), height: C.uint64_t(v.Height),
			row_stride_bytes: C.size_t(v.RowStride), channels: C.uint32_t(v.Channels), dtype: C.int32_t(v.DType)}
	}
	return &arr[0], func() {
		for _, v := range arr {
			C.free(v.data)
		}
		C.free(unsafe.Pointer(&arr[0]))
	}, nil
}

// SaveList saves images to paths in parallel (pixels are copied first); metadata holds 0,
// 1 (shared) or one JSON text per image.
func SaveList(paths []string, images []View, metadata []string, options *SaveOptions) error {
	if len(paths) != len(images) {
		return &Error{Code: StatusInvalidArg, Message: fmt.Sprintf("SaveList: %d paths for %d images", len(paths), len(images))}
	}
	o, err := options.raw()
	if err != nil {
		return err
	}
	views, freeViews, err := cViews(images)
	if err != nil {
		return err
	}
	defer freeViews()
	cp, freePaths := cStrings(paths)
	defer freePaths()
	cm, freeMeta := cStrings(metadata)
	defer freeMeta()
	var msg *C.char
	err = check(C.go_imkit_save_list(&msg, cp, views, C.size_t(len(images)), cm, C.size_t(len(metadata)), o), msg)
	runtime.KeepAlive(options)
	return err
}

// SaveDir saves images into dir as 0.<ext>, 1.<ext>, ... with sidecars (pixels are copied first).
func SaveDir(dir string, images []View, metadata []string, options *SaveOptions) error {
	o, err := options.raw()
	if err != nil {
		return err
	}
	views, freeViews, err := cViews(images)
	if err != nil {
		return err
	}
	defer freeViews()
	cm, freeMeta := cStrings(metadata)
	defer freeMeta()
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var msg *C.char
	err = check(C.go_imkit_save_dir(&msg, cdir, views, C.size_t(len(images)), cm, C.size_t(len(metadata)), o), msg)
	runtime.KeepAlive(options)
	return err
}

// ImageList holds images loaded together.
type ImageList struct {
	ptr *C.imkit_image_list
}

// ListEntry is one loaded image: its samples (copied), shape, metadata and path.
type ListEntry struct {
	Data     []byte
	DType    DType
	Shape    []int
	Metadata string
	Path     string
}

func newImageList(p *C.imkit_image_list) *ImageList {
	l := &ImageList{ptr: p}
	runtime.SetFinalizer(l, (*ImageList).Close)
	return l
}

// LoadList loads files in parallel.
func LoadList(paths []string) (*ImageList, error) {
	cp, free := cStrings(paths)
	defer free()
	var msg *C.char
	var p *C.imkit_image_list
	if err := check(C.go_imkit_load_list(&msg, cp, C.size_t(len(paths)), &p), msg); err != nil {
		return nil, err
	}
	return newImageList(p), nil
}

// LoadDir loads every image file of dir in natural name order.
func LoadDir(dir string) (*ImageList, error) {
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var msg *C.char
	var p *C.imkit_image_list
	if err := check(C.go_imkit_load_dir(&msg, cdir, &p), msg); err != nil {
		return nil, err
	}
	return newImageList(p), nil
}

// Close frees the list and its images; further calls do nothing.
func (l *ImageList) Close() error {
	if l.ptr != nil {
		runtime.SetFinalizer(l, nil)
		C.imkit_image_list_free(l.ptr)
		l.ptr = nil
	}
	return nil
}

// Len is the number of entries.
func (l *ImageList) Len() (int, error) {
	if l.ptr == nil {
		return 0, errClosed("ImageList")
	}
	maybeGC()
	var msg *C.char
	var n C.size_t
	err := check(C.go_imkit_image_list_len(&msg, l.ptr, &n), msg)
	runtime.KeepAlive(l)
	return int(n), err
}

// Entry copies entry i out of the list.
func (l *ImageList) Entry(i int) (ListEntry, error) {
	if l.ptr == nil {
		return ListEntry{}, errClosed("ImageList")
	}
	maybeGC()
	defer runtime.KeepAlive(l)
	var msg, meta, path *C.char
	var img *C.imkit_image
	if err := check(C.go_imkit_image_list_get(&msg, l.ptr, C.size_t(i), &img, &meta, &path), msg); err != nil {
		return ListEntry{}, err
	}
	data, dtype, err := dataOf(img)
	if err != nil {
		return ListEntry{}, err
	}
	shape, err := shapeOf(img)
	if err != nil {
		return ListEntry{}, err
	}
	return ListEntry{data, dtype, shape, C.GoString(meta), C.GoString(path)}, nil
}

// SaveQueueOptions are the settings of a save queue.
type SaveQueueOptions struct {
	ptr *C.imkit_save_queue_options
}

// NewSaveQueueOptions gives 2 workers, at most 512 MiB and 64 jobs pending, default save options.
func NewSaveQueueOptions() (*SaveQueueOptions, error) {
	var msg *C.char
	var p *C.imkit_save_queue_options
	if err := check(C.go_imkit_save_queue_options_new(&msg, &p), msg); err != nil {
		return nil, err
	}
	o := &SaveQueueOptions{ptr: p}
	runtime.SetFinalizer(o, (*SaveQueueOptions).Close)
	return o, nil
}

// Close frees the settings; further calls do nothing.
func (o *SaveQueueOptions) Close() error {
	if o.ptr != nil {
		runtime.SetFinalizer(o, nil)
		C.imkit_save_queue_options_free(o.ptr)
		o.ptr = nil
	}
	return nil
}

func (o *SaveQueueOptions) set(f func(msg **C.char, p *C.imkit_save_queue_options) C.imkit_status) error {
	if o.ptr == nil {
		return errClosed("SaveQueueOptions")
	}
	maybeGC()
	var msg *C.char
	err := check(f(&msg, o.ptr), msg)
	runtime.KeepAlive(o)
	return err
}

// SetThreads sets the number of worker threads (1-256).
func (o *SaveQueueOptions) SetThreads(n int) error {
	return o.set(func(msg **C.char, p *C.imkit_save_queue_options) C.imkit_status {
		return C.go_imkit_save_queue_options_set_threads(msg, p, C.size_t(n))
	})
}

// SetMaxPendingBytes bounds the bytes of pixels queued or being written.
func (o *SaveQueueOptions) SetMaxPendingBytes(n int) error {
	return o.set(func(msg **C.char, p *C.imkit_save_queue_options) C.imkit_status {
		return C.go_imkit_save_queue_options_set_max_pending_bytes(msg, p, C.size_t(n))
	})
}

// SetMaxPendingJobs bounds the jobs queued or being written.
func (o *SaveQueueOptions) SetMaxPendingJobs(n int) error {
	return o.set(func(msg **C.char, p *C.imkit_save_queue_options) C.imkit_status {
		return C.go_imkit_save_queue_options_set_max_pending_jobs(msg, p, C.size_t(n))
	})
}

// SetSaveOptions sets how each job is saved (copied).
func (o *SaveQueueOptions) SetSaveOptions(s *SaveOptions) error {
	sp, err := s.raw()
	if err != nil {
		return err
	}
	err = o.set(func(msg **C.char, p *C.imkit_save_queue_options) C.imkit_status {
		return C.go_imkit_save_queue_options_set_save_options(msg, p, sp)
	})
	runtime.KeepAlive(s)
	return err
}

// SaveQueue saves in the background. Its methods may be called from several goroutines;
// Close must not race with them. Close reports failures: a finalizer (or a forgotten
// Close) still writes every job but drops its errors.
type SaveQueue struct {
	ptr *C.imkit_save_queue
}

// NewSaveQueue starts a queue (options nil for the defaults).
func NewSaveQueue(options *SaveQueueOptions) (*SaveQueue, error) {
	var op *C.imkit_save_queue_options
	if options != nil {
		if options.ptr == nil {
			return nil, errClosed("SaveQueueOptions")
		}
		op = options.ptr
	}
	var msg *C.char
	var p *C.imkit_save_queue
	err := check(C.go_imkit_save_queue_new(&msg, op, &p), msg)
	runtime.KeepAlive(options)
	if err != nil {
		return nil, err
	}
	q := &SaveQueue{ptr: p}
	runtime.SetFinalizer(q, func(q *SaveQueue) { C.imkit_save_queue_free(q.ptr) })
	return q, nil
}

func (q *SaveQueue) push(try bool, path string, v View, metadataJSON string) (uint64, error) {
	if q.ptr == nil {
		return 0, errClosed("SaveQueue")
	}
	if err := v.check("image"); err != nil {
		return 0, err
	}
	maybeGC()
	cpath, cmeta := C.CString(path), optText(metadataJSON)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(cmeta))
	var msg *C.char
	var job C.uint64_t
	d, w, h, s, c, t := v.cArgs()
	err := check(C.go_queue_push(&msg, q.ptr, C.bool(try), cpath, d, w, h, s, c, t, cmeta, &job), msg)
	runtime.KeepAlive(v.Data)
	runtime.KeepAlive(q)
	return uint64(job), err
}

// Push queues a save of a copy of v (the caller may reuse v at once) and returns the job
// id; it blocks while the queue is full.
func (q *SaveQueue) Push(path string, v View, metadataJSON string) (uint64, error) {
	return q.push(false, path, v, metadataJSON)
}

// TryPush is Push without waiting: ok is false when the queue is full.
func (q *SaveQueue) TryPush(path string, v View, metadataJSON string) (job uint64, ok bool, err error) {
	job, err = q.push(true, path, v, metadataJSON)
	if e, isErr := err.(*Error); isErr && e.Code == StatusWouldBlock {
		return 0, false, nil
	}
	return job, err == nil, err
}

// Flush waits for every queued job and returns the first failure since the previous flush.
func (q *SaveQueue) Flush() error {
	if q.ptr == nil {
		return errClosed("SaveQueue")
	}
	maybeGC()
	var msg *C.char
	err := check(C.go_imkit_save_queue_flush(&msg, q.ptr), msg)
	runtime.KeepAlive(q)
	return err
}

// JobError is a failed save-queue job.
type JobError struct {
	Job     uint64
	Message string
}

// NextError takes the oldest failed job not yet read; ok is false when there is none.
func (q *SaveQueue) NextError() (e JobError, ok bool, err error) {
	if q.ptr == nil {
		return JobError{}, false, errClosed("SaveQueue")
	}
	maybeGC()
	defer runtime.KeepAlive(q)
	var buf []byte
	for {
		var msg *C.char
		var job C.uint64_t
		var needed C.size_t
		var bp *C.char
		if len(buf) > 0 {
			bp = (*C.char)(unsafe.Pointer(&buf[0]))
		}
		st := C.go_imkit_save_queue_next_error(&msg, q.ptr, &job, bp, C.size_t(len(buf)), &needed)
		if st == C.IMKIT_STATUS_BUFFER_TOO_SMALL && int(needed) > len(buf) {
			C.free(unsafe.Pointer(msg))
			buf = make([]byte, int(needed))
			continue
		}
		if err := check(st, msg); err != nil {
			return JobError{}, false, err
		}
		if job == 0 {
			return JobError{}, false, nil
		}
		return JobError{uint64(job), string(buf[:int(needed)-1])}, true, nil
	}
}

// Close flushes, stops the workers and frees the queue, returning the first failure not
// yet reported by a flush. Further calls do nothing.
func (q *SaveQueue) Close() error {
	if q.ptr == nil {
		return nil
	}
	runtime.SetFinalizer(q, nil)
	p := q.ptr
	q.ptr = nil
	var msg *C.char
	return check(C.go_imkit_save_queue_close(&msg, p), msg)
}
