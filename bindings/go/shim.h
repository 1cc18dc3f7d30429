/* C shims for the Go binding: each wraps one imkit call and copies the thread-local error
 * message within the same C call (a goroutine may change OS threads between two cgo calls).
 * The copy is malloc'ed; Go frees it. */
#ifndef IMKIT_GO_SHIM_H
#define IMKIT_GO_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imkit.h"

#if IMKIT_ABI_VERSION != 2
#error "the imkit Go binding is written for IMKIT_ABI_VERSION 2; imkit.h declares another ABI"
#endif

/* Stores a copy of the last-error message in *err when `status` is a failure. */
static inline imkit_status imkit_go_capture(imkit_status status, char **err) {
    *err = NULL;
    if (status != IMKIT_STATUS_OK) {
        *err = strdup(imkit_last_error_message());
    }
    return status;
}

#define IMKIT_GO_UNPAREN(...) __VA_ARGS__

/* Defines go_NAME(char **err, PARAMS...) calling NAME ARGS and capturing its message. */
#define IMKIT_GO_SHIM(name, params, args)                                          \
    static inline imkit_status go_##name(char **err, IMKIT_GO_UNPAREN params) {   \
        return imkit_go_capture(name args, err);                                  \
    }

/* An imkit_image_view passed as scalars, so no C struct ever holds a Go pointer. */
#define IMKIT_GO_VIEW_PARAMS(p)                                                     \
    void *p##_data, uint64_t p##_width, uint64_t p##_height, size_t p##_stride,     \
        uint32_t p##_channels, int32_t p##_dtype
#define IMKIT_GO_VIEW(p) {p##_data, p##_width, p##_height, p##_stride, p##_channels, p##_dtype}

#endif
