// Image decoding and preprocessing vs torchvision's ImageClassification preset (PIL path), plus the small contracts
// of load_image / list_images. The reference values are made at test time by tools/preprocess_reference.py run with
// Debian's python3 (ZOO_PYTHON under ctest).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "image/preprocess.hpp"

namespace fs = std::filesystem;
using zoo::runner::PreprocessSpec;

namespace {

std::string source_dir() {
    if (const char* env = std::getenv("ZOO_SOURCE_DIR"); env && *env) return env;
    return ZOO_SOURCE_DIR;
}

std::string python_executable() {
    if (const char* env = std::getenv("ZOO_PYTHON"); env && *env) return env;
    return "/usr/bin/python3";
}

// A fresh scratch folder per process (tests run as separate processes under ctest, possibly in parallel).
fs::path make_scratch_dir(const std::string& tag) {
    fs::path base = fs::temp_directory_path();
    if (const char* env = std::getenv("ZOO_BUILD_DIR"); env && *env && fs::is_directory(env)) base = env;
    fs::path dir = base / ("zoo_test_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// Minimal .npy reader for what tools/preprocess_reference.py writes: version 1.x/2.x header, C order,
// little-endian float32 ('<f4') or uint8 ('|u1').
struct NpyArray {
    std::vector<int64_t> shape;
    std::string descr;
    std::vector<float> f32;
    std::vector<uint8_t> u8;
    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

bool read_npy_file(const fs::path& path, NpyArray& out, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error = "cannot open " + path.string(), false;
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) return error = "bad magic in " + path.string(), false;
    uint32_t header_len = 0;
    if (magic[6] == 1) {
        unsigned char b[2];
        in.read(reinterpret_cast<char*>(b), 2);
        header_len = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        in.read(reinterpret_cast<char*>(b), 4);
        header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t{b[3]} << 24);
    }
    std::string header(header_len, '\0');
    if (!in.read(header.data(), header_len)) return error = "short header in " + path.string(), false;
    auto field = [&](const std::string& key) {
        const size_t k = header.find("'" + key + "'");
        return k == std::string::npos ? std::string::npos : header.find(':', k) + 1;
    };
    const size_t d = field("descr"), f = field("fortran_order"), s = field("shape");
    if (d == std::string::npos || f == std::string::npos || s == std::string::npos)
        return error = "unexpected header in " + path.string(), false;
    const size_t q1 = header.find('\'', d), q2 = header.find('\'', q1 + 1);
    out.descr = header.substr(q1 + 1, q2 - q1 - 1);
    if (header.compare(header.find_first_not_of(' ', f), 5, "False") != 0)
        return error = "fortran order in " + path.string(), false;
    const size_t p1 = header.find('(', s), p2 = header.find(')', p1);
    std::stringstream dims(header.substr(p1 + 1, p2 - p1 - 1));
    out.shape.clear();
    for (std::string item; std::getline(dims, item, ',');)
        if (item.find_first_not_of(' ') != std::string::npos) out.shape.push_back(std::stoll(item));
    const auto n = static_cast<size_t>(out.numel());
    if (out.descr == "<f4") {
        out.f32.resize(n);
        in.read(reinterpret_cast<char*>(out.f32.data()), static_cast<std::streamsize>(n * 4));
    } else if (out.descr == "|u1") {
        out.u8.resize(n);
        in.read(reinterpret_cast<char*>(out.u8.data()), static_cast<std::streamsize>(n));
    } else {
        return error = "unsupported dtype " + out.descr + " in " + path.string(), false;
    }
    if (!in) return error = "short data in " + path.string(), false;
    return true;
}

// Value at one 8-bit level in normalised units for the largest std (the smallest step is 1/255/0.229).
constexpr float kOneLevel = 1.0f / 255.0f / 0.224f;

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Against torchvision / Pillow

class PreprocessTorchvision : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_dir = make_scratch_dir("preprocess_reference");
        const std::string script = source_dir() + "/tools/preprocess_reference.py";
        const fs::path log = s_dir / "python.log";
        if (!fs::exists(python_executable())) {
            s_setup_error = "python interpreter " + python_executable() + " not found";
            s_skip = true;
            return;
        }
        std::ostringstream command;  // (a stream, not string +: GCC 12 warns falsely on "'" + std::string)
        command << '\'' << python_executable() << "' '" << script << "' --images '" << source_dir()
                << "/data/images' --out '" << s_dir.string() << "' > '" << log.string() << "' 2>&1";
        const std::string cmd = command.str();
        if (std::system(cmd.c_str()) != 0) {
            std::ifstream in(log);
            std::stringstream ss;
            ss << in.rdbuf();
            s_setup_error = "reference script failed: " + cmd + "\n" + ss.str();
            return;
        }
        std::ifstream in(s_dir / "cases.json");
        s_cases = nlohmann::json::parse(in, nullptr, false);
        if (s_cases.is_discarded()) s_setup_error = "cannot parse " + (s_dir / "cases.json").string();
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(s_dir, ec);
    }
    void SetUp() override {
        if (s_skip) GTEST_SKIP() << s_setup_error;
        ASSERT_TRUE(s_setup_error.empty()) << s_setup_error;
    }

