// C++ binding tests for partitions, fragment and stitch (fourth translation unit).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "check.hpp"
#include "imkit.hpp"

namespace {

// np.load(path)[expr].tobytes() from $IMKIT_PYTHON (default python3); false when numpy is missing.
bool numpy_slice(const std::string &path, const std::string &expr, std::vector<unsigned char> &out) {
    const char *env = std::getenv("IMKIT_PYTHON");
    std::string py = env && *env ? env : "python3";
    std::string cmd = "'" + py + "' -c \"import numpy as np, sys; a = np.load(sys.argv[1]); "
                      "sys.stdout.buffer.write(np.ascontiguousarray(a[" + expr + "]).tobytes())\" '" + path +
                      "' 2>/dev/null";
    FILE *pipe = popen(cmd.c_str(), "r");
    if (!pipe) return false;
    out.clear();
    unsigned char chunk[4096];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.insert(out.end(), chunk, chunk + n);
    return pclose(pipe) == 0;
}

// 3-D selections read into caller buffers in (d, h, w, c) C order, as NumPy slices them.
void test_volume_reads(const std::string &dir) {
    const size_t D = 7, H = 20, W = 30, C = 3;
    std::vector<uint16_t> vol(D * H * W * C);
    for (size_t i = 0; i < vol.size(); i++) vol[i] = static_cast<uint16_t>(i * 2654435761u % 65521u);
    std::string npy = imkit::save_array(dir + "/vol4.npy", vol, {D, H, W, C});
    imkit::PartitionOptions o = imkit::PartitionOptions::defaults();
    o.cell(8, 10).step(8, 10).depth(2, 2);
    imkit::Partition p = imkit::Partition::open(npy, &o);
    struct Case {
        std::vector<imkit::AxisKey> keys;
        const char *numpy;
    };
    const Case cases[] = {
        {{imkit::key_index(1), imkit::key_index(0), imkit::key_index(0)}, "2:4, 0:8, 0:10"},
        {{imkit::key_slice(1, -1), imkit::key_all(), imkit::key_index(-1)}, "2:6, :, 20:30"},
        {{imkit::key_index(-1), imkit::key_slice(std::nullopt, 2), imkit::key_slice(1, std::nullopt)},
         "6:7, 0:16, 10:30"},
    };
    std::vector<unsigned char> want;
    for (const Case &c : cases) {
        if (!numpy_slice(npy, c.numpy, want)) {
            std::fprintf(stderr, "SKIPPED (python lacks numpy): C++ volume reads against NumPy slicing\n");
            return;
        }
        std::vector<unsigned char> got(p.region(c.keys).second);
        p.read_into(c.keys, got.data(), got.size());
        CHECK(got.size() == want.size() && std::memcmp(got.data(), want.data(), got.size()) == 0);
    }
    std::printf("partition: 3-D selections match NumPy slicing\n");
}

} // namespace

