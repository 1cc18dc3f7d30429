// A minimal assertion helper shared by the C++ binding tests.
#ifndef IMKIT_CPP_TEST_CHECK_HPP
#define IMKIT_CPP_TEST_CHECK_HPP

#include <cstdio>
#include <cstdlib>
#include <string>

#include "imkit.hpp"

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                                \
        }                                                                                \
    } while (0)

// Runs `stmt`, which must throw imkit::Error with status `expected`; returns the error message.
#define CHECK_THROWS(stmt, expected)                                                          \
    [&]() -> std::string {                                                                \
        try {                                                                             \
            stmt;                                                                         \
        } catch (const imkit::Error &e) {                                                 \
            if (e.code() != (expected)) {                                             \
                std::fprintf(stderr, "%s:%d: %s threw %s, expected code %d\n", __FILE__, \
                             __LINE__, #stmt, e.what(), static_cast<int>(expected));          \
                std::exit(1);                                                             \
            }                                                                             \
            return e.message();                                                           \
        }                                                                                 \
        std::fprintf(stderr, "%s:%d: %s did not throw\n", __FILE__, __LINE__, #stmt);     \
        std::exit(1);                                                                     \
    }()

// Test groups defined in the other translation units.
void test_iid(const std::string &workdir, const std::string &fixtures);
void test_io(const std::string &workdir);
void test_partition(const std::string &workdir);
void test_pipeline(const std::string &workdir);

#endif
