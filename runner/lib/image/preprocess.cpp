#include "image/preprocess.hpp"

#include "core/limits.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <exception>
#include <filesystem>
#include <optional>
#include <fstream>
#include <cstring>
#include <limits>
#include <system_error>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

// Rounding note: the coefficient arithmetic below matches Pillow's C code operation for operation in double precision.
// Even if the compiler contracts a*b+c into an FMA (GCC does in C++ with -march=native), no result changes: in0 is 0
// (so in0 + p * scale rounds like the product alone), the tap argument ends in a multiplication, and w * 2^22 is exact.

namespace zoo::runner {
namespace {

// Pillow's fixed-point layout for 8-bit images: coefficients carry 22 fractional bits, leaving 8 bits for the pixel
// value and 2 bits of headroom in a 32-bit accumulator.
constexpr int kPrecisionBits = 32 - 8 - 2;

// One pass of the separable resize: for each output position, the first input index, the number of taps and the
// taps in fixed point (`ksize` slots per output, unused ones zero).
struct Coefficients {
    int ksize = 0;
    std::vector<int> first;       // per output position
    std::vector<int> count;       // per output position
    std::vector<int32_t> weights;  // out_size * ksize
};

// Pillow's BILINEAR filter is the triangle ("tent") filter with support 1.
double triangle(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

// The filter taps for resampling [in0, in1) of an axis of `in_size` samples onto `out_size` samples, as Pillow
// computes them: when downscaling, the filter is stretched by the scale factor (antialiasing), the taps of each output
// are normalised to sum to one in double precision, then rounded half away from zero to fixed point.
Coefficients compute_coefficients(int in_size, double in0, double in1, int out_size) {
    constexpr double support_unscaled = 1.0;
    const double scale = (in1 - in0) / out_size;
    const double filter_scale = std::max(scale, 1.0);
    const double support = support_unscaled * filter_scale;
    const double inv_filter_scale = 1.0 / filter_scale;

    Coefficients c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(static_cast<size_t>(out_size));
    c.count.resize(static_cast<size_t>(out_size));
    c.weights.assign(static_cast<size_t>(out_size) * static_cast<size_t>(c.ksize), 0);

    std::vector<double> taps(static_cast<size_t>(c.ksize));
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        // "+ 0.5" then truncation: Pillow's rounding of the window ends (truncation towards zero, as a C cast).
        int xmin = static_cast<int>(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        const int n = std::min(xmax - xmin, c.ksize);

        double total = 0.0;
        for (int x = 0; x < n; ++x) {
            const double w = triangle((static_cast<double>(x + xmin) - center + 0.5) * inv_filter_scale);
            taps[static_cast<size_t>(x)] = w;
            total += w;
        }
        int32_t* out = &c.weights[static_cast<size_t>(xx) * static_cast<size_t>(c.ksize)];
        for (int x = 0; x < n; ++x) {
            double w = taps[static_cast<size_t>(x)];
            if (total != 0.0) w /= total;
            const double fixed = w * static_cast<double>(1 << kPrecisionBits);
            out[x] = static_cast<int32_t>(w < 0.0 ? fixed - 0.5 : fixed + 0.5);
        }
        c.first[static_cast<size_t>(xx)] = xmin;
        c.count[static_cast<size_t>(xx)] = std::max(n, 0);
    }
    return c;
}

// Fixed-point accumulator -> 8 bits: drop the fractional bits (arithmetic shift), clamp to [0, 255].
inline uint8_t clip8(int64_t acc) {
    const int64_t v = acc >> kPrecisionBits;
    return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

constexpr int64_t kRoundingBias = int64_t{1} << (kPrecisionBits - 1);

// Interleaved 8-bit image, possibly a window [row0, row0 + rows) of a taller image.
struct Plane {
    const uint8_t* data = nullptr;  // first stored row
    int row0 = 0;                   // image row of data's first row
    int width = 0;
    int channels = 0;
    const uint8_t* row(int y) const {
        return data + static_cast<size_t>(y - row0) * static_cast<size_t>(width) * static_cast<size_t>(channels);
    }
};

// Pillow's resize restricted to the output window rows [r0, r1) x columns [c0, c1). Every output pixel depends only
// on its own taps, so the window equals the same region of the full resize; computing only what the center crop
// keeps saves the work for the discarded border. Pillow's own region handling is mirrored: the horizontal pass runs
// first and only over the input rows the vertical pass reads; a pass whose axis keeps its size is skipped entirely
// (not run as an identity filter). Returns (r1 - r0) * (c1 - c0) * channels bytes.
std::vector<uint8_t> resize_window(const uint8_t* in, int height, int width, int channels, int out_height,
                                   int out_width, int r0, int r1, int c0, int c1) {
    const bool need_horizontal = out_width != width;
    const bool need_vertical = out_height != height;
    const size_t ch = static_cast<size_t>(channels);
    const int win_w = c1 - c0;
    const int win_h = r1 - r0;
    std::vector<uint8_t> out(static_cast<size_t>(win_h) * static_cast<size_t>(win_w) * ch);
    if (win_h <= 0 || win_w <= 0) return out;

    Coefficients vert;
    // Input rows the output window needs: all of them through the vertical taps, or the rows themselves.
    int in_row_first = r0, in_row_last = r1;  // [first, last)
    if (need_vertical) {
        vert = compute_coefficients(height, 0.0, static_cast<double>(height), out_height);
        in_row_first = vert.first[static_cast<size_t>(r0)];
        in_row_last = vert.first[static_cast<size_t>(r1 - 1)] + vert.count[static_cast<size_t>(r1 - 1)];
        for (int yy = r0; yy < r1; ++yy) {  // taps are monotone, but do not rely on it
            in_row_first = std::min(in_row_first, vert.first[static_cast<size_t>(yy)]);
            in_row_last = std::max(in_row_last, vert.first[static_cast<size_t>(yy)] + vert.count[static_cast<size_t>(yy)]);
        }
    }

    // Horizontal pass: input rows [in_row_first, in_row_last) -> columns [c0, c1) of the resized width.
    Plane source{in, 0, width, channels};
    std::vector<uint8_t> temp;
    int cols_offset = 0;  // column of the source plane that holds output column c0
    if (need_horizontal) {
        const Coefficients horiz = compute_coefficients(width, 0.0, static_cast<double>(width), out_width);
        const int rows = in_row_last - in_row_first;
        temp.resize(static_cast<size_t>(rows) * static_cast<size_t>(win_w) * ch);
        for (int y = in_row_first; y < in_row_last; ++y) {
            const uint8_t* src = in + static_cast<size_t>(y) * static_cast<size_t>(width) * ch;
            uint8_t* dst = temp.data() + static_cast<size_t>(y - in_row_first) * static_cast<size_t>(win_w) * ch;
            for (int xx = c0; xx < c1; ++xx) {
                const int xmin = horiz.first[static_cast<size_t>(xx)];
                const int n = horiz.count[static_cast<size_t>(xx)];
                const int32_t* k = &horiz.weights[static_cast<size_t>(xx) * static_cast<size_t>(horiz.ksize)];
                for (size_t c = 0; c < ch; ++c) {
                    int64_t acc = kRoundingBias;
                    for (int x = 0; x < n; ++x) acc += int64_t{src[static_cast<size_t>(xmin + x) * ch + c]} * k[x];
                    dst[static_cast<size_t>(xx - c0) * ch + c] = clip8(acc);
                }
            }
        }
        source = Plane{temp.data(), in_row_first, win_w, channels};
        cols_offset = 0;
    } else {
        cols_offset = c0;
    }

    if (!need_vertical) {
        for (int yy = r0; yy < r1; ++yy) {
            const uint8_t* src = source.row(yy) + static_cast<size_t>(cols_offset) * ch;
            std::copy(src, src + static_cast<size_t>(win_w) * ch,
                      out.data() + static_cast<size_t>(yy - r0) * static_cast<size_t>(win_w) * ch);
        }
        return out;
    }

    // Vertical pass over the (horizontally resized) rows.
    for (int yy = r0; yy < r1; ++yy) {
        const int ymin = vert.first[static_cast<size_t>(yy)];
        const int n = vert.count[static_cast<size_t>(yy)];
        const int32_t* k = &vert.weights[static_cast<size_t>(yy) * static_cast<size_t>(vert.ksize)];
        uint8_t* dst = out.data() + static_cast<size_t>(yy - r0) * static_cast<size_t>(win_w) * ch;
        for (size_t i = 0; i < static_cast<size_t>(win_w) * ch; ++i) {
            int64_t acc = kRoundingBias;
            for (int y = 0; y < n; ++y) acc += int64_t{source.row(ymin + y)[static_cast<size_t>(cols_offset) * ch + i]} * k[y];
            dst[i] = clip8(acc);
        }
    }
    return out;
}

// Python's round() on x / 2.0 for an integer x: round half to even.
int half_round_even(int x) {
    const int q = x / 2;  // x >= 0 here
    if (x % 2 == 0) return q;
    return (q % 2 == 0) ? q : q + 1;
}

// Placement of the crop window along one axis of the resized image, as torchvision's center_crop computes it:
// returns the resized-image index of crop index 0 (negative when the crop is larger and zero padding comes first).
int crop_origin(int size, int crop) {
    if (crop > size) return -((crop - size) / 2);
    return half_round_even(size - crop);
}

std::string to_lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

}  // namespace

std::array<int, 2> resized_size_for_shorter_side(int height, int width, int shorter) {
    // torchvision: short, long = (w, h) if w <= h else (h, w); long side = int(size * long / short) (true division).
    const bool width_is_short = width <= height;
    const int64_t short_side = width_is_short ? width : height;
    const int64_t long_side = width_is_short ? height : width;
    const double ratio = static_cast<double>(int64_t{shorter} * long_side) / static_cast<double>(short_side);
    const int new_long = static_cast<int>(ratio);
    return width_is_short ? std::array<int, 2>{new_long, shorter} : std::array<int, 2>{shorter, new_long};
}

std::vector<uint8_t> resize_bilinear_pil(const uint8_t* in, int height, int width, int channels, int out_height,
                                         int out_width) {
    return resize_window(in, height, width, channels, out_height, out_width, 0, out_height, 0, out_width);
}

zoo::Result<zoo::Tensor> preprocess_rgb8(const uint8_t* rgb, int height, int width, const PreprocessSpec& spec) {
    try {
        if (rgb == nullptr) return zoo::Status::error("preprocess: null pixel buffer");
        if (height <= 0 || width <= 0)
            return zoo::Status::error("preprocess: image size " + std::to_string(height) + "x" + std::to_string(width) +
                                      " must be positive");
        if (spec.resize_shorter <= 0 || spec.crop_height <= 0 || spec.crop_width <= 0)
            return zoo::Status::error("preprocess: resize_shorter (" + std::to_string(spec.resize_shorter) +
                                      ") and crop size (" + std::to_string(spec.crop_height) + "x" +
                                      std::to_string(spec.crop_width) + ") must be positive");
        for (int c = 0; c < 3; ++c) {
            if (!(spec.std[static_cast<size_t>(c)] != 0.0f) || !std::isfinite(spec.std[static_cast<size_t>(c)]) ||
                !std::isfinite(spec.mean[static_cast<size_t>(c)]))
                return zoo::Status::error("preprocess: std[" + std::to_string(c) +
                                          "] must be finite and non-zero and mean finite");
        }
        // Keep int arithmetic of the resize safe (Pillow itself limits images to 2^31 pixels per side).
        constexpr int kMaxSide = 1 << 20;
        if (height > kMaxSide || width > kMaxSide || spec.resize_shorter > kMaxSide || spec.crop_height > kMaxSide ||
            spec.crop_width > kMaxSide)
            return zoo::Status::error("preprocess: image or target size larger than " + std::to_string(kMaxSide));

        const auto [new_h, new_w] = resized_size_for_shorter_side(height, width, spec.resize_shorter);
        if (new_h <= 0 || new_w <= 0 || new_h > kMaxSide || new_w > kMaxSide)
            return zoo::Status::error("preprocess: resizing " + std::to_string(height) + "x" + std::to_string(width) +
                                      " to shorter side " + std::to_string(spec.resize_shorter) +
                                      " gives an unusable size " + std::to_string(new_h) + "x" + std::to_string(new_w));

        const int ch = spec.crop_height, cw = spec.crop_width;
        const int top = crop_origin(new_h, ch), left = crop_origin(new_w, cw);
        // The part of the crop window that lies inside the resized image; the rest is zero padding.
        const int r0 = std::max(top, 0), r1 = std::min(top + ch, new_h);
        const int c0 = std::max(left, 0), c1 = std::min(left + cw, new_w);
        const std::vector<uint8_t> window = resize_window(rgb, height, width, 3, new_h, new_w, r0, r1, c0, c1);

        // to float: v / 255 then (v - mean) / std, in float32 and in this order, as torchvision's
        // convert_image_dtype and normalize compute it; a table per channel gives the same values.
        std::array<std::array<float, 256>, 3> lut{};
        for (size_t c = 0; c < 3; ++c)
            for (int v = 0; v < 256; ++v) {
                const float scaled = static_cast<float>(v) / 255.0f;
                lut[c][static_cast<size_t>(v)] = (scaled - spec.mean[c]) / spec.std[c];
            }

        zoo::Tensor out(zoo::Shape{1, 3, ch, cw});
        const size_t plane = static_cast<size_t>(ch) * static_cast<size_t>(cw);
        const int win_w = c1 - c0;
        for (size_t c = 0; c < 3; ++c) {
            float* dst = out.data.data() + c * plane;
            std::fill(dst, dst + plane, lut[c][0]);  // zero padding, normalised
            for (int y = r0; y < r1; ++y) {
                const uint8_t* src = window.data() + static_cast<size_t>(y - r0) * static_cast<size_t>(win_w) * 3;
                float* row = dst + static_cast<size_t>(y - top) * static_cast<size_t>(cw);
                for (int x = c0; x < c1; ++x)
                    row[x - left] = lut[c][src[static_cast<size_t>(x - c0) * 3 + c]];
            }
        }
        return out;
    } catch (const std::exception& e) {
        return zoo::Status::error(std::string("preprocess: ") + e.what());
    }
}

namespace {

// The first bytes of a file: enough for every signature checked here and for a JPEG's marker walk to its frame header.
std::vector<unsigned char> read_head(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> b(64 * 1024);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()));
    b.resize(static_cast<size_t>(in.gcount()));
    return b;
}

bool bytes_at(const std::vector<unsigned char>& b, size_t at, const char* text, size_t n) {
    return b.size() >= at + n && std::memcmp(b.data() + at, text, n) == 0;
}

// The formats handed to OpenCV, by their signatures at byte 0. Everything else is refused before OpenCV sees it:
// cv::imread gives a file to the first of its decoders that claims it, and Debian's OpenCV carries many (DICOM through
// GDCM, GDAL, OpenEXR, JPEG 2000) that a photo never needs and that abort the process on hostile input (GDCM asserts).
// Each signature here is one OpenCV checks before any of those decoders in its list (imgcodecs/src/loadsave.cpp,
// ImageCodecInitializer), so a file that passes reaches the decoder its first bytes name.
const char* accepted_format(const std::vector<unsigned char>& b) {
    if (bytes_at(b, 0, "\xFF\xD8\xFF", 3)) return "JPEG";
    if (bytes_at(b, 0, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (bytes_at(b, 0, "BM", 2)) return "BMP";
    if (bytes_at(b, 0, "RIFF", 4) && bytes_at(b, 8, "WEBP", 4)) return "WebP";
    if (bytes_at(b, 0, "II*\0", 4) || bytes_at(b, 0, "MM\0*", 4)) return "TIFF";
    // PBM / PGM / PPM (P1-P6) and PAM (P7): 'P', the digit, then white space.
    if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && std::isspace(b[2])) return "PNM";
    return nullptr;
}

// Decoders after ours in OpenCV's list that look past byte 0 (DICOM: "DICM" at 128; GDAL's DTED: "DTED" at 140): a
// file whose own decoder declines it (a WebP whose header does not parse, say) would fall through to them.
const char* foreign_signature(const std::vector<unsigned char>& b) {
    if (bytes_at(b, 128, "DICM", 4)) return "a DICOM signature ('DICM' at byte 128)";
    if (bytes_at(b, 140, "DTED", 4)) return "a DTED signature ('DTED' at byte 140)";
    return nullptr;
}

std::string first_bytes_hex(const std::vector<unsigned char>& b) {
    static const char* const digits = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < std::min<size_t>(b.size(), 8); ++i) {
        if (i) out += ' ';
        out += digits[b[i] >> 4];
        out += digits[b[i] & 15];
    }
    if (out.empty()) return "nothing: the file is empty";
    // The same bytes as text, so an HTML error page or a YAML file saved as .jpg is recognised at a glance.
    out += " (\"";
    for (size_t i = 0; i < std::min<size_t>(b.size(), 8); ++i) out += std::isprint(b[i]) ? static_cast<char>(b[i]) : '.';
    return out + "\")";
}

// Width and height a PNG, JPEG or BMP header declares (other formats: nullopt, OpenCV's own cap applies).
std::optional<std::pair<int64_t, int64_t>> declared_image_size(const std::vector<unsigned char>& b) {
    auto be = [&](size_t at, int n) {
        int64_t v = 0;
        for (int i = 0; i < n; ++i) v = (v << 8) | b[at + static_cast<size_t>(i)];
        return v;
    };
    auto le = [&](size_t at) {
        return static_cast<int64_t>(static_cast<int32_t>(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (static_cast<uint32_t>(b[at + 3]) << 24)));
    };
    if (b.size() >= 24 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(b.data() + 12, "IHDR", 4) == 0)
        return std::make_pair(be(16, 4), be(20, 4));
    if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') return std::make_pair(std::abs(le(18)), std::abs(le(22)));
    if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
        // Walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT C4, JPG C8, DAC CC).
        size_t pos = 2;
        while (pos + 9 < b.size()) {
            if (b[pos] != 0xFF) return std::nullopt;
            const unsigned char m = b[pos + 1];
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
                return std::make_pair(be(pos + 7, 2), be(pos + 5, 2));
            pos += 2 + static_cast<size_t>(be(pos + 2, 2));
        }
    }
    return std::nullopt;
}

zoo::Status check_signature(const std::string& path, const std::vector<unsigned char>& head) {
    const std::string failure = path + ": the file could not be decoded as an image";
    const char* format = accepted_format(head);
    if (!format)
        return zoo::Status::error(zoo::StatusCode::InvalidArgument,
                                  failure + " (expected a JPEG, PNG, BMP, WebP, TIFF or PNM file; its first bytes are " +
                                      first_bytes_hex(head) + ")");
    if (const char* other = foreign_signature(head))
        return zoo::Status::error(zoo::StatusCode::InvalidArgument,
                                  failure + " (it starts like a " + std::string(format) + " file but also carries " +
                                      other + ", a format this runner does not read)");
    return zoo::Status::ok();
}

}  // namespace

