// C++ binding tests for save/load with metadata and the save queue (third translation unit).
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "imkit.hpp"

void test_io(const std::string &dir) {
    imkit::Pixels<uint8_t> px(16, 8, 3);
    for (size_t i = 0; i < px.data.size(); i++) px.data[i] = static_cast<uint8_t>(i * 7);

    // No extension: uint8 RGB becomes PNG, the metadata a sidecar.
    std::string written = imkit::save(dir + "/frame", px.view(), "{\"exposure\": 0.01}");
    CHECK(written == dir + "/frame.png");
    imkit::Loaded got = imkit::load(written);
    CHECK(got.metadata_json.find("exposure") != std::string::npos);
    CHECK((got.shape() == std::vector<size_t>{8, 16, 3}));
    imkit::ArrayData a = got.data();
    CHECK(a.dtype == IMKIT_DTYPE_U8 && a.len == px.data.size());
    CHECK(std::memcmp(a.data, px.data.data(), a.len) == 0);
    CHECK(imkit::metadata_load(written).find("exposure") != std::string::npos);
    imkit::metadata_save(written, "{\"lens\": \"50mm\"}");
    CHECK(imkit::metadata_load(written).find("50mm") != std::string::npos);
    CHECK_THROWS(imkit::save(dir + "/bad.png", px.view(), "[not an object"), IMKIT_STATUS_INVALID_ARG);

    // Arrays: a 2x3 float64 array goes to NPY.
    std::string npy = imkit::save_array<double>(dir + "/values", {0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, {2, 3});
    imkit::Loaded arr = imkit::load(npy);
    CHECK((arr.shape() == std::vector<size_t>{2, 3}));
    CHECK(arr.data().dtype == IMKIT_DTYPE_F64 && static_cast<const double *>(arr.data().data)[5] == 5.5);

    // Several images, to a directory and back in natural order.
    imkit::Pixels<uint16_t> g1(4, 2, 1), g2(5, 3, 1);
    g1.data[0] = 1;
    g2.data[0] = 2;
    imkit::SaveOptions overwrite = imkit::SaveOptions::defaults();
    overwrite.overwrite(true).write_options(imkit::WriteOptions::defaults().png_compression(1));
    imkit::save_dir(dir + "/seq", {g1.view(), g2.view()}, {"{\"i\": 1}"});
    CHECK_THROWS(imkit::save_dir(dir + "/seq", {g1.view()}), IMKIT_STATUS_INVALID_ARG);
    imkit::save_dir(dir + "/seq", {g1.view(), g2.view()}, {"{\"i\": 1}", "{\"i\": 2}"}, &overwrite);
    imkit::ImageList list = imkit::load_dir(dir + "/seq");
    CHECK(list.size() == 2);
    imkit::ImageList::Entry e1 = list.at(1);
    CHECK(e1.metadata_json.find("2") != std::string::npos);
    CHECK(imkit::view_of(e1.image).width == 5);
    CHECK(static_cast<const uint16_t *>(imkit::data_of(e1.image).data)[0] == 2);
    CHECK_THROWS(list.at(2), IMKIT_STATUS_OUT_OF_BOUNDS);
    imkit::save_list({dir + "/l0.png", dir + "/l1.png"}, {g1.view(), g2.view()});
    CHECK(imkit::load_list({dir + "/l0.png", dir + "/l1.png"}).size() == 2);

    // The save queue: 2 workers, 4 jobs at most, pushes from two threads, one failing job.
    imkit::SaveQueueOptions qo = imkit::SaveQueueOptions::defaults();
    qo.threads(2).max_pending_jobs(4).max_pending_bytes(1 << 20);
    imkit::SaveQueue q = imkit::SaveQueue::open(&qo);
    auto producer = [&](int base) {
        imkit::Pixels<uint8_t> frame(16, 8, 3);
        for (int i = 0; i < 5; i++) {
            frame.data[0] = static_cast<uint8_t>(base + i); // the queue copied the previous frame
            q.push(dir + "/q" + std::to_string(base + i), frame.view(), "{\"frame\": " + std::to_string(base + i) + "}");
        }
    };
    std::thread t1(producer, 0), t2(producer, 10);
    t1.join();
    t2.join();
    std::FILE *blocker = std::fopen((dir + "/file").c_str(), "wb");
    CHECK(blocker != nullptr);
    std::fclose(blocker);
    uint64_t bad = q.push(dir + "/file/x.png", px.view());
    CHECK_THROWS(q.flush(), IMKIT_STATUS_IO);
    std::optional<imkit::JobError> je = q.next_error();
    CHECK(je && je->job_id == bad && je->message.find("x.png") != std::string::npos);
    CHECK(!q.next_error());
    // try_push gives a later job id, or nullopt (never an exception) when the queue is full.
    if (std::optional<uint64_t> id = q.try_push(dir + "/q99", px.view())) CHECK(*id > bad);
    q.close();
    CHECK(!q);
    CHECK(imkit::load(dir + "/q14").metadata_json.find("14") != std::string::npos);
    CHECK(static_cast<const uint8_t *>(imkit::load(dir + "/q13.png").data().data)[0] == 13);

    // A queue dropped without close() still writes every job (errors are discarded).
    {
        imkit::SaveQueue dropped = imkit::SaveQueue::open();
        dropped.push(dir + "/dropped", px.view());
    }
    CHECK(imkit::image_info(dir + "/dropped.png").width == 16);
    std::printf("io: save/load with metadata, arrays, lists, directories and the save queue work\n");
}
