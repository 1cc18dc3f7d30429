/* Partition a PNG lazily, read a cell and a NumPy-style slice into caller buffers, fragment
 * it into tiles with a progress callback and stitch them back with feathering.
 * argv[1]: a writable temporary directory; argv[2]: the repository's tests/fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imkit.h"

#define CHECK(call)                                                                      \
    do {                                                                                 \
        imkit_status status_ = (call);                                                   \
        if (status_ != IMKIT_STATUS_OK) {                                                \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, imkit_status_str(status_),    \
                    imkit_last_error_message());                                         \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

static int32_t on_progress(void *user_data, uint64_t done, uint64_t total) {
    (void)total;
    *(uint64_t *)user_data = done;
    return 0;
}

int main(int argc, char **argv) {
    char image[4096], manifest[4096], output[4096];
    if (argc < 3) {
        fprintf(stderr, "usage: %s TMPDIR FIXTURES\n", argv[0]);
        return 2;
    }
    snprintf(image, sizeof image, "%s/partition/images/px_rgb8_300x200.png", argv[2]);
    snprintf(manifest, sizeof manifest, "%s/manifest.json", argv[1]);
    snprintf(output, sizeof output, "%s/stitched.png", argv[1]);

    imkit_partition_options *options = NULL;
    CHECK(imkit_partition_options_new(&options));
    CHECK(imkit_partition_options_set_cell(options, 64, 48));
    CHECK(imkit_partition_options_set_stride(options, 0.5, 0.5));
    CHECK(imkit_partition_options_set_cache_dir(options, argv[1]));
    imkit_partition *partition = NULL;
    CHECK(imkit_partition_open(image, options, &partition));
    imkit_partition_options_free(options);

    uint64_t rows = 0, cols = 0, depth = 0;
    double step_y = 0, step_x = 0;
    CHECK(imkit_partition_shape(partition, &rows, &cols, &depth));
    CHECK(imkit_partition_step(partition, &step_y, &step_x));
    printf("grid %llu x %llu cells, step %g x %g\n", (unsigned long long)rows,
           (unsigned long long)cols, step_y, step_x);

    imkit_rect rect;
    CHECK(imkit_partition_cell_rect(partition, -1, -1, &rect));
    printf("cell (-1, -1): x %llu..%llu, y %llu..%llu\n", (unsigned long long)rect.left,
           (unsigned long long)rect.right, (unsigned long long)rect.top,
           (unsigned long long)rect.bottom);

    /* rows 1:-1 (Python semantics), all columns */
    imkit_axis_key keys[2] = {
        {IMKIT_KEY_KIND_SLICE, true, true, 1, -1},
        {IMKIT_KEY_KIND_ALL, false, false, 0, 0},
    };
    size_t len = 0;
    CHECK(imkit_partition_region(partition, keys, 2, &rect, &len));
    unsigned char *buffer = malloc(len);
    if (buffer == NULL) {
        return 1;
    }
    CHECK(imkit_partition_read(partition, keys, 2, IMKIT_LAYOUT_INTERLEAVED, buffer, len));
    printf("slice [1:-1, :] is %llu x %llu pixels, %zu bytes, first pixel %u %u %u\n",
           (unsigned long long)(rect.right - rect.left),
           (unsigned long long)(rect.bottom - rect.top), len, buffer[0], buffer[1], buffer[2]);
    if (imkit_partition_read_cell(partition, 0, 0, IMKIT_LAYOUT_PLANAR, buffer, 16) !=
        IMKIT_STATUS_BUFFER_TOO_SMALL) {
        fprintf(stderr, "expected BUFFER_TOO_SMALL\n");
        return 1;
    }
    free(buffer);

    uint64_t done = 0;
    CHECK(imkit_fragment(partition, argv[1], "cell_{row:02}_{col:02}.png", NULL, on_progress,
                         &done));
    printf("fragmented %llu cells\n", (unsigned long long)done);
    imkit_partition_free(partition);

    CHECK(imkit_stitch(manifest, output, IMKIT_BLEND_LINEAR, NULL, NULL, NULL));
    printf("stitched with linear feathering: %s\n", output);
    return 0;
}
