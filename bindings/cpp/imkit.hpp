// imkit C++ binding: header-only C++17 over the C ABI in imkit.h.
// SPDX-License-Identifier: MIT
//
// Conventions (docs/c-abi-conventions.md, "C++ binding"):
// - Every handle is a move-only class holding a std::unique_ptr whose deleter calls the
//   matching imkit_*_free. The constructor adopting a raw pointer is explicit; raw() borrows
//   it, release() gives up ownership. Destructors are noexcept.
// - A failing call throws imkit::Error (a std::runtime_error) carrying the status code()
//   and the thread-local message, read right after the failing call on the same thread.
// - The first call through this header checks imkit_abi_version() against the header's
//   IMKIT_ABI_VERSION and throws imkit::Error with a clear message on a mismatch.
// - Outputs are std::vector / std::string values, or caller buffers described by
//   imkit::View (a plain imkit_image_view). Buffers are only borrowed during a call.
// - Callbacks (progress) go through a trampoline that catches every exception, cancels the
//   operation and rethrows the exception in the calling thread once the C call returned.
//
// Families live in their own sections below: library, images and files, tiling, save/load
// and the save queue, partition (with fragment/stitch), the tile pipeline, IID.
#ifndef IMKIT_HPP
#define IMKIT_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "imkit.h"

namespace imkit {

// ============================================================================ errors

/// A failed imkit call: the status code and the message imkit gave for it.
class Error : public std::runtime_error {
public:
    /// Builds an error for status `code` with imkit's `message`.
    Error(int32_t code, const std::string &message)
        : std::runtime_error(std::string(imkit_status_str(code)) + ": " + message),
          code_(code), message_(message) {}

    /// The `imkit_status` value (an IMKIT_STATUS_* constant).
    int32_t code() const noexcept { return code_; }

    /// imkit's message alone (what() also carries the status name).
    const std::string &message() const noexcept { return message_; }

private:
    int32_t code_;
    std::string message_;
};

namespace detail {

/// Throws when the library's ABI differs from the header's (exposed for tests).
inline void check_abi(uint32_t library_abi) {
    if (library_abi != IMKIT_ABI_VERSION) {
        throw Error(IMKIT_STATUS_UNSUPPORTED,
                    "libimkit implements ABI version " + std::to_string(library_abi) +
                        " but this program was compiled against imkit.h with "
                        "IMKIT_ABI_VERSION " +
                        std::to_string(IMKIT_ABI_VERSION) +
                        "; rebuild against the installed header or link the matching "
                        "library");
    }
}

/// Checks the ABI once per process (retried until it succeeds).
inline void ensure_abi() {
    static const bool ok = (check_abi(imkit_abi_version()), true);
    (void)ok;
}

/// Throws an Error for a non-OK status, with this thread's last-error message.
inline void check(int32_t status) {
    if (status != IMKIT_STATUS_OK) {
        throw Error(status, imkit_last_error_message());
    }
}

/// Checks the ABI, makes the call and throws on failure.
template <class F, class... Args> inline void call(F f, Args... args) {
    ensure_abi();
    check(static_cast<int32_t>(f(args...)));
}

/// Runs a two-call query `f(buf, cap, &count)`: a size query, then the real call.
template <class T, class F> std::vector<T> two_call(F f) {
    ensure_abi();
    std::vector<T> out;
    for (;;) {
        size_t count = 0;
        int32_t st = static_cast<int32_t>(f(out.empty() ? nullptr : out.data(), out.size(), &count));
        if (st == IMKIT_STATUS_OK) {
            out.resize(count);
            return out;
        }
        if (st != IMKIT_STATUS_BUFFER_TOO_SMALL || count <= out.size()) {
            check(st);
        }
        out.resize(count);
    }
}

/// Runs a text query with the NUL-terminated size protocol `f(buf, len, &needed)`.
template <class F> std::string text(F f) {
    ensure_abi();
    std::string out;
    for (;;) {
        size_t needed = 0;
        int32_t st = static_cast<int32_t>(f(out.empty() ? nullptr : &out[0], out.size(), &needed));
        if (st == IMKIT_STATUS_OK) {
            out.resize(needed > 0 ? needed - 1 : 0);
            return out;
        }
        if (st != IMKIT_STATUS_BUFFER_TOO_SMALL || needed <= out.size()) {
            check(st);
        }
        out.resize(needed);
    }
}

/// Deleter calling an imkit_*_free function.
template <class T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};

/// Base of every handle class: owns one imkit handle, move-only.
template <class T, void (*Free)(T *)> class Handle {
public:
    /// An empty handle.
    Handle() noexcept = default;
    /// Adopts `raw` (may be NULL): it will be freed by this object.
    explicit Handle(T *raw) noexcept : ptr_(raw) {}
    /// The handle, still owned by this object (NULL when empty or moved from).
    T *raw() const noexcept { return ptr_.get(); }
    /// Gives up ownership: the caller frees the returned handle.
    T *release() noexcept { return ptr_.release(); }
    /// Whether a handle is held.
    explicit operator bool() const noexcept { return static_cast<bool>(ptr_); }

protected:
    /// The handle, or an Error when empty (a moved-from object).
    T *get() const {
        if (!ptr_) {
            throw Error(IMKIT_STATUS_NULL_ARG, "this imkit object is empty (moved from or released)");
        }
        return ptr_.get();
    }

private:
    std::unique_ptr<T, Deleter<T, Free>> ptr_;
};

/// A vector of C string pointers into `strings` (which must outlive it).
inline std::vector<const char *> c_strings(const std::vector<std::string> &strings) {
    std::vector<const char *> out;
    out.reserve(strings.size());
    for (const std::string &s : strings) {
        out.push_back(s.c_str());
    }
    return out;
}

} // namespace detail

// ============================================================================ library

/// The name and description of a status code.
inline std::string status_str(int32_t code) { return imkit_status_str(code); }

/// The message of the last failed imkit call on this thread.
inline std::string last_error_message() { return imkit_last_error_message(); }

/// Library version as MAJOR*10000 + MINOR*100 + PATCH.
inline uint32_t version() { return imkit_version(); }

/// Library version as text.
inline std::string version_string() { return imkit_version_string(); }

/// The library's ABI version (equals IMKIT_ABI_VERSION, checked at first use).
inline uint32_t abi_version() { return imkit_abi_version(); }

/// Sets imkit's worker-pool size (0 = one per core); output never depends on it.
inline void set_num_threads(size_t threads) { detail::call(imkit_set_num_threads, threads); }

/// The number of threads imkit's pool uses.
inline size_t num_threads() {
    size_t n = 0;
    detail::call(imkit_get_num_threads, &n);
    return n;
}

// ============================================================================ pixels

/// A borrowed pixel buffer (the C struct: data, width, height, row_stride_bytes, channels,
/// dtype). Build one over your own memory with imkit::view().
using View = imkit_image_view;

