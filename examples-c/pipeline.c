/* The tile pipeline through the imkit C API: image -> cells -> your function -> blended file.
 *
 * Usage: pipeline WORKDIR [FIXTURES]
 * Makes a 300x200 RGB PNG, then streams it through imkit_map_tiles three times:
 *   1. an inverting function on 64x64 cells overlapping by 16, linear feathering: the result
 *      is exactly the inverted image (overlapping tiles agree, so blending changes nothing);
 *   2. a 2x nearest-neighbour upscaler declared thread-safe;
 *   3. a function that fails on cell (1, 2): the call returns its status, names the cell and
 *      leaves no output file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imkit.h"

#define W 300
#define H 200

static int fail(const char *what, imkit_status status) {
    fprintf(stderr, "%s failed: %s\n  %s\n", what, imkit_status_str(status), imkit_last_error_message());
    return 1;
}

#define CHECK(call)                                        \
    do {                                                   \
        imkit_status s_ = (call);                          \
        if (s_ != IMKIT_STATUS_OK) return fail(#call, s_); \
    } while (0)

/* Inverts every sample of the cell (output starts as a copy of the input). */
static int32_t invert(void *user_data, const imkit_tile_info *info, const imkit_image_view *in,
                      const imkit_image_view *out) {
    int *calls = (int *)user_data; /* not thread-safe: the options say so, calls are serialized */
    (void)info;
    (void)in;
    *calls += 1;
    for (uint64_t y = 0; y < out->height; y++) {
        unsigned char *row = (unsigned char *)out->data + y * out->row_stride_bytes;
        for (uint64_t i = 0; i < out->width * out->channels; i++) row[i] = (unsigned char)(255 - row[i]);
    }
    return 0;
}

/* Nearest-neighbour 2x: output pixel (x, y) is input pixel (x / 2, y / 2). */
static int32_t upscale2(void *user_data, const imkit_tile_info *info, const imkit_image_view *in,
                        const imkit_image_view *out) {
    (void)user_data;
    (void)info;
    for (uint64_t y = 0; y < out->height; y++) {
        const unsigned char *src = (const unsigned char *)in->data + (y / 2) * in->row_stride_bytes;
        unsigned char *dst = (unsigned char *)out->data + y * out->row_stride_bytes;
        for (uint64_t x = 0; x < out->width; x++) memcpy(dst + x * 3, src + (x / 2) * 3, 3);
    }
    return 0;
}

static int32_t refuse_one(void *user_data, const imkit_tile_info *info, const imkit_image_view *in,
                          const imkit_image_view *out) {
    (void)user_data;
    (void)in;
    (void)out;
    return (info->row == 1 && info->col == 2) ? IMKIT_STATUS_FORMAT : 0;
}

static int read_back(const char *path, imkit_image **img, imkit_image_view *view) {
    CHECK(imkit_image_read(path, img));
    CHECK(imkit_image_get_view(*img, view));
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s WORKDIR [FIXTURES]\n", argv[0]);
        return 2;
    }
    char src[1024], inverted[1024], big[1024], failed[1024];
    snprintf(src, sizeof src, "%s/pipeline_in.png", argv[1]);
    snprintf(inverted, sizeof inverted, "%s/pipeline_inverted.png", argv[1]);
    snprintf(big, sizeof big, "%s/pipeline_2x.png", argv[1]);
    snprintf(failed, sizeof failed, "%s/pipeline_failed.png", argv[1]);

    unsigned char *pixels = malloc(W * H * 3);
    if (!pixels) return 1;
    for (int i = 0; i < W * H * 3; i++) pixels[i] = (unsigned char)((i * 7 + i / 901) & 0xff);
    imkit_image_view view = {pixels, W, H, 0, 3, IMKIT_DTYPE_U8};
    CHECK(imkit_image_write(src, &view, NULL));

    /* 1. Inversion, feathered seams. */
    imkit_pipeline_options *opts = NULL;
    CHECK(imkit_pipeline_options_new(&opts));
    CHECK(imkit_pipeline_options_set_cell(opts, 64, 64));
    CHECK(imkit_pipeline_options_set_step(opts, 48, 48));
    CHECK(imkit_pipeline_options_set_blend(opts, IMKIT_BLEND_LINEAR));
    int calls = 0;
    CHECK(imkit_map_tiles(src, inverted, opts, invert, &calls, NULL, NULL, NULL));
    imkit_image *img = NULL;
    imkit_image_view got;
    if (read_back(inverted, &img, &got)) return 1;
    const unsigned char *p = (const unsigned char *)got.data;
    for (int i = 0; i < W * H * 3; i++) {
        if (p[i] != 255 - pixels[i]) {
            fprintf(stderr, "sample %d: %d, expected %d\n", i, p[i], 255 - pixels[i]);
            return 1;
        }
    }
    imkit_image_free(img);
    printf("inverted %dx%d in %d tile calls: exact\n", W, H, calls);

    /* 2. A 2x upscaler running on several threads. */
    CHECK(imkit_pipeline_options_set_scale(opts, 2));
    CHECK(imkit_pipeline_options_set_thread_safe(opts, true));
    CHECK(imkit_map_tiles(src, big, opts, upscale2, NULL, NULL, NULL, NULL));
    if (read_back(big, &img, &got)) return 1;
    if (got.width != 2 * W || got.height != 2 * H) {
        fprintf(stderr, "2x output is %llux%llu\n", (unsigned long long)got.width, (unsigned long long)got.height);
        return 1;
    }
    for (uint64_t y = 0; y < got.height; y++) {
        const unsigned char *row = (const unsigned char *)got.data + y * got.row_stride_bytes;
        for (uint64_t x = 0; x < got.width; x++) {
            if (memcmp(row + x * 3, pixels + ((y / 2) * W + x / 2) * 3, 3) != 0) {
                fprintf(stderr, "2x pixel (%llu, %llu) differs\n", (unsigned long long)x, (unsigned long long)y);
                return 1;
            }
        }
    }
    imkit_image_free(img);
    printf("upscaled to %llux%llu: exact\n", (unsigned long long)got.width, (unsigned long long)got.height);

    /* 3. A failing function: its status comes back with the cell; no file is left. */
    CHECK(imkit_pipeline_options_set_scale(opts, 1));
    imkit_tile_info where;
    memset(&where, 0, sizeof where);
    imkit_status s = imkit_map_tiles(src, failed, opts, refuse_one, NULL, NULL, NULL, &where);
    if (s != IMKIT_STATUS_FORMAT || where.row != 1 || where.col != 2 || where.rect.left != 96) {
        fprintf(stderr, "expected FORMAT at cell (1, 2), got %s at (%llu, %llu)\n", imkit_status_str(s),
                (unsigned long long)where.row, (unsigned long long)where.col);
        return 1;
    }
    FILE *f = fopen(failed, "rb");
    if (f) {
        fclose(f);
        fprintf(stderr, "a failed run left %s behind\n", failed);
        return 1;
    }
    printf("failure reported: %s\n", imkit_last_error_message());

    imkit_pipeline_options_free(opts);
    free(pixels);
    return 0;
}
