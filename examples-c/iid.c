/* imkit .iid example: open a reference file, query it, write a new file and read it back.
 * Usage: iid TMPDIR FIXTURES_DIR   (FIXTURES_DIR = the repo's tests/fixtures) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imkit.h"

static int fail(const char *what, imkit_status st) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, imkit_status_str(st), imkit_last_error_message());
    return 1;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        imkit_status st_ = (call);                                                                 \
        if (st_ != IMKIT_STATUS_OK) {                                                              \
            rc = fail(#call, st_);                                                                 \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/* Runs at() with the two-call protocol; returns the number of keys (or -1). */
static long keys_at(const imkit_iid_file *f, int64_t row, int64_t col, uint32_t **keys) {
    size_t count = 0;
    imkit_status st = imkit_iid_file_at(f, row, col, NULL, 0, &count);
    *keys = NULL;
    if (st == IMKIT_STATUS_OK)
        return 0;
    if (st != IMKIT_STATUS_BUFFER_TOO_SMALL)
        return -1;
    *keys = malloc(count * sizeof **keys);
    if (*keys == NULL)
        return -1;
    if (imkit_iid_file_at(f, row, col, *keys, count, &count) != IMKIT_STATUS_OK) {
        free(*keys);
        *keys = NULL;
        return -1;
    }
    return (long)count;
}

int main(int argc, char **argv) {
    int rc = 0;
    imkit_iid_file *f = NULL, *g = NULL;
    imkit_iid_writer *w = NULL;
    imkit_iid_graph *graph = NULL;
    uint32_t *keys = NULL;
    char path[4096], out[4096], meta[256];
    size_t n = 0, needed = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: %s TMPDIR FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    snprintf(path, sizeof path, "%s/iid/overlapping.iid", argv[2]);
    snprintf(out, sizeof out, "%s/example.iid", argv[1]);

    CHECK(imkit_iid_file_open(path, &f));
    CHECK(imkit_iid_file_count(f, &n));
    printf("%s: %zu entries\n", path, n);

    /* Who covers pixel (row 32, column 36)? */
    {
        long k = keys_at(f, 32, 36, &keys);
        if (k < 0) {
            rc = fail("imkit_iid_file_at", IMKIT_STATUS_INTERNAL);
            goto done;
        }
        printf("pixel (row 32, column 36):");
        for (long i = 0; i < k; i++) {
            const uint8_t *addr = NULL;
            size_t len = 0;
            CHECK(imkit_iid_file_address(f, keys[i], &addr, &len));
            printf(" %u (%.*s)", keys[i], (int)len, (const char *)addr);
        }
        printf("\n");
    }

    /* The overlap graph, computed once, read with the two-call protocol. */
    CHECK(imkit_iid_file_overlap_graph(f, true, NULL, 0, &graph));
    {
        imkit_status st = imkit_iid_graph_edges(graph, NULL, 0, &n);
        if (st != IMKIT_STATUS_OK && st != IMKIT_STATUS_BUFFER_TOO_SMALL) {
            rc = fail("imkit_iid_graph_edges", st);
            goto done;
        }
        imkit_iid_overlap *edges = malloc((n ? n : 1) * sizeof *edges);
        if (edges == NULL)
            goto done;
        st = imkit_iid_graph_edges(graph, edges, n, &n);
        if (st == IMKIT_STATUS_OK && n > 0)
            printf("%zu overlapping pairs; first: %u-%u share %llu pixels\n", n, edges[0].a,
                   edges[0].b, (unsigned long long)edges[0].pixels);
        free(edges);
        if (st != IMKIT_STATUS_OK) {
            rc = fail("imkit_iid_graph_edges", st);
            goto done;
        }
    }

    /* Write a new file: one 3x4 mask (three 8-connected regions) in group "g1". */
    {
        const uint8_t mask[12] = {1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1};
        imkit_iid_bbox box = {10, 20, 13, 24};
        uint32_t key = 0;
        imkit_iid_segment_info info;
        CHECK(imkit_iid_writer_new(&w));
        CHECK(imkit_iid_writer_add(w, (const uint8_t *)"addr", 4, (const uint8_t *)"dom", 3, &box,
                                   mask, sizeof mask, IMKIT_IID_MASK_FORMAT_BYTES, &key));
        CHECK(imkit_iid_writer_add_to_group(w, "g1", key));
        CHECK(imkit_iid_writer_set_meta_json(w, "{\"source\": \"example\", \"scale\": 0.5}"));
        CHECK(imkit_iid_writer_save(w, out));
        CHECK(imkit_iid_file_open(out, &g));
        CHECK(imkit_iid_file_segment_info(g, 0, &info));
        CHECK(imkit_iid_file_meta_json(g, meta, sizeof meta, &needed));
        printf("wrote %s: area %llu in %llu regions, meta %s\n", out,
               (unsigned long long)info.area, (unsigned long long)info.region_count, meta);
        if (info.area != 4 || info.region_count != 3) {
            fprintf(stderr, "unexpected segment\n");
            rc = 1;
        }
    }

    /* A damaged file is refused with a clear message. */
    snprintf(path, sizeof path, "%s/iid/bad/lut_key_mismatch.iid", argv[2]);
    {
        imkit_iid_file *bad = NULL;
        imkit_status st = imkit_iid_file_open(path, &bad);
        printf("damaged file: %s: %s\n", imkit_status_str(st), imkit_last_error_message());
        if (st != IMKIT_STATUS_FORMAT || bad != NULL)
            rc = 1;
    }

done:
    free(keys);
    imkit_iid_graph_free(graph);
    imkit_iid_writer_free(w);
    imkit_iid_file_free(g);
    imkit_iid_file_free(f);
    return rc;
}