/// The imkit_dtype of a C++ sample type.
template <class T> constexpr int32_t dtype_of();
template <> constexpr int32_t dtype_of<uint8_t>() { return IMKIT_DTYPE_U8; }
template <> constexpr int32_t dtype_of<uint16_t>() { return IMKIT_DTYPE_U16; }
template <> constexpr int32_t dtype_of<float>() { return IMKIT_DTYPE_F32; }
template <> constexpr int32_t dtype_of<double>() { return IMKIT_DTYPE_F64; }
template <> constexpr int32_t dtype_of<int8_t>() { return IMKIT_DTYPE_I8; }
template <> constexpr int32_t dtype_of<int16_t>() { return IMKIT_DTYPE_I16; }
template <> constexpr int32_t dtype_of<uint32_t>() { return IMKIT_DTYPE_U32; }
template <> constexpr int32_t dtype_of<int32_t>() { return IMKIT_DTYPE_I32; }
template <> constexpr int32_t dtype_of<uint64_t>() { return IMKIT_DTYPE_U64; }
template <> constexpr int32_t dtype_of<int64_t>() { return IMKIT_DTYPE_I64; }

/// Describes `height` packed rows of `width` pixels of `channels` samples at `data`.
template <class T>
View view(T *data, uint64_t width, uint64_t height, uint32_t channels, size_t row_stride_bytes = 0) {
    View v;
    v.data = const_cast<void *>(static_cast<const void *>(data));
    v.width = width;
    v.height = height;
    v.row_stride_bytes = row_stride_bytes;
    v.channels = channels;
    v.dtype = dtype_of<typename std::remove_const<T>::type>();
    return v;
}

/// A packed image in a std::vector the caller owns.
template <class T> struct Pixels {
    std::vector<T> data;
    uint64_t width = 0;
    uint64_t height = 0;
    uint32_t channels = 0;

    /// Zero-filled pixels of the given shape.
    Pixels(uint64_t w, uint64_t h, uint32_t c)
        : data(static_cast<size_t>(w * h * c)), width(w), height(h), channels(c) {}
    /// A view over `data` (invalidated when `data` reallocates).
    View view() { return imkit::view(data.data(), width, height, channels); }
    /// A read-only view over `data`.
    View view() const { return imkit::view(data.data(), width, height, channels); }
    /// Sample `c` of pixel (x, y).
    T &at(uint64_t x, uint64_t y, uint32_t c = 0) {
        return data[static_cast<size_t>((y * width + x) * channels + c)];
    }
};

// ============================================================================ images and files

/// Options for writing files (imkit_write_options).
class WriteOptions : public detail::Handle<imkit_write_options, imkit_write_options_free> {
public:
    using Handle::Handle;
    /// Default options (PNG compression 1, fast).
    static WriteOptions defaults() {
        imkit_write_options *raw = nullptr;
        detail::call(imkit_write_options_new, &raw);
        return WriteOptions(raw);
    }
    /// Sets the PNG compression: 0 none, 1 fastest, 2-9 zlib levels.
    WriteOptions &png_compression(uint32_t level) {
        detail::call(imkit_write_options_set_png_compression, get(), level);
        return *this;
    }
    /// Sets the EXR compression (an IMKIT_EXR_COMPRESSION_* value; all lossless).
    WriteOptions &exr_compression(int32_t compression) {
        detail::call(imkit_write_options_set_exr_compression, get(), compression);
        return *this;
    }
};

/// An image decoded by imkit (imkit_image).
class Image : public detail::Handle<imkit_image, imkit_image_free> {
public:
    using Handle::Handle;
    /// Reads a whole image file (format detected from its content).
    static Image read(const std::string &path) {
        imkit_image *raw = nullptr;
        detail::call(imkit_image_read, path.c_str(), &raw);
        return Image(raw);
    }
    /// The image's pixels. Borrowed: valid while this Image lives; writable.
    View view() const {
        View v;
        detail::call(imkit_image_get_view, static_cast<const imkit_image *>(get()), &v);
        return v;
    }
};

/// Size, layout and format read from a file header (no pixel decoding).
inline imkit_image_info image_info(const std::string &path) {
    imkit_image_info info;
    detail::call(imkit_image_info_read, path.c_str(), &info);
    return info;
}

/// Writes pixels to `path` atomically (format from the extension). `options` may be NULL.
inline void write_image(const std::string &path, const View &pixels, const WriteOptions *options = nullptr) {
    detail::call(imkit_image_write, path.c_str(), &pixels,
                 static_cast<const imkit_write_options *>(options ? options->raw() : nullptr));
}

// ============================================================================ tiling

/// Progress callback: (done, total) -> keep going? Returning false cancels the operation
/// (it then throws Error with IMKIT_STATUS_CANCELLED); an exception thrown inside cancels
/// it too and is rethrown to the caller. Runs on the calling thread.
using Progress = std::function<bool(uint64_t done, uint64_t total)>;

namespace detail {

/// State shared with the C trampoline during one call.
struct ProgressContext {
    const Progress *fn;
    std::exception_ptr error;
};

/// The C callback: never lets an exception escape into imkit.
extern "C" inline int32_t imkit_cpp_progress_trampoline(void *user_data, uint64_t done, uint64_t total) {
    ProgressContext *ctx = static_cast<ProgressContext *>(user_data);
    try {
        return (*ctx->fn)(done, total) ? 0 : 1;
    } catch (...) {
        ctx->error = std::current_exception();
        return 1;
    }
}

/// Calls `f(callback, user_data)` with `progress` wired through the trampoline; rethrows
/// an exception the callback threw, else throws on failure.
template <class F> void with_progress(const Progress &progress, F f) {
    ensure_abi();
    ProgressContext ctx{&progress, nullptr};
    imkit_progress_fn cb = progress ? imkit_cpp_progress_trampoline : nullptr;
    int32_t st = static_cast<int32_t>(f(cb, progress ? static_cast<void *>(&ctx) : nullptr));
    if (ctx.error) {
        std::rethrow_exception(ctx.error);
    }
    check(st);
}

} // namespace detail

/// Where a tile goes (imkit_tile_spec: x, y, width, height, fill, corner, edge).
using TileSpec = imkit_tile_spec;

/// The defaults: anchor (0, 0), top-left corner, 1024 x 1024, edge error, fill 0.
inline TileSpec tile_spec() {
    TileSpec s;
    detail::call(imkit_tile_spec_default, &s);
    return s;
}

/// A tile's resolved size and the part of the image it covers.
struct Placement {
    uint64_t width;
    uint64_t height;
    imkit_rect rect;
};

/// Resolves `spec` against an image of the given size (the size query for extract_tile).
inline Placement place_tile(const TileSpec &spec, uint64_t image_width, uint64_t image_height) {
    Placement p{};
    detail::call(imkit_tile_place, &spec, image_width, image_height, &p.width, &p.height, &p.rect);
    return p;
}

