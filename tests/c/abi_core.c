/* Library-wide ABI checks: versions, status names, last-error rules, the panic boundary. */
#include <stdio.h>
#include <string.h>

#include "imkit.h"

/* Exported only with the test-hooks feature (not in the header). */
imkit_status imkit__test_panic(void);

static int failures = 0;
#define EXPECT(cond)                                              \
    do {                                                          \
        if (!(cond)) {                                            \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                           \
        }                                                         \
    } while (0)

#define NAME_MATCHES(code) EXPECT(strncmp(imkit_status_str(code), #code ":", strlen(#code ":")) == 0)

int main(void) {
    EXPECT(imkit_version() == IMKIT_VERSION_NUMBER);
    EXPECT(strcmp(imkit_version_string(), IMKIT_VERSION_STRING) == 0);
    EXPECT(imkit_abi_version() == IMKIT_ABI_VERSION);

    NAME_MATCHES(IMKIT_STATUS_OK);
    NAME_MATCHES(IMKIT_STATUS_INVALID_ARG);
    NAME_MATCHES(IMKIT_STATUS_NULL_ARG);
    NAME_MATCHES(IMKIT_STATUS_INVALID_HANDLE);
    NAME_MATCHES(IMKIT_STATUS_OUT_OF_BOUNDS);
    NAME_MATCHES(IMKIT_STATUS_BUFFER_TOO_SMALL);
    NAME_MATCHES(IMKIT_STATUS_MISMATCH);
    NAME_MATCHES(IMKIT_STATUS_IO);
    NAME_MATCHES(IMKIT_STATUS_FORMAT);
    NAME_MATCHES(IMKIT_STATUS_UNSUPPORTED);
    NAME_MATCHES(IMKIT_STATUS_TOO_LARGE);
    NAME_MATCHES(IMKIT_STATUS_BAD_STATE);
    NAME_MATCHES(IMKIT_STATUS_WOULD_BLOCK);
    NAME_MATCHES(IMKIT_STATUS_CANCELLED);
    NAME_MATCHES(IMKIT_STATUS_NO_MEMORY);
    NAME_MATCHES(IMKIT_STATUS_INTERNAL);
    NAME_MATCHES(IMKIT_STATUS_PANIC);
    EXPECT(strncmp(imkit_status_str(12345), "IMKIT_STATUS_UNKNOWN", 20) == 0);

    /* No failure yet on this thread: empty message. */
    EXPECT(strcmp(imkit_last_error_message(), "") == 0);

    /* The panic boundary holds, twice, and the process goes on. */
    for (int i = 0; i < 2; i++) {
        EXPECT(imkit__test_panic() == IMKIT_STATUS_PANIC);
        EXPECT(strstr(imkit_last_error_message(), "test hook panic") != NULL);
    }

    /* Two-call copy of the message; the copy itself never changes it. */
    size_t needed = 0;
    EXPECT(imkit_last_error_copy(NULL, 0, &needed) == IMKIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(needed == strlen(imkit_last_error_message()) + 1);
    char small[4];
    EXPECT(imkit_last_error_copy(small, sizeof small, &needed) == IMKIT_STATUS_BUFFER_TOO_SMALL);
    char buf[256];
    EXPECT(imkit_last_error_copy(buf, sizeof buf, &needed) == IMKIT_STATUS_OK);
    EXPECT(strcmp(buf, imkit_last_error_message()) == 0);

    /* A successful call does not clear the message; it only explains failures. */
    size_t threads = 0;
    EXPECT(imkit_get_num_threads(&threads) == IMKIT_STATUS_OK && threads >= 1);
    EXPECT(imkit_set_num_threads(2) == IMKIT_STATUS_OK);
    EXPECT(imkit_get_num_threads(&threads) == IMKIT_STATUS_OK && threads == 2);
    EXPECT(imkit_set_num_threads(1000000) == IMKIT_STATUS_INVALID_ARG);
    EXPECT(strstr(imkit_last_error_message(), "thread count") != NULL);
    EXPECT(imkit_get_num_threads(NULL) == IMKIT_STATUS_NULL_ARG);
    EXPECT(strstr(imkit_last_error_message(), "`out`") != NULL);

    /* The size limit for input-sized buffers: default 2^32 samples, 0 restores it. */
    EXPECT(imkit_get_max_pixels() == ((uint64_t)1 << 32));
    imkit_set_max_pixels(1000);
    EXPECT(imkit_get_max_pixels() == 1000);
    imkit_set_max_pixels(0);
    EXPECT(imkit_get_max_pixels() == ((uint64_t)1 << 32));

    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("abi_core: ok\n");
    return 0;
}
