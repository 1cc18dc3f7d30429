// C++ binding tests: library functions, errors, handles, images and tiling.
// Usage: test_main WORKDIR FIXTURES. Built with -std=c++17 -Wall -Wextra -Werror, with
// imkit.hpp included from several translation units, and run under ASan by cargo test.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "check.hpp"
#include "imkit.hpp"

static_assert(!std::is_copy_constructible<imkit::Image>::value, "handles are move-only");
static_assert(!std::is_copy_assignable<imkit::IidFile>::value, "handles are move-only");
static_assert(std::is_nothrow_move_constructible<imkit::Image>::value, "moves never throw");
static_assert(std::is_nothrow_destructible<imkit::IidWriter>::value, "destructors are noexcept");
static_assert(!std::is_convertible<imkit_image *, imkit::Image>::value, "adopting constructor is explicit");

static void test_library() {
    CHECK(imkit::abi_version() == IMKIT_ABI_VERSION);
    CHECK(imkit::version() == IMKIT_VERSION_NUMBER);
    CHECK(imkit::version_string() == IMKIT_VERSION_STRING);
    CHECK(imkit::status_str(IMKIT_STATUS_IO).rfind("IMKIT_STATUS_IO:", 0) == 0);
    imkit::set_num_threads(2);
    CHECK(imkit::num_threads() == 2);
    imkit::set_num_threads(0);
    CHECK(imkit::num_threads() >= 1);

    // The ABI check names both versions.
    imkit::detail::check_abi(IMKIT_ABI_VERSION);
    std::string msg = CHECK_THROWS(imkit::detail::check_abi(IMKIT_ABI_VERSION + 1), IMKIT_STATUS_UNSUPPORTED);
    CHECK(msg.find("ABI version " + std::to_string(IMKIT_ABI_VERSION + 1)) != std::string::npos);
    std::printf("library: version %s, ABI %u\n", imkit::version_string().c_str(), imkit::abi_version());
}

// Exported by the test-hooks build the tests link against: panics inside imkit.
extern "C" imkit_status imkit__test_panic(void);

static void test_errors(const std::string &dir) {
    // A panic inside imkit arrives as an ordinary imkit::Error; the process lives on.
    std::string panic = CHECK_THROWS(imkit::detail::call(imkit__test_panic), IMKIT_STATUS_PANIC);
    CHECK(!panic.empty());
    std::string msg = CHECK_THROWS(imkit::Image::read(dir + "/missing.png"), IMKIT_STATUS_IO);
    CHECK(msg.find("missing.png") != std::string::npos);
    try {
        (void)imkit::image_info(dir + "/missing.png");
        CHECK(false);
    } catch (const std::runtime_error &e) { // Error is a std::runtime_error; what() names the status
        CHECK(std::string(e.what()).rfind("IMKIT_STATUS_IO:", 0) == 0);
    }
    imkit::WriteOptions opts = imkit::WriteOptions::defaults();
    CHECK_THROWS(opts.png_compression(42), IMKIT_STATUS_INVALID_ARG);
    std::printf("errors: %s\n", msg.c_str());
}

static void test_handles(const std::string &dir) {
    imkit::Pixels<uint8_t> px(8, 4, 1);
    for (size_t i = 0; i < px.data.size(); i++) px.data[i] = static_cast<uint8_t>(i * 7);
    imkit::write_image(dir + "/small.png", px.view());

    imkit::Image a = imkit::Image::read(dir + "/small.png");
    imkit::Image b = std::move(a);
    CHECK(!a && a.raw() == nullptr);
    CHECK(b);
    CHECK_THROWS(a.view(), IMKIT_STATUS_NULL_ARG); // moved-from objects throw, never crash
    imkit_image *raw = b.release();
    CHECK(!b);
    imkit::Image c(raw); // adopt it back
    imkit::View v = c.view();
    CHECK(v.width == 8 && v.height == 4 && v.channels == 1 && v.dtype == IMKIT_DTYPE_U8);
    const uint8_t *p = static_cast<const uint8_t *>(v.data);
    for (size_t i = 0; i < px.data.size(); i++) CHECK(p[i] == px.data[i]);
    imkit_image_info info = imkit::image_info(dir + "/small.png");
    CHECK(info.width == 8 && info.height == 4 && info.file_format == IMKIT_FILE_FORMAT_PNG);
    std::printf("handles: move, release and adopt work\n");
}