/// Copies a tile of `src` into `dst` (shaped as place_tile says); returns the covered rect.
inline imkit_rect extract_tile(const View &src, const TileSpec &spec, const View &dst) {
    imkit_rect r;
    detail::call(imkit_extract_tile, &src, &spec, &dst, &r);
    return r;
}

/// Extracts a tile of `src` into new pixels of sample type T (must match src's dtype).
template <class T> Pixels<T> extract_tile(const View &src, const TileSpec &spec) {
    Placement p = place_tile(spec, src.width, src.height);
    Pixels<T> out(p.width, p.height, src.channels);
    extract_tile(src, spec, out.view());
    return out;
}

/// Pastes `tile` into `base` in place; returns the part of `base` written.
inline imkit_rect paste_tile(const View &base, const View &tile, const TileSpec &spec) {
    imkit_rect r;
    detail::call(imkit_paste_tile, &base, &tile, &spec, &r);
    return r;
}

/// Extracts a tile from the file `input` into the new file `output`; returns the rect.
inline imkit_rect extract_tile_file(const std::string &input, const std::string &output, const TileSpec &spec,
                                    const WriteOptions *options = nullptr, const Progress &progress = {}) {
    imkit_rect r;
    const imkit_write_options *o = options ? options->raw() : nullptr;
    detail::with_progress(progress, [&](imkit_progress_fn cb, void *ud) {
        return imkit_extract_tile_file(input.c_str(), output.c_str(), &spec, o, cb, ud, &r);
    });
    return r;
}

/// Pastes the file `tile` into the file `base`, writing `output` (may equal base).
inline imkit_rect paste_tile_file(const std::string &base, const std::string &tile, const std::string &output,
                                  const TileSpec &spec, const WriteOptions *options = nullptr,
                                  const Progress &progress = {}) {
    imkit_rect r;
    const imkit_write_options *o = options ? options->raw() : nullptr;
    detail::with_progress(progress, [&](imkit_progress_fn cb, void *ud) {
        return imkit_paste_tile_file(base.c_str(), tile.c_str(), output.c_str(), &spec, o, cb, ud, &r);
    });
    return r;
}

// ============================================================================ save/load and the save queue

namespace detail {

/// Copies an Owned string imkit returned and frees it with imkit_string_free.
inline std::string take_string(char *text) {
    std::string out = text ? text : "";
    imkit_string_free(text);
    return out;
}

/// NULL for "no metadata", else the text.
inline const char *opt_text(const std::string &text) { return text.empty() ? nullptr : text.c_str(); }

} // namespace detail

/// How files are saved (imkit_save_options): write options, Python tokens, overwrite.
class SaveOptions : public detail::Handle<imkit_save_options, imkit_save_options_free> {
public:
    using Handle::Handle;
    /// The defaults.
    static SaveOptions defaults() {
        imkit_save_options *raw = nullptr;
        detail::call(imkit_save_options_new, &raw);
        return SaveOptions(raw);
    }
    /// Uses a copy of `write` for encoding.
    SaveOptions &write_options(const WriteOptions &write) {
        detail::call(imkit_save_options_set_write_options, get(),
                     static_cast<const imkit_write_options *>(write.raw()));
        return *this;
    }
    /// Accepts Python's NaN/Infinity tokens in metadata JSON.
    SaveOptions &python_tokens(bool allow) {
        detail::call(imkit_save_options_set_python_tokens, get(), allow);
        return *this;
    }
    /// Directory saves replace numbered files already there (and remove stale ones).
    SaveOptions &overwrite(bool overwrite) {
        detail::call(imkit_save_options_set_overwrite, get(), overwrite);
        return *this;
    }
};

namespace detail {
inline const imkit_save_options *raw_or_null(const SaveOptions *o) { return o ? o->raw() : nullptr; }
} // namespace detail

/// Saves pixels and their metadata (a JSON object, "" for none) to `path` (the format from
/// its extension, or chosen from the data and appended); returns the image path written.
inline std::string save(const std::string &path, const View &pixels, const std::string &metadata_json = "",
                        const SaveOptions *options = nullptr) {
    char *written = nullptr;
    detail::call(imkit_save, path.c_str(), &pixels, detail::opt_text(metadata_json), detail::raw_or_null(options),
                 &written);
    return detail::take_string(written);
}

/// Saves an N-dimensional array (C order) of T with its metadata; returns the path written.
template <class T>
std::string save_array(const std::string &path, const std::vector<T> &data, const std::vector<size_t> &shape,
                       const std::string &metadata_json = "", const SaveOptions *options = nullptr) {
    char *written = nullptr;
    detail::call(imkit_save_array, path.c_str(), static_cast<const void *>(data.data()), data.size() * sizeof(T),
                 dtype_of<T>(), shape.data(), shape.size(), detail::opt_text(metadata_json),
                 detail::raw_or_null(options), &written);
    return detail::take_string(written);
}

/// The samples of a loaded image or array. Borrowed: valid while the image lives.
struct ArrayData {
    const void *data;
    size_t len;
    int32_t dtype;
};

/// Shape of a loaded image or array (outermost first; images are (h, w) or (h, w, c)).
inline std::vector<size_t> shape_of(const imkit_image *image) {
    return detail::two_call<size_t>(
        [&](size_t *dims, size_t cap, size_t *n) { return imkit_image_get_shape(image, dims, cap, n); });
}

/// Samples of a loaded image or array (borrowed from `image`).
inline ArrayData data_of(const imkit_image *image) {
    ArrayData a{};
    detail::call(imkit_image_get_data, image, &a.data, &a.len, &a.dtype);
    return a;
}

/// An image or array loaded with its metadata.
struct Loaded {
    Image image;
    std::string metadata_json;
    /// Axis lengths, outermost first.
    std::vector<size_t> shape() const { return shape_of(image.raw()); }
    /// The samples (borrowed from `image`).
    ArrayData data() const { return data_of(image.raw()); }
};

/// Loads a file (format from its content) and its sidecar metadata ("{}" when none).
inline Loaded load(const std::string &path) {
    imkit_image *raw = nullptr;
    char *meta = nullptr;
    detail::call(imkit_load, path.c_str(), &raw, &meta);
    return Loaded{Image(raw), detail::take_string(meta)};
}

/// Writes only the metadata sidecar of the image `path`.
inline void metadata_save(const std::string &path, const std::string &metadata_json,
                          const SaveOptions *options = nullptr) {
    detail::call(imkit_metadata_save, path.c_str(), metadata_json.c_str(), detail::raw_or_null(options));
}

/// Reads only the metadata of the image `path` ("{}" when there is none).
inline std::string metadata_load(const std::string &path) {
    char *json = nullptr;
    detail::call(imkit_metadata_load, path.c_str(), &json);
    return detail::take_string(json);
}