    static inline fs::path s_dir;
    static inline nlohmann::json s_cases;
    static inline std::string s_setup_error;
    static inline bool s_skip = false;
};

TEST_F(PreprocessTorchvision, LoadImageMatchesImageClassificationPreset) {
    const auto& cases = s_cases.at("cases");
    ASSERT_GE(cases.size(), 40u);
    size_t total = 0, exact = 0;
    float worst = 0.0f;
    std::string worst_case;
    for (const auto& c : cases) {
        const std::string name = c.at("name");
        SCOPED_TRACE(name);
        PreprocessSpec spec;
        spec.resize_shorter = c.at("resize_shorter");
        spec.crop_height = c.at("crop_height");
        spec.crop_width = c.at("crop_width");
        auto got = zoo::runner::load_image(c.at("image").get<std::string>(), spec);
        ASSERT_TRUE(got.is_ok()) << got.status().message();
        NpyArray want;
        std::string error;
        ASSERT_TRUE(read_npy_file(s_dir / c.at("output").get<std::string>(), want, error)) << error;
        ASSERT_EQ(want.shape, (std::vector<int64_t>{3, spec.crop_height, spec.crop_width}));
        ASSERT_EQ(got->shape, (zoo::Shape{1, 3, spec.crop_height, spec.crop_width}));
        ASSERT_EQ(got->data.size(), want.f32.size());
        float case_worst = 0.0f;
        for (size_t i = 0; i < want.f32.size(); ++i) {
            const float diff = std::fabs(got->data[i] - want.f32[i]);
            case_worst = std::max(case_worst, diff);
            exact += diff <= 1e-6f;
        }
        total += want.f32.size();
        EXPECT_EQ(case_worst, 0.0f) << "not bit-exact vs torchvision (max abs diff " << case_worst
                                    << ", one 8-bit level is " << kOneLevel << ")";
        if (case_worst > worst) worst = case_worst, worst_case = name;
    }
    // The implementation reproduces Pillow's fixed-point resampler, so every value is expected to be identical
    // (checked per case above). Should a decoder ever differ (e.g. OpenCV built with another libjpeg), relax that
    // check to these, the looser guarantees the rest of the project relies on.
    EXPECT_LE(worst, kOneLevel * 1.001f) << "worst case " << worst_case;
    EXPECT_GE(static_cast<double>(exact), 0.999 * static_cast<double>(total));
    std::cout << "[preprocess] " << cases.size() << " cases, " << total << " values, " << exact
              << " within 1e-6, max abs diff " << worst << (worst_case.empty() ? "" : " (" + worst_case + ")") << "\n";
}

