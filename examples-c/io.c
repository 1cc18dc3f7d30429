/* imkit I/O from C: save an image with metadata, load it back, save arrays, use the save
 * queue and read its per-job errors. argv[1] = a writable temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imkit.h"

#define CHECK(call)                                                                    \
    do {                                                                               \
        imkit_status s_ = (call);                                                      \
        if (s_ != IMKIT_STATUS_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, #call, \
                    imkit_status_str(s_), imkit_last_error_message());                 \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(int argc, char **argv) {
    char path[4096], bad[4096];
    uint8_t pixels[16 * 8 * 3];
    imkit_image_view view;
    char *written = NULL, *meta = NULL;
    imkit_image *image = NULL;
    imkit_image_view got;
    size_t dims[4], ndim = 0, i;
    double values[6] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5};
    size_t shape[1] = {6};
    const void *data = NULL;
    size_t len = 0;
    int32_t dtype = 0;
    imkit_save_queue_options *qopts = NULL;
    imkit_save_queue *queue = NULL;
    uint64_t job = 0, failed_job = 0;
    char message[1024];
    size_t needed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argv[0]);
        return 2;
    }
    for (i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 7);
    view.data = pixels;
    view.width = 16;
    view.height = 8;
    view.row_stride_bytes = 0;
    view.channels = 3;
    view.dtype = IMKIT_DTYPE_U8;

    /* No extension: uint8 RGB goes to PNG, metadata to frame.json. */
    snprintf(path, sizeof path, "%s/frame", argv[1]);
    CHECK(imkit_save(path, &view, "{\"exposure\": 0.01, \"lens\": \"50mm\"}", NULL, &written));
    printf("saved %s\n", written);
    CHECK(imkit_load(written, &image, &meta));
    CHECK(imkit_image_get_view(image, &got));
    printf("loaded %llux%llu x%u, metadata %s", (unsigned long long)got.width,
           (unsigned long long)got.height, got.channels, meta);
    if (memcmp(got.data, pixels, sizeof pixels) != 0) {
        fprintf(stderr, "pixels differ\n");
        return 1;
    }
    imkit_image_free(image);
    imkit_string_free(meta);
    imkit_string_free(written);

    /* A 1-D float64 array goes to NPY. */
    snprintf(path, sizeof path, "%s/values", argv[1]);
    CHECK(imkit_save_array(path, values, sizeof values, IMKIT_DTYPE_F64, shape, 1, NULL, NULL,
                           NULL));
    CHECK(imkit_load(path, &image, NULL));
    CHECK(imkit_image_get_shape(image, dims, 4, &ndim));
    CHECK(imkit_image_get_data(image, &data, &len, &dtype));
    printf("array: ndim %zu, %zu values, last %.1f\n", ndim, dims[0], ((const double *)data)[5]);
    imkit_image_free(image);

    /* Background saves: 2 workers, at most 4 jobs pending; one job fails. */
    CHECK(imkit_save_queue_options_new(&qopts));
    CHECK(imkit_save_queue_options_set_threads(qopts, 2));
    CHECK(imkit_save_queue_options_set_max_pending_jobs(qopts, 4));
    CHECK(imkit_save_queue_new(qopts, &queue));
    imkit_save_queue_options_free(qopts);
    for (i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "%s/q%zu", argv[1], i);
        pixels[0] = (uint8_t)i; /* the queue copied the previous frame */
        CHECK(imkit_save_queue_push(queue, path, &view, "{\"frame\": 1}", &job));
    }
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", argv[1]);
    CHECK(imkit_save_queue_push(queue, bad, &view, NULL, &failed_job));
    if (imkit_save_queue_flush(queue) != IMKIT_STATUS_IO) {
        fprintf(stderr, "expected the flush to report the failed job\n");
        return 1;
    }
    CHECK(imkit_save_queue_next_error(queue, &job, message, sizeof message, &needed));
    printf("job %llu failed: %s\n", (unsigned long long)job, message);
    if (job != failed_job) return 1;
    CHECK(imkit_save_queue_next_error(queue, &job, message, sizeof message, &needed));
    if (job != 0) return 1; /* no more errors */
    CHECK(imkit_save_queue_close(queue));
    printf("queue closed, 10 frames written\n");
    return 0;
}