/// Saves images to paths in parallel; `metadata_json` holds 0, 1 (shared) or one text per image.
inline void save_list(const std::vector<std::string> &paths, const std::vector<View> &images,
                      const std::vector<std::string> &metadata_json = {}, const SaveOptions *options = nullptr) {
    if (paths.size() != images.size()) {
        throw Error(IMKIT_STATUS_INVALID_ARG, "save_list: " + std::to_string(paths.size()) + " paths for " +
                                                  std::to_string(images.size()) + " images");
    }
    auto p = detail::c_strings(paths);
    auto m = detail::c_strings(metadata_json);
    detail::call(imkit_save_list, p.data(), images.data(), images.size(), m.data(), m.size(),
                 detail::raw_or_null(options));
}

/// Saves images into `dir` as 0.<ext>, 1.<ext>, ... with sidecars.
inline void save_dir(const std::string &dir, const std::vector<View> &images,
                     const std::vector<std::string> &metadata_json = {}, const SaveOptions *options = nullptr) {
    auto m = detail::c_strings(metadata_json);
    detail::call(imkit_save_dir, dir.c_str(), images.data(), images.size(), m.data(), m.size(),
                 detail::raw_or_null(options));
}

/// Images loaded together (imkit_image_list).
class ImageList : public detail::Handle<imkit_image_list, imkit_image_list_free> {
public:
    using Handle::Handle;
    /// One entry; everything is borrowed from the list.
    struct Entry {
        const imkit_image *image;
        std::string metadata_json;
        std::string path;
    };
    /// Number of entries.
    size_t size() const {
        size_t n = 0;
        detail::call(imkit_image_list_len, static_cast<const imkit_image_list *>(get()), &n);
        return n;
    }
    /// Entry `index`; use shape_of / data_of / view_of on its image.
    Entry at(size_t index) const {
        const imkit_image *image = nullptr;
        const char *meta = nullptr;
        const char *path = nullptr;
        detail::call(imkit_image_list_get, static_cast<const imkit_image_list *>(get()), index, &image, &meta, &path);
        return Entry{image, meta ? meta : "", path ? path : ""};
    }
};

/// The pixels of a borrowed image (e.g. an ImageList entry).
inline View view_of(const imkit_image *image) {
    View v;
    detail::call(imkit_image_get_view, image, &v);
    return v;
}

/// Loads files in parallel.
inline ImageList load_list(const std::vector<std::string> &paths) {
    auto p = detail::c_strings(paths);
    imkit_image_list *raw = nullptr;
    detail::call(imkit_load_list, p.data(), p.size(), &raw);
    return ImageList(raw);
}

/// Loads every image file of `dir` in natural name order.
inline ImageList load_dir(const std::string &dir) {
    imkit_image_list *raw = nullptr;
    detail::call(imkit_load_dir, dir.c_str(), &raw);
    return ImageList(raw);
}

/// Settings of a save queue (imkit_save_queue_options).
class SaveQueueOptions : public detail::Handle<imkit_save_queue_options, imkit_save_queue_options_free> {
public:
    using Handle::Handle;
    /// 2 workers, at most 512 MiB and 64 jobs pending, default save options.
    static SaveQueueOptions defaults() {
        imkit_save_queue_options *raw = nullptr;
        detail::call(imkit_save_queue_options_new, &raw);
        return SaveQueueOptions(raw);
    }
    /// Worker threads (1-256).
    SaveQueueOptions &threads(size_t n) {
        detail::call(imkit_save_queue_options_set_threads, get(), n);
        return *this;
    }
    /// Most bytes of pixels queued or being written at once.
    SaveQueueOptions &max_pending_bytes(size_t bytes) {
        detail::call(imkit_save_queue_options_set_max_pending_bytes, get(), bytes);
        return *this;
    }
    /// Most jobs queued or being written at once.
    SaveQueueOptions &max_pending_jobs(size_t jobs) {
        detail::call(imkit_save_queue_options_set_max_pending_jobs, get(), jobs);
        return *this;
    }
    /// How each job is saved (copied).
    SaveQueueOptions &save_options(const SaveOptions &save) {
        detail::call(imkit_save_queue_options_set_save_options, get(),
                     static_cast<const imkit_save_options *>(save.raw()));
        return *this;
    }
};

/// A failed save-queue job.
struct JobError {
    uint64_t job_id;
    std::string message;
};

/// Background saves (imkit_save_queue). Every method may run from several threads at once,
/// except close() and the destructor. Call close() to learn about failures: the destructor
/// also writes every job, but it cannot report errors.
class SaveQueue : public detail::Handle<imkit_save_queue, imkit_save_queue_free> {
public:
    using Handle::Handle;
    /// Starts a queue (`options` may be NULL for the defaults).
    static SaveQueue open(const SaveQueueOptions *options = nullptr) {
        imkit_save_queue *raw = nullptr;
        detail::call(imkit_save_queue_new,
                     static_cast<const imkit_save_queue_options *>(options ? options->raw() : nullptr), &raw);
        return SaveQueue(raw);
    }
    /// Queues a save of a copy of `pixels`; blocks while the queue is full. Returns the job id.
    uint64_t push(const std::string &path, const View &pixels, const std::string &metadata_json = "") const {
        uint64_t id = 0;
        detail::call(imkit_save_queue_push, cqueue(), path.c_str(), &pixels, detail::opt_text(metadata_json), &id);
        return id;
    }
    /// As push(), but returns nullopt instead of waiting when the queue is full.
    std::optional<uint64_t> try_push(const std::string &path, const View &pixels,
                                     const std::string &metadata_json = "") const {
        detail::ensure_abi();
        uint64_t id = 0;
        int32_t st = static_cast<int32_t>(
            imkit_save_queue_try_push(cqueue(), path.c_str(), &pixels, detail::opt_text(metadata_json), &id));
        if (st == IMKIT_STATUS_WOULD_BLOCK) {
            return std::nullopt;
        }
        detail::check(st);
        return id;
    }
    /// Waits for every queued job; throws the first failure since the previous flush.
    void flush() const { detail::call(imkit_save_queue_flush, cqueue()); }
    /// The oldest failed job not yet read, if any.
    std::optional<JobError> next_error() const {
        const imkit_save_queue *q = cqueue();
        uint64_t id = 0;
        std::string message = detail::text(
            [&](char *buf, size_t len, size_t *needed) { return imkit_save_queue_next_error(q, &id, buf, len, needed); });
        if (id == 0) {
            return std::nullopt;
        }
        return JobError{id, message};
    }
    /// Flushes, stops the workers and frees the queue; throws the first failure not yet
    /// reported by a flush. The queue is closed afterwards either way.
    void close() {
        imkit_save_queue *q = get();
        release();
        detail::call(imkit_save_queue_close, q);
    }

private:
    const imkit_save_queue *cqueue() const { return get(); }
};

// ============================================================================ partition, fragment and stitch

/// One axis of a partition selection (imkit_axis_key): an index, a slice or the whole axis.
using AxisKey = imkit_axis_key;