void test_partition(const std::string &dir) {
    const uint64_t W = 64, H = 48;
    imkit::Pixels<uint8_t> img(W, H, 3);
    for (uint64_t y = 0; y < H; y++)
        for (uint64_t x = 0; x < W; x++)
            for (uint32_t c = 0; c < 3; c++) img.at(x, y, c) = static_cast<uint8_t>(x * 3 + y * 5 + c * 50);

    imkit::PartitionOptions opts = imkit::PartitionOptions::defaults();
    opts.cell(16, 16).step(16, 16);
    imkit::Partition p = imkit::Partition::from_buffer(img.view(), &opts);
    imkit::GridShape g = p.shape();
    CHECK(g.rows == 3 && g.cols == 4 && g.depth == 1);
    imkit::SourceInfo si = p.source();
    CHECK(si.width == W && si.height == H && si.channels == 3 && si.dtype == IMKIT_DTYPE_U8);
    CHECK((p.step() == std::pair<double, double>{16.0, 16.0}));
    imkit_rect r = p.cell_rect(1, -2);
    CHECK(r.left == 32 && r.top == 16 && r.right == 48 && r.bottom == 32);
    CHECK_THROWS(p.cell_rect(3, 0), IMKIT_STATUS_OUT_OF_BOUNDS);

    // Read a cell (interleaved) and check it against the source.
    std::vector<uint8_t> cell = p.read_cell<uint8_t>(1, 2);
    CHECK(cell.size() == 16 * 16 * 3);
    CHECK(cell[0] == img.at(32, 16, 0) && cell[cell.size() - 1] == img.at(47, 31, 2));
    CHECK_THROWS(p.read_cell<uint16_t>(1, 2), IMKIT_STATUS_MISMATCH);
    std::vector<uint8_t> small(10);
    CHECK_THROWS(p.read_cell_into(1, 2, small.data(), small.size()), IMKIT_STATUS_BUFFER_TOO_SMALL);

    // A selection: rows 0:2 of the last column, planar.
    std::vector<imkit::AxisKey> keys{imkit::key_slice(0, 2), imkit::key_index(-1)};
    auto reg = p.region(keys);
    CHECK(reg.first.left == 48 && reg.first.top == 0 && reg.first.right == 64 && reg.first.bottom == 32);
    CHECK(reg.second == 16 * 32 * 3);
    std::vector<uint8_t> planar = p.read<uint8_t>(keys, IMKIT_LAYOUT_PLANAR);
    CHECK(planar[0] == img.at(48, 0, 0) && planar[16 * 32] == img.at(48, 0, 1));
    CHECK(p.read<uint8_t>({imkit::key_all(), imkit::key_slice(std::nullopt, 1)}).size() == 16 * 48 * 3);

    imkit::CellRange at = p.cells_at(33, 17);
    CHECK(at.row0 == 1 && at.row1 == 2 && at.col0 == 2 && at.col1 == 3);

    // Fragment to files, stitch back: the same pixels.
    std::string src = dir + "/part_src.png", frag = dir + "/frag", out = dir + "/stitched.png";
    imkit::write_image(src, img.view());
    CHECK(mkdir(frag.c_str(), 0755) == 0);
    imkit::PartitionOptions fo = imkit::PartitionOptions::defaults();
    fo.cell(20, 24).stride(0.75, 0.5).edge(IMKIT_PARTITION_EDGE_CLIP);
    imkit::Partition fp = imkit::Partition::open(src, &fo);
    int cells = 0;
    fp.fragment(frag, "", nullptr, [&](uint64_t, uint64_t) { return ++cells > 0; });
    CHECK(cells > 0);
    int rows = 0;
    imkit::stitch(frag + "/manifest.json", out, IMKIT_BLEND_AVERAGE, nullptr, [&](uint64_t, uint64_t) { return ++rows > 0; });
    imkit::Image back = imkit::Image::read(out);
    imkit::View bv = back.view();
    CHECK(bv.width == W && bv.height == H);
    const uint8_t *bp = static_cast<const uint8_t *>(bv.data);
    for (size_t i = 0; i < img.data.size(); i++) CHECK(bp[i] == img.data[i]);
    CHECK_THROWS(imkit::stitch(frag + "/manifest.json", dir + "/never.png", IMKIT_BLEND_OVERWRITE, nullptr,
                               [](uint64_t, uint64_t) { return false; }),
                 IMKIT_STATUS_CANCELLED);
    // A 3-D NPY array opened as a volume: (depth, height, width) = (2, 8, 6).
    std::vector<uint16_t> vol(2 * 8 * 6);
    for (size_t i = 0; i < vol.size(); i++) vol[i] = static_cast<uint16_t>(i);
    std::string npy = imkit::save_array(dir + "/volume.npy", vol, {2, 8, 6});
    imkit::PartitionOptions vo = imkit::PartitionOptions::defaults();
    vo.volume(true).cell(4, 3).step(4, 3).depth(1, 1);
    imkit::Partition vp = imkit::Partition::open(npy, &vo);
    imkit::SourceInfo vs = vp.source();
    CHECK(vs.slices == 2 && vs.height == 8 && vs.width == 6 && vs.channels == 1);
    CHECK(vp.shape().depth == 2);
    std::vector<uint16_t> v1 = vp.read<uint16_t>({imkit::key_index(1), imkit::key_index(0), imkit::key_index(0)});
    CHECK(v1.size() == 4 * 3 && v1[0] == 48 && v1[3] == 54);

    test_volume_reads(dir);
    std::printf("partition: grid, cells, selections, fragment (%d progress calls) and exact stitch work\n", cells);
}