zoo::Result<zoo::Tensor> load_image(const std::string& path, const PreprocessSpec& spec) {
    const std::string failure = path + ": the file could not be decoded as an image";
    try {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) return zoo::Status::error(failure + " (no such file)");
        if (std::filesystem::is_directory(path, ec)) return zoo::Status::error(failure + " (it is a directory)");
        // A FIFO would block imread forever.
        if (!std::filesystem::is_regular_file(path, ec)) return zoo::Status::error(failure + " (not a regular file)");

        // The declared size is checked before OpenCV allocates for it (its own cap, 2^30 pixels, is fixed when the
        // library loads and far too high).
        const std::vector<unsigned char> head = read_head(path);
        if (auto signature = check_signature(path, head); !signature) return signature;
        if (const auto dims = declared_image_size(head)) {
            const double pixels = static_cast<double>(dims->first) * static_cast<double>(dims->second);
            if (pixels > static_cast<double>(limits().image_pixels))
                return zoo::Status::error(path + ": the image declares " + std::to_string(dims->first) + " x " +
                                          std::to_string(dims->second) + " pixels, more than " +
                                          std::to_string(limits().image_pixels) + " " + limit_hint("image_pixels"));
        }
        // IMREAD_COLOR: always 3 channels, 8 bits (alpha dropped, gray replicated, 16-bit scaled by 1/256).
        // IMREAD_IGNORE_ORIENTATION: keep stored pixel order, as PIL.Image.open does.
        // OpenCV builds its codec registry on first use behind a guard whose fast path is a load in OpenCV's own
        // (uninstrumented) code, so ThreadSanitizer sees a later thread read the registry with no edge to the thread
        // that built it. Building it here, behind our own guard, gives every decoding thread that edge.
        static const bool codecs_ready = cv::haveImageWriter(".png");
        (void)codecs_ready;
        cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
        if (bgr.empty())
            return zoo::Status::error(failure + " (unsupported format, corrupt or unreadable)");
        if (bgr.type() != CV_8UC3)
            return zoo::Status::error(failure + " (decoder returned an unexpected pixel type " +
                                      std::to_string(bgr.type()) + ")");

        // BGR -> RGB in place (imread's Mat is continuous and ours alone): no second full-size copy of a large photo.
        if (!bgr.isContinuous()) bgr = bgr.clone();
        uint8_t* px = bgr.ptr<uint8_t>(0);
        const size_t count = static_cast<size_t>(bgr.rows) * static_cast<size_t>(bgr.cols);
        for (size_t i = 0; i < count; ++i) std::swap(px[3 * i], px[3 * i + 2]);
        auto result = preprocess_rgb8(px, bgr.rows, bgr.cols, spec);
        if (!result) return result.status().with_context(path);
        return result;
    } catch (const std::exception& e) {
        return zoo::Status::error(failure + " (" + e.what() + ")");
    }
}