/// Cell `i` (negative counts from the end).
inline AxisKey key_index(int64_t i) { return AxisKey{IMKIT_KEY_KIND_INDEX, false, false, i, 0}; }

/// Cells `start:stop` with Python semantics; nullopt is an omitted bound.
inline AxisKey key_slice(std::optional<int64_t> start, std::optional<int64_t> stop) {
    return AxisKey{IMKIT_KEY_KIND_SLICE, start.has_value(), stop.has_value(), start.value_or(0), stop.value_or(0)};
}

/// The whole axis.
inline AxisKey key_all() { return AxisKey{IMKIT_KEY_KIND_ALL, false, false, 0, 0}; }

/// Options of a partition (imkit_partition_options): cell, stride or step, depth, edge, channels.
class PartitionOptions : public detail::Handle<imkit_partition_options, imkit_partition_options_free> {
public:
    using Handle::Handle;
    /// The defaults.
    static PartitionOptions defaults() {
        imkit_partition_options *raw = nullptr;
        detail::call(imkit_partition_options_new, &raw);
        return PartitionOptions(raw);
    }
    /// Cell size in pixels.
    PartitionOptions &cell(uint64_t height, uint64_t width) {
        detail::call(imkit_partition_options_set_cell, get(), height, width);
        return *this;
    }
    /// Stride as a fraction of the cell (impart's form).
    PartitionOptions &stride(double y, double x) {
        detail::call(imkit_partition_options_set_stride, get(), y, x);
        return *this;
    }
    /// Step in whole pixels.
    PartitionOptions &step(uint64_t y, uint64_t x) {
        detail::call(imkit_partition_options_set_step, get(), y, x);
        return *this;
    }
    /// Depth axis of volume grids: cell depth and step in slices.
    PartitionOptions &depth(uint64_t cell_depth, uint64_t step_depth) {
        detail::call(imkit_partition_options_set_depth, get(), cell_depth, step_depth);
        return *this;
    }
    /// Edge policy (IMKIT_PARTITION_EDGE_*) and the fill of padded cells.
    PartitionOptions &edge(int32_t edge, double fill = 0.0) {
        detail::call(imkit_partition_options_set_edge, get(), edge, fill);
        return *this;
    }
    /// Selects and orders channels (empty = all).
    PartitionOptions &channels(const std::vector<int64_t> &bands) {
        detail::call(imkit_partition_options_set_channels, get(), bands.data(), bands.size());
        return *this;
    }
    /// Opens 3-D NPY arrays as (depth, height, width) volumes instead of (height, width, channels) images.
    PartitionOptions &volume(bool volume) {
        detail::call(imkit_partition_options_set_volume, get(), volume ? 1 : 0);
        return *this;
    }
    /// Decode-once cache directory for PNG sources ("" clears it: PNG streams top to bottom).
    PartitionOptions &cache_dir(const std::string &dir) {
        detail::call(imkit_partition_options_set_cache_dir, get(), dir.empty() ? nullptr : dir.c_str());
        return *this;
    }
};

/// Cells per axis of a grid.
struct GridShape {
    uint64_t rows, cols, depth;
};

/// Size and pixel layout of a partition's source (after channel selection).
struct SourceInfo {
    uint64_t width, height, slices;
    uint32_t channels;
    int32_t dtype;
};

/// Cells containing a pixel: rows [row0, row1) x columns [col0, col1).
struct CellRange {
    uint64_t row0, row1, col0, col1;
};

/// A virtual grid of cells over an image (imkit_partition). Const methods (reads included)
/// may run concurrently.
class Partition : public detail::Handle<imkit_partition, imkit_partition_free> {
public:
    using Handle::Handle;
    /// Opens an image file (PNG, TIFF; multi-page TIFF as a volume); only headers are read.
    static Partition open(const std::string &path, const PartitionOptions *options = nullptr) {
        imkit_partition *raw = nullptr;
        detail::call(imkit_partition_open, path.c_str(), opts(options), &raw);
        return Partition(raw);
    }
    /// A partition over a copy of `pixels`.
    static Partition from_buffer(const View &pixels, const PartitionOptions *options = nullptr) {
        imkit_partition *raw = nullptr;
        detail::call(imkit_partition_from_buffer, &pixels, opts(options), &raw);
        return Partition(raw);
    }
    /// Cells per axis.
    GridShape shape() const {
        GridShape g{};
        detail::call(imkit_partition_shape, cpart(), &g.rows, &g.cols, &g.depth);
        return g;
    }
    /// Step in pixels (y, x) as impart reports it.
    std::pair<double, double> step() const {
        std::pair<double, double> s{};
        detail::call(imkit_partition_step, cpart(), &s.first, &s.second);
        return s;
    }
    /// The source's size and the pixel layout reads return.
    SourceInfo source() const {
        SourceInfo i{};
        detail::call(imkit_partition_source, cpart(), &i.width, &i.height, &i.slices, &i.channels, &i.dtype);
        return i;
    }
    /// The image rectangle of cell (row, col); negative indices count from the end.
    imkit_rect cell_rect(int64_t row, int64_t col) const {
        imkit_rect r;
        detail::call(imkit_partition_cell_rect, cpart(), row, col, &r);
        return r;
    }
    /// The union rectangle of a selection and the bytes a read of it needs.
    std::pair<imkit_rect, size_t> region(const std::vector<AxisKey> &keys) const {
        std::pair<imkit_rect, size_t> out{};
        detail::call(imkit_partition_region, cpart(), keys.data(), keys.size(), &out.first, &out.second);
        return out;
    }
    /// Reads a selection into a caller buffer of `len` bytes (size from region()).
    void read_into(const std::vector<AxisKey> &keys, void *buffer, size_t len,
                   int32_t layout = IMKIT_LAYOUT_INTERLEAVED) const {
        detail::call(imkit_partition_read, cpart(), keys.data(), keys.size(), layout, buffer, len);
    }
    /// Reads a selection into a new vector of T (T must match source().dtype).
    template <class T> std::vector<T> read(const std::vector<AxisKey> &keys, int32_t layout = IMKIT_LAYOUT_INTERLEAVED) const {
        check_type<T>();
        std::vector<T> out(region(keys).second / sizeof(T));
        read_into(keys, out.data(), out.size() * sizeof(T), layout);
        return out;
    }
    /// Reads cell (row, col) into a caller buffer of `len` bytes.
    void read_cell_into(int64_t row, int64_t col, void *buffer, size_t len,
                        int32_t layout = IMKIT_LAYOUT_INTERLEAVED) const {
        detail::call(imkit_partition_read_cell, cpart(), row, col, layout, buffer, len);
    }
    /// Reads cell (row, col) into a new vector of T (T must match source().dtype).
    template <class T> std::vector<T> read_cell(int64_t row, int64_t col, int32_t layout = IMKIT_LAYOUT_INTERLEAVED) const {
        check_type<T>();
        std::vector<T> out(region({key_index(row), key_index(col)}).second / sizeof(T));
        read_cell_into(row, col, out.data(), out.size() * sizeof(T), layout);
        return out;
    }
    /// The cells containing pixel (x, y).
    CellRange cells_at(uint64_t x, uint64_t y) const {
        CellRange c{};
        detail::call(imkit_partition_cells_at, cpart(), x, y, &c.row0, &c.row1, &c.col0, &c.col1);
        return c;
    }
    /// Writes every cell into the existing directory `out_dir` (names from `name_template`,
    /// "" for tile_{row:04}_{col:04}.png) plus manifest.json. `progress` gets (cells done, total).
    void fragment(const std::string &out_dir, const std::string &name_template = "",
                  const WriteOptions *options = nullptr, const Progress &progress = {}) const {
        const imkit_partition *p = cpart();
        const imkit_write_options *o = options ? options->raw() : nullptr;
        detail::with_progress(progress, [&](imkit_progress_fn cb, void *ud) {
            return imkit_fragment(p, out_dir.c_str(), detail::opt_text(name_template), o, cb, ud);
        });
    }

private:
    const imkit_partition *cpart() const { return get(); }
    static const imkit_partition_options *opts(const PartitionOptions *o) { return o ? o->raw() : nullptr; }
    template <class T> void check_type() const {
        if (source().dtype != dtype_of<T>()) {
            throw Error(IMKIT_STATUS_MISMATCH, "the partition's samples are not of the requested C++ type");
        }
    }
};