TEST_F(PreprocessTorchvision, ResizeIsBitExactWithPillowBilinear) {
    const auto& resizes = s_cases.at("resizes");
    ASSERT_GE(resizes.size(), 6u);
    for (const auto& r : resizes) {
        SCOPED_TRACE(r.at("name").get<std::string>());
        NpyArray src, want;
        std::string error;
        ASSERT_TRUE(read_npy_file(s_dir / r.at("source").get<std::string>(), src, error)) << error;
        ASSERT_TRUE(read_npy_file(s_dir / r.at("expected").get<std::string>(), want, error)) << error;
        ASSERT_EQ(src.shape.size(), 3u);
        ASSERT_EQ(want.shape.size(), 3u);
        const auto got = zoo::runner::resize_bilinear_pil(src.u8.data(), static_cast<int>(src.shape[0]),
                                                          static_cast<int>(src.shape[1]), static_cast<int>(src.shape[2]),
                                                          static_cast<int>(want.shape[0]),
                                                          static_cast<int>(want.shape[1]));
        ASSERT_EQ(got.size(), want.u8.size());
        size_t mismatches = 0;
        for (size_t i = 0; i < got.size(); ++i) mismatches += got[i] != want.u8[i];
        EXPECT_EQ(mismatches, 0u) << "of " << got.size() << " bytes";
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Contracts that need no Python

TEST(PreprocessImage, ResizedSizeFollowsTorchvisionRule) {
    using zoo::runner::resized_size_for_shorter_side;
    // chelsea: 300 x 451 -> 256 x int(256 * 451 / 300) = 256 x 384
    EXPECT_EQ(resized_size_for_shorter_side(300, 451, 256), (std::array<int, 2>{256, 384}));
    EXPECT_EQ(resized_size_for_shorter_side(451, 300, 256), (std::array<int, 2>{384, 256}));
    EXPECT_EQ(resized_size_for_shorter_side(512, 512, 232), (std::array<int, 2>{232, 232}));
    // 427 x 640 -> 256 x int(383.7002...) = 383 (truncation, not rounding)
    EXPECT_EQ(resized_size_for_shorter_side(427, 640, 256), (std::array<int, 2>{256, 383}));
    EXPECT_EQ(resized_size_for_shorter_side(10, 30, 5), (std::array<int, 2>{5, 15}));
}

TEST(PreprocessImage, MissingFileErrorNamesThePath) {
    const std::string path = "/nonexistent/folder/no_such_image.png";
    auto r = zoo::runner::load_image(path, PreprocessSpec{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("could not be decoded as an image"), std::string::npos) << r.status().message();
}

TEST(PreprocessImage, NonImageFileIsAnError) {
    const fs::path dir = make_scratch_dir("preprocess_not_image");
    const fs::path path = dir / "not_really.png";
    std::ofstream(path) << "this is text, not a PNG\n";
    auto r = zoo::runner::load_image(path.string(), PreprocessSpec{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find(path.string()), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("could not be decoded as an image"), std::string::npos) << r.status().message();
    auto d = zoo::runner::load_image(dir.string(), PreprocessSpec{});
    EXPECT_FALSE(d.is_ok());
    fs::remove_all(dir);
}

TEST(PreprocessImage, ListImagesFiltersByExtensionAndSortsByName) {
    const fs::path dir = make_scratch_dir("preprocess_list");
    for (const char* name : {"b.JPG", "a.png", "c.jpeg", "notes.txt", "Z.bmp", "d.webp", "e.tif", "f.TIFF", "g.gif",
                             "noext", "y.png.bak"})
        std::ofstream(dir / name) << "x";
    fs::create_directories(dir / "sub.png");  // a folder with an image-like name is not an image
    std::ofstream(dir / "sub.png" / "inner.png") << "x";
    auto r = zoo::runner::list_images(dir.string());
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    std::vector<std::string> names;
    for (const auto& p : *r) {
        EXPECT_EQ(fs::path(p).parent_path(), dir);
        names.push_back(fs::path(p).filename().string());
    }
    // byte-wise order: upper case sorts before lower case
    EXPECT_EQ(names, (std::vector<std::string>{"Z.bmp", "a.png", "b.JPG", "c.jpeg", "d.webp", "e.tif", "f.TIFF"}));

    auto missing = zoo::runner::list_images((dir / "missing").string());
    ASSERT_FALSE(missing.is_ok());
    EXPECT_NE(missing.status().message().find("missing"), std::string::npos);
    fs::remove_all(dir);

    auto bundled = zoo::runner::list_images(source_dir() + "/data/images");
    ASSERT_TRUE(bundled.is_ok()) << bundled.status().message();
    EXPECT_GE(bundled->size(), 3u);
    EXPECT_TRUE(std::is_sorted(bundled->begin(), bundled->end()));
}

TEST(PreprocessImage, GrayscaleFileBecomesThreeEqualChannels) {
    const fs::path dir = make_scratch_dir("preprocess_gray");
    cv::Mat gray(67, 93, CV_8UC1);
    for (int y = 0; y < gray.rows; ++y)
        for (int x = 0; x < gray.cols; ++x) gray.at<uint8_t>(y, x) = static_cast<uint8_t>((x * 7 + y * 13) % 256);
    const fs::path path = dir / "gray.png";
    ASSERT_TRUE(cv::imwrite(path.string(), gray));

    PreprocessSpec spec;
    spec.resize_shorter = 64;
    spec.crop_height = 48;
    spec.crop_width = 56;
    auto from_file = zoo::runner::load_image(path.string(), spec);
    ASSERT_TRUE(from_file.is_ok()) << from_file.status().message();
    ASSERT_EQ(from_file->shape, (zoo::Shape{1, 3, 48, 56}));

    // The same pixels replicated to RGB through the in-memory entry point give the same tensor.
    std::vector<uint8_t> rgb(static_cast<size_t>(gray.rows * gray.cols * 3));
    for (int i = 0; i < gray.rows * gray.cols; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray.data[i];
    auto from_memory = zoo::runner::preprocess_rgb8(rgb.data(), gray.rows, gray.cols, spec);
    ASSERT_TRUE(from_memory.is_ok()) << from_memory.status().message();
    EXPECT_EQ(from_file->data, from_memory->data);

    // Undo the normalisation: the three channels hold the same 8-bit value.
    const size_t plane = 48 * 56;
    for (size_t i = 0; i < plane; ++i) {
        float v[3];
        for (size_t c = 0; c < 3; ++c) v[c] = from_file->data[c * plane + i] * spec.std[c] + spec.mean[c];
        ASSERT_NEAR(v[0], v[1], 1e-5f) << i;
        ASSERT_NEAR(v[0], v[2], 1e-5f) << i;
    }
    fs::remove_all(dir);
}

TEST(PreprocessImage, SixteenBitFileIsScaledToEightBits) {
    // Documented choice: 16-bit files are reduced to their high byte (OpenCV's IMREAD_COLOR), not clipped like PIL.
    const fs::path dir = make_scratch_dir("preprocess_16bit");
    cv::Mat rgb8(41, 57, CV_8UC3);
    for (int y = 0; y < rgb8.rows; ++y)
        for (int x = 0; x < rgb8.cols; ++x)
            rgb8.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(x * 4), static_cast<uint8_t>(y * 6),
                                                 static_cast<uint8_t>((x * y) % 256));
    cv::Mat rgb16;
    rgb8.convertTo(rgb16, CV_16UC3, 257.0);  // v -> v * 257, high byte v
    ASSERT_TRUE(cv::imwrite((dir / "a8.png").string(), rgb8));
    ASSERT_TRUE(cv::imwrite((dir / "a16.png").string(), rgb16));
    PreprocessSpec spec;
    spec.resize_shorter = 40;
    spec.crop_height = spec.crop_width = 32;
    auto a8 = zoo::runner::load_image((dir / "a8.png").string(), spec);
    auto a16 = zoo::runner::load_image((dir / "a16.png").string(), spec);
    ASSERT_TRUE(a8.is_ok()) << a8.status().message();
    ASSERT_TRUE(a16.is_ok()) << a16.status().message();
    EXPECT_EQ(a8->data, a16->data);
    fs::remove_all(dir);
}

TEST(PreprocessImage, ConstantImageAndZeroPadding) {
    // A constant image stays constant through the resize (the taps sum to one in fixed point); a crop larger than
    // the resized image is zero padded first, like torchvision's center_crop, with the pad split floor/ceil.
    std::vector<uint8_t> rgb(20 * 30 * 3);
    for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = 200, rgb[i + 1] = 100, rgb[i + 2] = 50;
    PreprocessSpec spec;
    spec.resize_shorter = 10;  // -> 10 x 15
    spec.crop_height = 13;     // pad 1 above, 2 below
    spec.crop_width = 12;      // crop left = round(3 / 2) = 2 (half to even)
    auto r = zoo::runner::preprocess_rgb8(rgb.data(), 20, 30, spec);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    ASSERT_EQ(r->shape, (zoo::Shape{1, 3, 13, 12}));
    const uint8_t values[3] = {200, 100, 50};
    for (size_t c = 0; c < 3; ++c) {
        const float inside = (static_cast<float>(values[c]) / 255.0f - spec.mean[c]) / spec.std[c];
        const float pad = (0.0f - spec.mean[c]) / spec.std[c];
        for (int y = 0; y < 13; ++y)
            for (int x = 0; x < 12; ++x) {
                const float want = (y == 0 || y >= 11) ? pad : inside;
                ASSERT_EQ(r->data[c * 13 * 12 + static_cast<size_t>(y * 12 + x)], want) << c << " " << y << " " << x;
            }
    }
}

TEST(PreprocessImage, InvalidArgumentsAreErrors) {
    std::vector<uint8_t> rgb(4 * 4 * 3, 7);
    PreprocessSpec spec;
    spec.crop_width = 0;
    EXPECT_FALSE(zoo::runner::preprocess_rgb8(rgb.data(), 4, 4, spec).is_ok());
    spec = PreprocessSpec{};
    spec.std[1] = 0.0f;
    EXPECT_FALSE(zoo::runner::preprocess_rgb8(rgb.data(), 4, 4, spec).is_ok());
    EXPECT_FALSE(zoo::runner::preprocess_rgb8(rgb.data(), 0, 4, PreprocessSpec{}).is_ok());
    EXPECT_FALSE(zoo::runner::preprocess_rgb8(nullptr, 4, 4, PreprocessSpec{}).is_ok());
    EXPECT_TRUE(zoo::runner::preprocess_rgb8(rgb.data(), 4, 4, PreprocessSpec{}).is_ok());
}