zoo::Status check_image_signature(const std::string& path) {
    try {
        return check_signature(path, read_head(path));
    } catch (const std::exception& e) {
        return zoo::Status::error(path + ": the file could not be read (" + e.what() + ")");
    }
}

zoo::Result<std::vector<std::string>> list_images(const std::string& folder) {
    try {
        namespace fs = std::filesystem;
        std::error_code ec;
        if (!fs::exists(folder, ec)) return zoo::Status::error(folder + ": image folder does not exist");
        if (!fs::is_directory(folder, ec)) return zoo::Status::error(folder + ": not a directory");

        static const char* const kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"};
        std::vector<std::pair<std::string, std::string>> found;  // (file name, full path)
        fs::directory_iterator it(folder, ec);
        if (ec) return zoo::Status::error(folder + ": cannot list the folder: " + ec.message());
        for (const fs::directory_iterator end; it != end; it.increment(ec)) {
            if (ec) return zoo::Status::error(folder + ": cannot list the folder: " + ec.message());
            std::error_code type_ec;
            if (!it->is_regular_file(type_ec)) continue;  // follows symlinks; skips folders and broken links
            const fs::path& p = it->path();
            const std::string ext = to_lower(p.extension().string());
            if (std::find(std::begin(kExtensions), std::end(kExtensions), ext) == std::end(kExtensions)) continue;
            found.emplace_back(p.filename().string(), p.string());
        }
        if (ec) return zoo::Status::error(folder + ": cannot list the folder: " + ec.message());
        std::sort(found.begin(), found.end());
        std::vector<std::string> paths;
        paths.reserve(found.size());
        for (auto& f : found) paths.push_back(std::move(f.second));
        return paths;
    } catch (const std::exception& e) {
        return zoo::Status::error(folder + ": cannot list the folder: " + e.what());
    }
}

}  // namespace zoo::runner