/// Rebuilds an image from a fragment manifest, blending overlaps (IMKIT_BLEND_*).
/// `progress` gets (rows done, height); nothing is written when it cancels.
inline void stitch(const std::string &manifest, const std::string &output, int32_t blend = IMKIT_BLEND_OVERWRITE,
                   const WriteOptions *options = nullptr, const Progress &progress = {}) {
    const imkit_write_options *o = options ? options->raw() : nullptr;
    detail::with_progress(progress, [&](imkit_progress_fn cb, void *ud) {
        return imkit_stitch(manifest.c_str(), output.c_str(), blend, o, cb, ud);
    });
}

// ============================================================================ tile pipeline

/// Where a cell sits: row, col, rect (canvas), out_rect (output), input_rect (input pixels).
using TileInfo = imkit_tile_info;

/// A tile function: fill `out` (imkit's buffer, out_rect's size) from `in` (read-only). It
/// runs on imkit's worker threads, several at once only when the options say thread_safe.
/// An exception thrown inside stops the run and is rethrown by map_tiles.
using TileFn = std::function<void(const TileInfo &info, const View &in, const View &out)>;

/// Tile pipeline options (imkit_pipeline_options): setters return *this for chaining.
class PipelineOptions : public detail::Handle<imkit_pipeline_options, imkit_pipeline_options_free> {
public:
    using Handle::Handle;
    /// The defaults: cell 1024, step 1024, clip, overwrite, scale 1, not thread-safe.
    static PipelineOptions defaults() {
        imkit_pipeline_options *raw = nullptr;
        detail::call(imkit_pipeline_options_new, &raw);
        return PipelineOptions(raw);
    }
    /// Cell size in pixels.
    PipelineOptions &cell(uint64_t height, uint64_t width) {
        detail::call(imkit_pipeline_options_set_cell, get(), height, width);
        return *this;
    }
    /// Step between cells in pixels (overlap = cell - step).
    PipelineOptions &step(uint64_t y, uint64_t x) {
        detail::call(imkit_pipeline_options_set_step, get(), y, x);
        return *this;
    }
    /// Edge policy (IMKIT_PARTITION_EDGE_*).
    PipelineOptions &edge(int32_t edge) {
        detail::call(imkit_pipeline_options_set_edge, get(), edge);
        return *this;
    }
    /// Blend mode of overlaps (IMKIT_BLEND_*).
    PipelineOptions &blend(int32_t blend) {
        detail::call(imkit_pipeline_options_set_blend, get(), blend);
        return *this;
    }
    /// Output tiles are `k` times the cells.
    PipelineOptions &scale(uint64_t k) {
        detail::call(imkit_pipeline_options_set_scale, get(), k);
        return *this;
    }
    /// Output sample type (IMKIT_DTYPE_*) and channels.
    PipelineOptions &output_format(int32_t dtype, uint32_t channels) {
        detail::call(imkit_pipeline_options_set_output_format, get(), dtype, channels);
        return *this;
    }
    /// Canvas growth in input pixels.
    PipelineOptions &grow(uint64_t top, uint64_t right, uint64_t bottom, uint64_t left) {
        detail::call(imkit_pipeline_options_set_grow, get(), top, right, bottom, left);
        return *this;
    }
    /// Fill value outside the input.
    PipelineOptions &fill(double value) {
        detail::call(imkit_pipeline_options_set_fill, get(), value);
        return *this;
    }
    /// Whether the tile function may run on several threads at once.
    PipelineOptions &thread_safe(bool yes) {
        detail::call(imkit_pipeline_options_set_thread_safe, get(), yes);
        return *this;
    }
    /// Declares that the tile function writes every byte of its output tile, which then
    /// starts with unspecified contents instead of a copy of the input (one pass saved).
    PipelineOptions &output_overwritten(bool yes) {
        detail::call(imkit_pipeline_options_set_output_overwritten, get(), yes);
        return *this;
    }
    /// Encoder options of the output file (copied).
    PipelineOptions &write_options(const WriteOptions &options) {
        detail::call(imkit_pipeline_options_set_write_options, get(),
                     static_cast<const imkit_write_options *>(options.raw()));
        return *this;
    }
};

namespace detail {

/// State shared with the tile trampoline during one map_tiles call: the exception of each
/// failed cell, so the one imkit reports (the first in grid order) is the one rethrown.
struct TileContext {
    const TileFn *fn;
    std::mutex lock;
    std::map<std::pair<uint64_t, uint64_t>, std::exception_ptr> errors;
};

/// The C tile function: never lets an exception escape into imkit.
extern "C" inline int32_t imkit_cpp_tile_trampoline(void *user_data, const imkit_tile_info *info,
                                                    const imkit_image_view *in, const imkit_image_view *out) {
    TileContext *ctx = static_cast<TileContext *>(user_data);
    int32_t code = IMKIT_STATUS_BAD_STATE;
    std::exception_ptr error;
    try {
        (*ctx->fn)(*info, *in, *out);
        return 0;
    } catch (const Error &e) {
        code = e.code() != IMKIT_STATUS_OK ? e.code() : code;
        error = std::current_exception();
    } catch (...) {
        error = std::current_exception();
    }
    try {
        std::lock_guard<std::mutex> guard(ctx->lock);
        ctx->errors[{info->row, info->col}] = error;
    } catch (...) { // no memory for the record: the status still stops the run
    }
    return code;
}

} // namespace detail

