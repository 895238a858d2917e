// Image decoding and classification preprocessing, reproducing torchvision's ImageClassification preset as it runs
// on a PIL image (torchvision 0.14 / Pillow 9.4): shorter side resized with PIL's antialiased BILINEAR filter in
// 8-bit fixed point, center crop, /255, normalise, RGB, NCHW.
//
// The resampler is a re-implementation of Pillow's two-pass (horizontal then vertical) convolution resize, so the
// 8-bit intermediate and output pixels are the same as Pillow's, and the float output the same as torchvision's.
// OpenCV is used for decoding only.
//
// All functions are thread safe (no shared state) and never throw; failures come back as a Status.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

struct PreprocessSpec {
    // The shorter side is resized to this; the longer side to int(resize_shorter * long / short) (torchvision's rule
    // for an int size). torchvision's presets: 256, and 232 for MobileNetV3-Large IMAGENET1K_V2.
    int resize_shorter = 256;
    // Center crop. If larger than the resized image it is zero padded first (as torchvision's center_crop does).
    int crop_height = 224, crop_width = 224;
    std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // per RGB channel, applied to values in [0, 1]
    std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// Decodes an image file with OpenCV and preprocesses it with preprocess_rgb8.
// Returns a float32 tensor [1, 3, crop_height, crop_width].
// Decoding choices (chosen to match `PIL.Image.open(path).convert("RGB")`, which is what torchvision users do):
//  - JPEG, PNG, BMP, WebP, TIFF and PNM, decoded by OpenCV; other formats OpenCV could read are refused first (see
//    check_image_signature); grayscale and palette images are expanded to RGB by replicating / looking up;
//  - an alpha channel is dropped, not composited (PIL's RGBA -> RGB conversion also drops it);
//  - 16-bit images are reduced to 8 bits by OpenCV (value / 256). PIL would instead clip 16-bit values to 255, which
//    destroys the image, so here we deliberately differ;
//  - the EXIF orientation tag is ignored (PIL's open() does not apply it either), so pixels are in stored order;
//  - embedded ICC colour profiles are ignored (as by PIL).
// Errors: missing / unreadable / undecodable file -> "<path>: the file could not be decoded as an image ...".
zoo::Result<zoo::Tensor> load_image(const std::string& path, const PreprocessSpec& spec);
// Whether the file's first bytes are those of a format load_image accepts (JPEG, PNG, BMP, WebP, TIFF, PNM); the error
// names the expected formats and the bytes found. Cheap: nothing is decoded.
zoo::Status check_image_signature(const std::string& path);

// Same as load_image from already-decoded pixels: `rgb` points to height * width * 3 bytes, row-major, interleaved
// R, G, B, no row padding. The caller keeps ownership; the buffer is only read during the call.
zoo::Result<zoo::Tensor> preprocess_rgb8(const uint8_t* rgb, int height, int width, const PreprocessSpec& spec);

// The image files directly inside `folder` (not recursive), chosen by extension, case-insensitive:
// png jpg jpeg bmp webp tif tiff. Returned as full paths (folder joined with the file name), sorted by file name
// (byte-wise). Errors if the folder does not exist or is not a directory; an empty folder gives an empty list.
zoo::Result<std::vector<std::string>> list_images(const std::string& folder);

// Building blocks, exposed for tests and other callers.

// torchvision's output size for resizing the shorter side to `shorter`: {new_height, new_width}.
std::array<int, 2> resized_size_for_shorter_side(int height, int width, int shorter);

// Pillow-compatible antialiased bilinear resize of 8-bit interleaved pixels with `channels` channels
// (Image.resize(size, BILINEAR) on a mode "L"/"RGB" image). Returns out_height * out_width * channels bytes.
// Preconditions (checked by the caller): all sizes > 0, in has height * width * channels bytes.
std::vector<uint8_t> resize_bilinear_pil(const uint8_t* in, int height, int width, int channels, int out_height,
                                         int out_width);

}  // namespace zoo::runner
