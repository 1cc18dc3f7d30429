/* Extract and paste tiles through the imkit C API.
 *
 * Usage: tiling WORKDIR [FIXTURES]
 * Makes a 640x480 RGB image, saves it as PNG, extracts a 128x128 tile anchored at its
 * bottom-right corner, inverts the tile, pastes it back file-to-file, and checks that every
 * pixel outside the tile is unchanged. Then does the same buffer-to-buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imkit.h"

#define W 640
#define H 480
#define T 128

static int fail(const char *what, imkit_status status) {
    fprintf(stderr, "%s failed: %s\n  %s\n", what, imkit_status_str(status), imkit_last_error_message());
    return 1;
}

#define CHECK(call)                                  \
    do {                                             \
        imkit_status s_ = (call);                    \
        if (s_ != IMKIT_STATUS_OK) return fail(#call, s_); \
    } while (0)

static int progress(void *user_data, uint64_t done, uint64_t total) {
    int *calls = (int *)user_data;
    (void)done;
    (void)total;
    *calls += 1;
    return 0; /* non-zero would cancel */
}

static int files(const char *dir, unsigned char *pixels) {
    char base[1024], tile[1024], out[1024];
    snprintf(base, sizeof base, "%s/base.png", dir);
    snprintf(tile, sizeof tile, "%s/tile.png", dir);
    snprintf(out, sizeof out, "%s/patched.png", dir);

    imkit_image_view view = {pixels, W, H, 0, 3, IMKIT_DTYPE_U8};
    CHECK(imkit_image_write(base, &view, NULL));

    imkit_tile_spec spec;
    CHECK(imkit_tile_spec_default(&spec));
    spec.x = W - 1;
    spec.y = H - 1;
    spec.corner = IMKIT_CORNER_BR;
    spec.width = T;
    spec.height = T;

    int calls = 0;
    imkit_rect rect;
    CHECK(imkit_extract_tile_file(base, tile, &spec, NULL, progress, &calls, &rect));
    printf("extracted tile (%llu, %llu, %llu, %llu) with %d progress calls\n",
           (unsigned long long)rect.left, (unsigned long long)rect.top,
           (unsigned long long)rect.right, (unsigned long long)rect.bottom, calls);

    imkit_image *t = NULL;
    CHECK(imkit_image_read(tile, &t));
    imkit_image_view tv;
    CHECK(imkit_image_get_view(t, &tv));
    if (tv.width != T || tv.height != T || tv.channels != 3 || tv.dtype != IMKIT_DTYPE_U8) {
        fprintf(stderr, "unexpected tile shape\n");
        imkit_image_free(t);
        return 1;
    }
    unsigned char *tp = (unsigned char *)tv.data;
    for (size_t i = 0; i < (size_t)T * T * 3; i++) tp[i] = (unsigned char)(255 - tp[i]);
    imkit_status st = imkit_image_write(tile, &tv, NULL);
    imkit_image_free(t);
    if (st != IMKIT_STATUS_OK) return fail("imkit_image_write(tile)", st);

    imkit_write_options *opts = NULL;
    CHECK(imkit_write_options_new(&opts));
    st = imkit_write_options_set_png_compression(opts, 6);
    if (st == IMKIT_STATUS_OK) {
        spec.width = 0; /* take the size from the tile file */
        spec.height = 0;
        st = imkit_paste_tile_file(base, tile, out, &spec, opts, NULL, NULL, &rect);
    }
    imkit_write_options_free(opts);
    if (st != IMKIT_STATUS_OK) return fail("imkit_paste_tile_file", st);

    imkit_image *result = NULL;
    CHECK(imkit_image_read(out, &result));
    imkit_image_view rv;
    st = imkit_image_get_view(result, &rv);
    int bad = 0;
    const unsigned char *r = (const unsigned char *)rv.data;
    for (int y = 0; st == IMKIT_STATUS_OK && y < H; y++) {
        for (int x = 0; x < W; x++) {
            int inside = x >= W - T && y >= H - T;
            for (int c = 0; c < 3; c++) {
                size_t i = ((size_t)y * W + x) * 3 + c;
                unsigned char want = inside ? (unsigned char)(255 - pixels[i]) : pixels[i];
                if (r[i] != want) bad++;
            }
        }
    }
    imkit_image_free(result);
    if (st != IMKIT_STATUS_OK) return fail("imkit_image_get_view", st);
    if (bad) {
        fprintf(stderr, "%d samples differ\n", bad);
        return 1;
    }
    printf("file paste exact: outside unchanged, inside inverted\n");
    return 0;
}

static int buffers(unsigned char *pixels) {
    imkit_image_view src = {pixels, W, H, 0, 3, IMKIT_DTYPE_U8};
    imkit_tile_spec spec;
    CHECK(imkit_tile_spec_default(&spec));
    spec.x = 600;
    spec.y = 450;
    spec.width = 100;
    spec.height = 60;
    spec.edge = IMKIT_TILE_EDGE_PAD;
    spec.fill = 7;

    uint64_t tw = 0, th = 0;
    imkit_rect inside;
    CHECK(imkit_tile_place(&spec, W, H, &tw, &th, &inside));
    unsigned char *tile = malloc((size_t)(tw * th * 3));
    if (!tile) return 1;
    imkit_image_view dst = {tile, tw, th, 0, 3, IMKIT_DTYPE_U8};
    imkit_status st = imkit_extract_tile(&src, &spec, &dst, NULL);
    if (st == IMKIT_STATUS_OK) {
        int ok = tile[0] == pixels[(450 * W + 600) * 3] && tile[(tw * th - 1) * 3] == 7;
        spec.edge = IMKIT_TILE_EDGE_CLIP;
        st = imkit_paste_tile(&src, &dst, &spec, &inside);
        printf("buffer extract %llux%llu (padded), paste back covers %llux%llu: %s\n",
               (unsigned long long)tw, (unsigned long long)th,
               (unsigned long long)(inside.right - inside.left),
               (unsigned long long)(inside.bottom - inside.top), ok ? "ok" : "WRONG");
        if (!ok) st = IMKIT_STATUS_INTERNAL;
    }
    free(tile);
    if (st != IMKIT_STATUS_OK) return fail("buffer extract/paste", st);
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    if (imkit_abi_version() != IMKIT_ABI_VERSION) {
        fprintf(stderr, "library ABI %u, header ABI %d\n", imkit_abi_version(), IMKIT_ABI_VERSION);
        return 1;
    }
    printf("imkit %s\n", imkit_version_string());
    unsigned char *pixels = malloc((size_t)W * H * 3);
    if (!pixels) return 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *p = pixels + ((size_t)y * W + x) * 3;
            p[0] = (unsigned char)((37 * x + 17 * y) % 256);
            p[1] = (unsigned char)((13 * x + 53 * y) % 256);
            p[2] = (unsigned char)((97 * x + 19 * y) % 256);
        }
    int rc = files(dir, pixels);
    if (rc == 0) rc = buffers(pixels);
    free(pixels);
    return rc;
}