/// Streams the image file `input` through `fn` cell by cell into the blended file `output`
/// (imkit_map_tiles). An exception thrown by `fn` is rethrown here (the one of the first
/// failing cell in grid order); other failures throw Error. No output is left on failure.
/// `progress` gets (cells done, total) on the calling thread.
inline void map_tiles(const std::string &input, const std::string &output, const TileFn &fn,
                      const PipelineOptions *options = nullptr, const Progress &progress = {}) {
    detail::TileContext ctx;
    ctx.fn = &fn;
    imkit_tile_info failed{};
    const imkit_pipeline_options *o = options ? options->raw() : nullptr;
    detail::with_progress(progress, [&](imkit_progress_fn cb, void *ud) {
        imkit_status st = imkit_map_tiles(input.c_str(), output.c_str(), o, detail::imkit_cpp_tile_trampoline,
                                          &ctx, cb, ud, &failed);
        auto thrown = ctx.errors.find({failed.row, failed.col});
        if (st != IMKIT_STATUS_OK && thrown != ctx.errors.end()) {
            std::rethrow_exception(thrown->second);
        }
        return st;
    });
}

// ============================================================================ IID files

/// A box: rows [minr, maxr), columns [minc, maxc).
using IidBBox = imkit_iid_bbox;
/// One overlap-graph edge: keys a < b share `pixels` pixels.
using IidEdge = imkit_iid_overlap;
/// A segment's box, area, region count and mask sizes.
using IidSegmentInfo = imkit_iid_segment_info;

/// Area bounds for IidFile::filter.
struct IidAreaRange {
    uint64_t min = 0;
    uint64_t max = UINT64_MAX;
    bool exclusive = false;
};

/// A region of a segment: its box in image coordinates and its pixel count.
struct IidRegion {
    IidBBox bbox;
    uint64_t area;
};

/// The overlap graph of an IID file (imkit_iid_graph).
class IidGraph : public detail::Handle<imkit_iid_graph, imkit_iid_graph_free> {
public:
    using Handle::Handle;
    /// Node keys, ascending.
    std::vector<uint32_t> nodes() const {
        const imkit_iid_graph *g = get();
        return detail::two_call<uint32_t>(
            [&](uint32_t *b, size_t cap, size_t *n) { return imkit_iid_graph_nodes(g, b, cap, n); });
    }
    /// Edges sorted by (a, b).
    std::vector<IidEdge> edges() const {
        const imkit_iid_graph *g = get();
        return detail::two_call<IidEdge>(
            [&](IidEdge *b, size_t cap, size_t *n) { return imkit_iid_graph_edges(g, b, cap, n); });
    }
};

namespace detail {

/// imkit_iid_bytes over each string of `v` (which must outlive the result).
inline std::vector<imkit_iid_bytes> iid_bytes(const std::vector<std::string> &v) {
    std::vector<imkit_iid_bytes> out;
    out.reserve(v.size());
    for (const std::string &s : v) {
        out.push_back(imkit_iid_bytes{reinterpret_cast<const uint8_t *>(s.data()), s.size()});
    }
    return out;
}

} // namespace detail

/// An open, immutable .iid segmentation file (imkit_iid_file). Const methods may run
/// concurrently from several threads.
class IidFile : public detail::Handle<imkit_iid_file, imkit_iid_file_free> {
public:
    using Handle::Handle;
    /// Opens and validates a file (memory-mapped read-only).
    static IidFile open(const std::string &path) {
        imkit_iid_file *raw = nullptr;
        detail::call(imkit_iid_file_open, path.c_str(), &raw);
        return IidFile(raw);
    }
    /// Opens a file held in memory (the bytes are copied).
    static IidFile from_buffer(const void *data, size_t len) {
        imkit_iid_file *raw = nullptr;
        detail::call(imkit_iid_file_open_buffer, static_cast<const uint8_t *>(data), len, &raw);
        return IidFile(raw);
    }
    /// Number of entries (keys 0 .. count-1).
    size_t count() const {
        size_t n = 0;
        detail::call(imkit_iid_file_count, cfile(), &n);
        return n;
    }
    /// Checks every record; throws Error (IMKIT_STATUS_FORMAT) on the first problem.
    void validate() const { detail::call(imkit_iid_file_validate, cfile()); }
    /// Entry `key`'s address bytes. Borrowed: valid while this file lives.
    std::string_view address(uint32_t key) const { return bytes(imkit_iid_file_address, key); }
    /// Entry `key`'s domain bytes (empty when absent). Borrowed like address().
    std::string_view domain(uint32_t key) const { return bytes(imkit_iid_file_domain, key); }
    /// Box, area, region count and mask sizes of entry `key`.
    IidSegmentInfo segment_info(uint32_t key) const {
        IidSegmentInfo s;
        detail::call(imkit_iid_file_segment_info, cfile(), key, &s);
        return s;
    }
    /// Region `index` of entry `key`.
    IidRegion region_info(uint32_t key, size_t index) const {
        IidRegion r{};
        detail::call(imkit_iid_file_region_info, cfile(), key, index, &r.bbox, &r.area);
        return r;
    }
    /// Entry `key`'s mask over its box, row-major: one byte (0/1) per pixel, or packed bits
    /// (MSB first, rows not byte-aligned) when `packed`.
    std::vector<uint8_t> mask(uint32_t key, bool packed = false) const {
        IidSegmentInfo s = segment_info(key);
        std::vector<uint8_t> out(static_cast<size_t>(packed ? s.mask_packed_bytes : s.mask_bytes));
        size_t needed = 0;
        detail::call(imkit_iid_file_mask, cfile(), key, packed, out.data(), out.size(), &needed);
        out.resize(needed);
        return out;
    }
    /// The meta JSON text as stored.
    std::string meta_json() const {
        const imkit_iid_file *f = cfile();
        return detail::text([&](char *b, size_t len, size_t *need) { return imkit_iid_file_meta_json(f, b, len, need); });
    }
    /// Group names in file order.
    std::vector<std::string> groups() const {
        const imkit_iid_file *f = cfile();
        size_t n = 0;
        detail::call(imkit_iid_file_group_count, f, &n);
        std::vector<std::string> out;
        for (size_t i = 0; i < n; i++) {
            out.push_back(detail::text(
                [&](char *b, size_t len, size_t *need) { return imkit_iid_file_group_name(f, i, b, len, need); }));
        }
        return out;
    }
    /// Every key, with labels/segments checked when asked.
    std::vector<uint32_t> fetch_all(bool iids = false, bool segments = false) const {
        return fetch(IMKIT_IID_SELECT_ALL, nullptr, 0, {}, iids, segments);
    }
    /// The given keys (duplicates collapse; a missing key throws OUT_OF_BOUNDS).
    std::vector<uint32_t> fetch_keys(const std::vector<uint64_t> &keys, bool iids = false, bool segments = false) const {
        return fetch(IMKIT_IID_SELECT_KEYS, keys.data(), keys.size(), {}, iids, segments);
    }
    /// The union of the named groups.
    std::vector<uint32_t> fetch_groups(const std::vector<std::string> &groups, bool iids = false,
                                       bool segments = false) const {
        return fetch(IMKIT_IID_SELECT_GROUPS, nullptr, 0, groups, iids, segments);
    }
    /// Keys whose address is one of `addresses`, restricted to `domains` and `groups` when
    /// non-empty.
    std::vector<uint32_t> look_for(const std::vector<std::string> &addresses, const std::vector<std::string> &domains = {},
                                   const std::vector<std::string> &groups = {}) const {
        const imkit_iid_file *f = cfile();
        auto a = detail::iid_bytes(addresses);
        auto d = detail::iid_bytes(domains);
        auto g = detail::c_strings(groups);
        return detail::two_call<uint32_t>([&](uint32_t *b, size_t cap, size_t *n) {
            return imkit_iid_file_look_for(f, a.data(), a.size(), d.data(), d.size(), g.data(), g.size(), b, cap, n);
        });
    }
    /// Keys in the union of `groups` (all if empty), with a domain among `domains` (any if
    /// empty) and an area within `area` (any if NULL).
    std::vector<uint32_t> filter(const std::vector<std::string> &groups = {}, const std::vector<std::string> &domains = {},
                                 const IidAreaRange *area = nullptr) const {
        const imkit_iid_file *f = cfile();
        auto d = detail::iid_bytes(domains);
        auto g = detail::c_strings(groups);
        imkit_iid_area_range range{};
        if (area) {
            range.min = area->min;
            range.max = area->max;
            range.exclusive = area->exclusive;
        }
        const imkit_iid_area_range *rp = area ? &range : nullptr;
        return detail::two_call<uint32_t>([&](uint32_t *b, size_t cap, size_t *n) {
            return imkit_iid_file_filter(f, g.data(), g.size(), d.data(), d.size(), rp, b, cap, n);
        });
    }
    /// Keys with a true pixel inside `box`.
    std::vector<uint32_t> region(const IidBBox &box) const {
        const imkit_iid_file *f = cfile();
        return detail::two_call<uint32_t>(
            [&](uint32_t *b, size_t cap, size_t *n) { return imkit_iid_file_region(f, &box, b, cap, n); });
    }
    /// Keys whose mask has pixel (row, col) set.
    std::vector<uint32_t> at(int64_t row, int64_t col) const {
        const imkit_iid_file *f = cfile();
        return detail::two_call<uint32_t>(
            [&](uint32_t *b, size_t cap, size_t *n) { return imkit_iid_file_at(f, row, col, b, cap, n); });
    }
    /// The reference's at(x, y) (2x2 block rows y-1..y, columns x-1..x), for compatibility.
    std::vector<uint32_t> at_compat(int64_t x, int64_t y) const {
        const imkit_iid_file *f = cfile();
        return detail::two_call<uint32_t>(
            [&](uint32_t *b, size_t cap, size_t *n) { return imkit_iid_file_at_compat(f, x, y, b, cap, n); });
    }
    /// The overlap graph over every entry.
    IidGraph overlap_graph() const { return graph(true, {}); }
    /// The overlap graph over the given keys.
    IidGraph overlap_graph(const std::vector<uint64_t> &keys) const { return graph(false, keys); }

private:
    const imkit_iid_file *cfile() const { return get(); }

