/* Every image/tiling entry point given NULLs, freed or wrong handles, bad sizes and a
 * truncated PNG: each must return its documented status and a message, never crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imkit.h"

static int failures = 0;

static void expect_status(imkit_status got, imkit_status want, const char *what, int line) {
    if (got != want) {
        fprintf(stderr, "line %d: %s returned %s, expected %s (message: %s)\n", line, what,
                imkit_status_str(got), imkit_status_str(want), imkit_last_error_message());
        failures++;
    } else if (want != IMKIT_STATUS_OK && imkit_last_error_message()[0] == '\0') {
        fprintf(stderr, "line %d: %s failed without a message\n", line, what);
        failures++;
    }
}
#define EXPECT(call, want) expect_status((call), (want), #call, __LINE__)
#define OK(call) EXPECT(call, IMKIT_STATUS_OK)

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    char png[1024], bad[1024], out[1024];
    snprintf(png, sizeof png, "%s/good.png", dir);
    snprintf(bad, sizeof bad, "%s/truncated.png", dir);
    snprintf(out, sizeof out, "%s/out.png", dir);

    unsigned char px[16 * 16];
    for (int i = 0; i < 256; i++) px[i] = (unsigned char)i;
    imkit_image_view v = {px, 16, 16, 0, 1, IMKIT_DTYPE_U8};
    unsigned char tile_px[4 * 4];
    imkit_image_view tv = {tile_px, 4, 4, 0, 1, IMKIT_DTYPE_U8};
    imkit_tile_spec spec;
    OK(imkit_tile_spec_default(&spec));
    spec.width = 4;
    spec.height = 4;
    imkit_rect rect;
    uint64_t w, h;

    /* NULL in each pointer argument. */
    EXPECT(imkit_tile_spec_default(NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_image_write(NULL, &v, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_image_write(png, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    OK(imkit_image_write(png, &v, NULL));
    EXPECT(imkit_image_read(NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_image_read(png, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_image_get_view(NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_image_info_read(NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_image_info_read(png, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_write_options_new(NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_write_options_set_png_compression(NULL, 1), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_tile_place(NULL, 16, 16, &w, &h, &rect), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_tile_place(&spec, 16, 16, NULL, &h, &rect), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_tile_place(&spec, 16, 16, &w, NULL, &rect), IMKIT_STATUS_NULL_ARG);
    OK(imkit_tile_place(&spec, 16, 16, &w, &h, NULL));
    EXPECT(imkit_extract_tile(NULL, &spec, &tv, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_extract_tile(&v, NULL, &tv, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_extract_tile(&v, &spec, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_paste_tile(NULL, &tv, &spec, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_paste_tile(&v, NULL, &spec, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_paste_tile(&v, &tv, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_extract_tile_file(NULL, out, &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_extract_tile_file(png, NULL, &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_extract_tile_file(png, out, NULL, NULL, NULL, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_paste_tile_file(NULL, png, out, &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_paste_tile_file(png, NULL, out, &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_paste_tile_file(png, png, NULL, &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    EXPECT(imkit_paste_tile_file(png, png, out, NULL, NULL, NULL, NULL, NULL), IMKIT_STATUS_NULL_ARG);
    imkit_image_view null_data = {NULL, 16, 16, 0, 1, IMKIT_DTYPE_U8};
    EXPECT(imkit_image_write(out, &null_data, NULL), IMKIT_STATUS_NULL_ARG);
    imkit_image_free(NULL);
    imkit_write_options_free(NULL);

    /* Freed and wrong-type handles. */
    imkit_image *img = NULL;
    OK(imkit_image_read(png, &img));
    imkit_image_view got;
    OK(imkit_image_get_view(img, &got));
    if (got.width != 16 || got.height != 16 || memcmp(got.data, px, sizeof px) != 0) {
        fprintf(stderr, "read back differs\n");
        failures++;
    }
    imkit_image_free(img);
    EXPECT(imkit_image_get_view(img, &got), IMKIT_STATUS_INVALID_HANDLE);
    imkit_write_options *opts = NULL;
    OK(imkit_write_options_new(&opts));
    EXPECT(imkit_image_get_view((const imkit_image *)opts, &got), IMKIT_STATUS_INVALID_HANDLE);
    EXPECT(imkit_write_options_set_png_compression(opts, 10), IMKIT_STATUS_INVALID_ARG);
    EXPECT(imkit_image_write(png, &v, (const imkit_write_options *)&spec), IMKIT_STATUS_INVALID_HANDLE);
    imkit_write_options_free(opts);
    EXPECT(imkit_write_options_set_png_compression(opts, 1), IMKIT_STATUS_INVALID_HANDLE);

    /* Bad sizes, types and codes. */
    imkit_image_view bad_stride = {px, 16, 16, 8, 1, IMKIT_DTYPE_U8};
    EXPECT(imkit_image_write(out, &bad_stride, NULL), IMKIT_STATUS_INVALID_ARG);
    imkit_image_view bad_dtype = {px, 16, 16, 0, 1, 99};
    EXPECT(imkit_image_write(out, &bad_dtype, NULL), IMKIT_STATUS_INVALID_ARG);
    imkit_image_view zero_ch = {px, 16, 16, 0, 0, IMKIT_DTYPE_U8};
    EXPECT(imkit_image_write(out, &zero_ch, NULL), IMKIT_STATUS_INVALID_ARG);
    imkit_image_view huge = {px, UINT64_MAX, UINT64_MAX, 0, 3, IMKIT_DTYPE_U8};
    EXPECT(imkit_image_write(out, &huge, NULL), IMKIT_STATUS_INVALID_ARG);
    imkit_image_view f32 = {px, 4, 4, 0, 1, IMKIT_DTYPE_F32};
    char out_png[1100];
    snprintf(out_png, sizeof out_png, "%s/f32.png", dir);
    EXPECT(imkit_image_write(out_png, &f32, NULL), IMKIT_STATUS_UNSUPPORTED);
    EXPECT(imkit_image_write("no_extension", &v, NULL), IMKIT_STATUS_INVALID_ARG);
    EXPECT(imkit_image_write("", &v, NULL), IMKIT_STATUS_INVALID_ARG);

    imkit_tile_spec s2 = spec;
    s2.corner = 42;
    EXPECT(imkit_tile_place(&s2, 16, 16, &w, &h, NULL), IMKIT_STATUS_INVALID_ARG);
    s2 = spec;
    s2.edge = -1;
    EXPECT(imkit_tile_place(&s2, 16, 16, &w, &h, NULL), IMKIT_STATUS_INVALID_ARG);
    s2 = spec;
    s2.width = 0;
    EXPECT(imkit_tile_place(&s2, 16, 16, &w, &h, NULL), IMKIT_STATUS_INVALID_ARG);
    s2 = spec;
    s2.x = 14;
    EXPECT(imkit_tile_place(&s2, 16, 16, &w, &h, NULL), IMKIT_STATUS_OUT_OF_BOUNDS);
    s2.x = INT64_MAX;
    s2.corner = IMKIT_CORNER_TL;
    EXPECT(imkit_tile_place(&s2, 16, 16, &w, &h, NULL), IMKIT_STATUS_INVALID_ARG);
    imkit_image_view small_dst = {tile_px, 3, 4, 0, 1, IMKIT_DTYPE_U8};
    EXPECT(imkit_extract_tile(&v, &spec, &small_dst, NULL), IMKIT_STATUS_MISMATCH);
    imkit_image_view u16_tile = {tile_px, 2, 4, 0, 1, IMKIT_DTYPE_U16};
    s2 = spec;
    s2.width = 2;
    EXPECT(imkit_paste_tile(&v, &u16_tile, &s2, NULL), IMKIT_STATUS_MISMATCH);
    EXPECT(imkit_paste_tile(&v, &tv, &s2, NULL), IMKIT_STATUS_MISMATCH);

    /* Files: missing, truncated, wrong output directory. */
    EXPECT(imkit_image_read("/nonexistent/imkit.png", &img), IMKIT_STATUS_IO);
    FILE *f = fopen(png, "rb");
    unsigned char bytes[4096];
    size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f) fclose(f);
    f = fopen(bad, "wb");
    if (f) {
        fwrite(bytes, 1, n / 2, f);
        fclose(f);
    }
    EXPECT(imkit_image_read(bad, &img), IMKIT_STATUS_FORMAT);
    EXPECT(imkit_extract_tile_file(bad, out, &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_FORMAT);
    s2 = spec;
    s2.width = 0; /* the tile's own size */
    s2.height = 0;
    EXPECT(imkit_paste_tile_file(bad, png, out, &s2, NULL, NULL, NULL, NULL), IMKIT_STATUS_FORMAT);
    EXPECT(imkit_paste_tile_file(png, bad, out, &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_FORMAT);
    EXPECT(imkit_extract_tile_file(png, "/nonexistent/dir/t.png", &spec, NULL, NULL, NULL, NULL), IMKIT_STATUS_IO);
    if (fopen(out, "rb") != NULL) {
        fprintf(stderr, "a failed call left %s behind\n", out);
        failures++;
    }

    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("negative_tiling: ok\n");
    return 0;
}
