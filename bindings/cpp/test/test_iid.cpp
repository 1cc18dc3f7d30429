// C++ binding tests for .iid files (second translation unit including imkit.hpp).
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "check.hpp"
#include "imkit.hpp"

using Keys = std::vector<uint32_t>;

void test_iid(const std::string &dir, const std::string &fixtures) {
    const std::string path = dir + "/made.iid";
    const std::string nul_address("x\0y", 3);
    {
        imkit::IidWriter w = imkit::IidWriter::create();
        // key 0: rows 0..2, columns 0..3; pixels (0,0) (0,1) (1,2): one 8-connected region.
        uint32_t k0 = w.add("a", "d1", imkit::IidBBox{0, 0, 2, 3}, {1, 1, 0, 0, 0, 1});
        // key 1: rows 1..3, columns 2..4, all set: shares pixel (1,2) with key 0.
        uint32_t k1 = w.add("b", "", imkit::IidBBox{1, 2, 3, 4}, {1, 1, 1, 1});
        // key 2: one pixel, an address with a NUL byte, given as packed bits.
        uint32_t k2 = w.add(nul_address, "d1", imkit::IidBBox{10, 10, 11, 11}, {0x80}, IMKIT_IID_MASK_FORMAT_PACKED);
        CHECK(k0 == 0 && k1 == 1 && k2 == 2 && w.count() == 3);
        w.add_to_group("g1", k0);
        w.add_to_group("g1", k2);
        w.add_to_group("g2", k1);
        w.set_meta_json("{\"k\": 1}");
        CHECK_THROWS(w.set_meta_json("{not json"), IMKIT_STATUS_INVALID_ARG);
        CHECK_THROWS(w.add("c", "", imkit::IidBBox{0, 0, 1, 1}, {1, 1}), IMKIT_STATUS_MISMATCH);
        CHECK_THROWS(w.add("c", "", imkit::IidBBox{0, 0, 1, 70000}, {}), IMKIT_STATUS_UNSUPPORTED);
        w.save(path);
    }

    imkit::IidFile f = imkit::IidFile::open(path);
    f.validate();
    CHECK(f.count() == 3);
    CHECK(f.address(0) == "a" && f.address(2) == nul_address);
    CHECK(f.domain(0) == "d1" && f.domain(1).empty());
    imkit::IidSegmentInfo s = f.segment_info(0);
    CHECK(s.area == 3 && s.region_count == 1 && s.mask_bytes == 6 && s.mask_packed_bytes == 1);
    CHECK(s.bbox.minr == 0 && s.bbox.maxc == 3);
    imkit::IidRegion r = f.region_info(0, 0);
    CHECK(r.area == 3 && r.bbox.maxr == 2);
    CHECK_THROWS(f.region_info(0, 1), IMKIT_STATUS_OUT_OF_BOUNDS);
    CHECK((f.mask(0) == std::vector<uint8_t>{1, 1, 0, 0, 0, 1}));
    CHECK((f.mask(0, true) == std::vector<uint8_t>{0xC4}));
    CHECK(f.meta_json().find("\"k\"") != std::string::npos);
    CHECK((f.groups() == std::vector<std::string>{"g1", "g2"}));

    CHECK((f.fetch_all(true, true) == Keys{0, 1, 2}));
    CHECK((f.fetch_keys({2, 0, 2}) == Keys{0, 2}));
    CHECK((f.fetch_groups({"g1"}) == Keys{0, 2}));
    CHECK_THROWS(f.fetch_keys({7}), IMKIT_STATUS_OUT_OF_BOUNDS);
    CHECK_THROWS(f.fetch_groups({"nope"}), IMKIT_STATUS_INVALID_ARG);
    CHECK((f.look_for({"b"}) == Keys{1}));
    CHECK((f.look_for({"a", "b", nul_address}, {"d1"}) == Keys{0, 2}));
    CHECK((f.look_for({"a", "b", nul_address}, {}, {"g2"}) == Keys{1}));
    CHECK((f.filter({}, {"d1"}) == Keys{0, 2}));
    imkit::IidAreaRange big{4, UINT64_MAX, false};
    CHECK((f.filter({}, {}, &big) == Keys{1}));
    CHECK((f.region(imkit::IidBBox{0, 0, 2, 2}) == Keys{0}));
    CHECK((f.at(1, 2) == Keys{0, 1}));
    CHECK(f.at(5, 5).empty());
    CHECK((f.at_compat(3, 2) == Keys{0, 1})); // rows 1..2, columns 2..3

    imkit::IidGraph g = f.overlap_graph();
    std::vector<imkit::IidEdge> edges = g.edges();
    CHECK(edges.size() == 1 && edges[0].a == 0 && edges[0].b == 1 && edges[0].pixels == 1);
    Keys nodes = g.nodes();
    CHECK(nodes.size() >= 2 && nodes[0] == 0 && nodes[1] == 1);
    CHECK(f.overlap_graph({0, 2}).edges().empty());

    // From memory, and extended through a writer seeded from the file.
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    imkit::IidFile mem = imkit::IidFile::from_buffer(bytes.data(), bytes.size());
    CHECK(mem.count() == 3 && mem.address(1) == "b");
    imkit::IidWriter more = imkit::IidWriter::from_file(mem);
    CHECK(more.add("d", "", imkit::IidBBox{20, 20, 21, 22}, {1, 1}) == 3);
    more.save(dir + "/more.iid");
    CHECK(imkit::IidFile::open(dir + "/more.iid").count() == 4);

    // The reference's vectors and a damaged file.
    imkit::IidFile ref = imkit::IidFile::open(fixtures + "/iid/overlapping.iid");
    ref.validate();
    CHECK(ref.count() == 16);
    CHECK(!ref.overlap_graph().edges().empty());
    std::string msg = CHECK_THROWS(imkit::IidFile::open(fixtures + "/iid/bad/meta_bad_json.iid"), IMKIT_STATUS_FORMAT);
    CHECK(!msg.empty());
    std::printf("iid: writer, reader, queries, graph and damaged files work (%zu entries in overlapping.iid)\n",
                ref.count());
}
