// C++ binding tests: the tile pipeline with a lambda, an upscaler, and exceptions carried
// out of the tile function and rethrown by map_tiles.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "imkit.hpp"

void test_pipeline(const std::string &dir) {
    const uint64_t w = 200, h = 150;
    imkit::Pixels<uint8_t> px(w, h, 3);
    for (size_t i = 0; i < px.data.size(); i++) px.data[i] = static_cast<uint8_t>(i * 13 + i / 777);
    const std::string src = dir + "/pipe_in.png";
    imkit::write_image(src, px.view());

    // A lambda inverting each cell, feathered seams: exactly the inverted image.
    imkit::PipelineOptions opts = imkit::PipelineOptions::defaults();
    opts.cell(64, 64).step(48, 48).blend(IMKIT_BLEND_LINEAR).thread_safe(true);
    const std::string inverted = dir + "/pipe_inverted.png";
    uint64_t calls_seen = 0;
    imkit::map_tiles(
        src, inverted,
        [](const imkit::TileInfo &, const imkit::View &, const imkit::View &out) {
            for (uint64_t y = 0; y < out.height; y++) {
                uint8_t *row = static_cast<uint8_t *>(out.data) + y * out.row_stride_bytes;
                for (uint64_t i = 0; i < out.width * out.channels; i++) row[i] = static_cast<uint8_t>(255 - row[i]);
            }
        },
        &opts, [&](uint64_t done, uint64_t total) {
            calls_seen = done;
            return done <= total;
        });
    imkit::Image img = imkit::Image::read(inverted);
    imkit::View v = img.view();
    const uint8_t *got = static_cast<const uint8_t *>(v.data);
    for (size_t i = 0; i < px.data.size(); i++) CHECK(got[i] == 255 - px.data[i]);
    CHECK(calls_seen == 12);

    // The same inversion computed from the input, declared to write every byte: the output
    // tiles start from recycled buffers and the file is byte for byte the one above.
    imkit::PipelineOptions overwriting = imkit::PipelineOptions::defaults();
    overwriting.cell(64, 64).step(48, 48).blend(IMKIT_BLEND_LINEAR).thread_safe(true).output_overwritten(true);
    const std::string overwritten = dir + "/pipe_overwritten.png";
    imkit::map_tiles(src, overwritten, [](const imkit::TileInfo &, const imkit::View &in, const imkit::View &out) {
        for (uint64_t y = 0; y < out.height; y++) {
            const uint8_t *s = static_cast<const uint8_t *>(in.data) + y * in.row_stride_bytes;
            uint8_t *d = static_cast<uint8_t *>(out.data) + y * out.row_stride_bytes;
            for (uint64_t i = 0; i < out.width * out.channels; i++) d[i] = static_cast<uint8_t>(255 - s[i]);
        }
    }, &overwriting);
    imkit::Image again = imkit::Image::read(overwritten);
    const uint8_t *again_px = static_cast<const uint8_t *>(again.view().data);
    for (size_t i = 0; i < px.data.size(); i++) CHECK(again_px[i] == got[i]);

    // A 2x upscaler.
    opts.scale(2);
    const std::string big = dir + "/pipe_2x.png";
    imkit::map_tiles(src, big, [](const imkit::TileInfo &info, const imkit::View &in, const imkit::View &out) {
        CHECK(out.width == 2 * in.width && info.out_rect.left == 2 * info.rect.left);
        for (uint64_t y = 0; y < out.height; y++) {
            const uint8_t *s = static_cast<const uint8_t *>(in.data) + (y / 2) * in.row_stride_bytes;
            uint8_t *d = static_cast<uint8_t *>(out.data) + y * out.row_stride_bytes;
            for (uint64_t x = 0; x < out.width; x++) std::memcpy(d + 3 * x, s + 3 * (x / 2), 3);
        }
    }, &opts);
    imkit::Image up = imkit::Image::read(big);
    CHECK(up.view().width == 2 * w && up.view().height == 2 * h);

    // An exception in the function comes back out as itself, no output left behind.
    opts.scale(1);
    const std::string failed = dir + "/pipe_failed.png";
    struct ModelError : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    try {
        imkit::map_tiles(src, failed, [](const imkit::TileInfo &info, const imkit::View &, const imkit::View &) {
            if (info.row >= 1 && info.col >= 2) throw ModelError("cell " + std::to_string(info.row) + "," + std::to_string(info.col));
        }, &opts);
        CHECK(false);
    } catch (const ModelError &e) {
        CHECK(std::string(e.what()) == "cell 1,2");
    }
    CHECK(std::fopen(failed.c_str(), "rb") == nullptr);
    // imkit::Error thrown inside keeps its status.
    std::string msg = CHECK_THROWS(imkit::map_tiles(src, failed, [](const imkit::TileInfo &, const imkit::View &, const imkit::View &) {
        throw imkit::Error(IMKIT_STATUS_UNSUPPORTED, "no GPU");
    }, &opts), IMKIT_STATUS_UNSUPPORTED);
    CHECK(msg == "no GPU");
    std::printf("pipeline: inverted, upscaled to %llux%llu, exceptions carried out\n",
                static_cast<unsigned long long>(up.view().width), static_cast<unsigned long long>(up.view().height));
}