    template <class F> std::string_view bytes(F f, uint32_t key) const {
        const uint8_t *data = nullptr;
        size_t len = 0;
        detail::call(f, cfile(), key, &data, &len);
        return std::string_view(reinterpret_cast<const char *>(data), len);
    }

    std::vector<uint32_t> fetch(int32_t select, const uint64_t *keys, size_t nkeys,
                                const std::vector<std::string> &groups, bool iids, bool segments) const {
        const imkit_iid_file *f = cfile();
        auto g = detail::c_strings(groups);
        return detail::two_call<uint32_t>([&](uint32_t *b, size_t cap, size_t *n) {
            return imkit_iid_file_fetch(f, select, keys, nkeys, g.data(), g.size(), iids, segments, b, cap, n);
        });
    }

    IidGraph graph(bool all, const std::vector<uint64_t> &keys) const {
        imkit_iid_graph *raw = nullptr;
        detail::call(imkit_iid_file_overlap_graph, cfile(), all, keys.data(), keys.size(), &raw);
        return IidGraph(raw);
    }
};

/// Builds a .iid file (imkit_iid_writer). Not to be used from two threads at once.
class IidWriter : public detail::Handle<imkit_iid_writer, imkit_iid_writer_free> {
public:
    using Handle::Handle;
    /// An empty writer (no entry, no group, meta {}).
    static IidWriter create() {
        imkit_iid_writer *raw = nullptr;
        detail::call(imkit_iid_writer_new, &raw);
        return IidWriter(raw);
    }
    /// A writer holding a copy of every entry, group and the meta of `file`.
    static IidWriter from_file(const IidFile &file) {
        imkit_iid_writer *raw = nullptr;
        detail::call(imkit_iid_writer_from_file, static_cast<const imkit_iid_file *>(file.raw()), &raw);
        return IidWriter(raw);
    }
    /// Adds an entry whose mask (one byte per pixel, row-major; or packed bits when
    /// `mask_format` is IMKIT_IID_MASK_FORMAT_PACKED) covers exactly `box`; returns its key.
    uint32_t add(std::string_view address, std::string_view domain, const IidBBox &box, const std::vector<uint8_t> &mask,
                 int32_t mask_format = IMKIT_IID_MASK_FORMAT_BYTES) {
        uint32_t key = 0;
        detail::call(imkit_iid_writer_add, get(), reinterpret_cast<const uint8_t *>(address.data()), address.size(),
                     reinterpret_cast<const uint8_t *>(domain.data()), domain.size(), &box, mask.data(), mask.size(),
                     mask_format, &key);
        return key;
    }
    /// Adds entry `key` to group `name` (created if needed).
    void add_to_group(const std::string &name, uint32_t key) {
        detail::call(imkit_iid_writer_add_to_group, get(), name.c_str(), key);
    }
    /// Sets the meta from JSON text.
    void set_meta_json(const std::string &json) { detail::call(imkit_iid_writer_set_meta_json, get(), json.c_str()); }
    /// Entries added so far.
    size_t count() const {
        size_t n = 0;
        detail::call(imkit_iid_writer_count, static_cast<const imkit_iid_writer *>(get()), &n);
        return n;
    }
    /// Writes the file atomically; the writer stays usable.
    void save(const std::string &path) const {
        detail::call(imkit_iid_writer_save, static_cast<const imkit_iid_writer *>(get()), path.c_str());
    }
};

} // namespace imkit

#endif // IMKIT_HPP