static void test_tiling(const std::string &dir) {
    const uint64_t W = 96, H = 64;
    imkit::Pixels<uint16_t> img(W, H, 3);
    for (uint64_t y = 0; y < H; y++)
        for (uint64_t x = 0; x < W; x++)
            for (uint32_t c = 0; c < 3; c++) img.at(x, y, c) = static_cast<uint16_t>(x * 600 + y * 10 + c);

    imkit::TileSpec spec = imkit::tile_spec();
    spec.x = static_cast<int64_t>(W - 1);
    spec.y = static_cast<int64_t>(H - 1);
    spec.corner = IMKIT_CORNER_BR;
    spec.width = 16;
    spec.height = 8;
    imkit::Placement pl = imkit::place_tile(spec, W, H);
    CHECK(pl.width == 16 && pl.height == 8 && pl.rect.left == W - 16 && pl.rect.top == H - 8);

    imkit::Pixels<uint16_t> tile = imkit::extract_tile<uint16_t>(img.view(), spec);
    CHECK(tile.at(0, 0, 2) == img.at(W - 16, H - 8, 2));
    CHECK(tile.at(15, 7, 0) == img.at(W - 1, H - 1, 0));

    for (auto &s : tile.data) s = static_cast<uint16_t>(65535 - s);
    imkit_rect r = imkit::paste_tile(img.view(), tile.view(), spec);
    CHECK(r.right == W && r.bottom == H);
    CHECK(img.at(W - 1, H - 1, 0) == 65535 - ((W - 1) * 600 + (H - 1) * 10));
    CHECK(img.at(0, 0, 1) == 1);

    // A tile crossing the border is an error unless the edge policy says otherwise.
    spec.x = static_cast<int64_t>(W + 3);
    CHECK_THROWS(imkit::place_tile(spec, W, H), IMKIT_STATUS_OUT_OF_BOUNDS);
    spec.x = static_cast<int64_t>(W - 1);

    // Type mismatch: imkit never converts.
    imkit::Pixels<uint8_t> wrong(16, 8, 3);
    CHECK_THROWS(imkit::paste_tile(img.view(), wrong.view(), spec), IMKIT_STATUS_MISMATCH);

    // Files, with progress.
    std::string base = dir + "/base.png", tfile = dir + "/tile.png", out = dir + "/patched.png";
    imkit::WriteOptions opts = imkit::WriteOptions::defaults();
    opts.png_compression(1);
    imkit::write_image(base, img.view(), &opts);
    int calls = 0;
    uint64_t last_total = 0;
    imkit_rect fr = imkit::extract_tile_file(base, tfile, spec, nullptr, [&](uint64_t done, uint64_t total) {
        calls++;
        CHECK(done <= total);
        last_total = total;
        return true;
    });
    CHECK(calls > 0 && last_total > 0 && fr.left == W - 16);
    imkit::Image t = imkit::Image::read(tfile);
    imkit::View tv = t.view();
    CHECK(tv.width == 16 && tv.height == 8 && tv.dtype == IMKIT_DTYPE_U16);
    CHECK(static_cast<const uint16_t *>(tv.data)[0] == tile.data[0]);

    spec.width = 0; // take the tile's size
    spec.height = 0;
    imkit::paste_tile_file(base, tfile, out, spec, &opts);
    imkit::Image patched = imkit::Image::read(out);
    CHECK(static_cast<const uint16_t *>(patched.view().data)[0] == img.data[0]);

    // Cancelling from the callback: CANCELLED, and nothing written.
    spec.width = 16;
    spec.height = 8;
    std::string cancelled = dir + "/cancelled.png";
    CHECK_THROWS(imkit::extract_tile_file(base, cancelled, spec, nullptr, [](uint64_t, uint64_t) { return false; }),
                 IMKIT_STATUS_CANCELLED);
    CHECK(std::fopen(cancelled.c_str(), "rb") == nullptr);

    // An exception in the callback never crosses imkit: it comes back out, unchanged.
    struct Boom {
        int value;
    };
    bool caught = false;
    try {
        imkit::paste_tile_file(base, tfile, out, spec, nullptr, [](uint64_t, uint64_t) -> bool { throw Boom{7}; });
    } catch (const Boom &b) {
        caught = b.value == 7;
    }
    CHECK(caught);
    std::printf("tiling: buffers and files, %d progress calls, cancel and exceptions handled\n", calls);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s WORKDIR FIXTURES\n", argv[0]);
        return 2;
    }
    try {
        test_library();
        test_errors(argv[1]);
        test_handles(argv[1]);
        test_tiling(argv[1]);
        test_iid(argv[1], argv[2]);
        test_io(argv[1]);
        test_partition(argv[1]);
        test_pipeline(argv[1]);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        return 1;
    }
    std::printf("all C++ binding tests passed\n");
    return 0;
}
