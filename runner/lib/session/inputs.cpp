#include "session/inputs.hpp"

#include <boost/filesystem.hpp>
#include <cmath>
#include <random>

#include "io/npy.hpp"

namespace zoo::runner {

namespace fs = boost::filesystem;

bool is_npy_path(const std::string& path) { return fs::path(path).extension() == ".npy"; }

PreprocessSpec preprocess_for(int64_t height, int64_t width, int resize_shorter) {
    PreprocessSpec spec;
    spec.crop_height = static_cast<int>(height);
    spec.crop_width = static_cast<int>(width);
    spec.resize_shorter = resize_shorter > 0 ? resize_shorter
                                             : static_cast<int>(std::lround(static_cast<double>(std::min(height, width)) * 256.0 / 224.0));
    return spec;
}

Result<Shape> npy_input_shape(const std::string& path) {
    ZOO_ASSIGN_OR_RETURN(NpyInfo info, inspect_npy(path));
    if (!info.floating)
        return Status::error(path + ": dtype '" + info.descr + "' is not a float type; a .npy input is an already "
                             "preprocessed float tensor (float16, float32 or float64), not image bytes or labels");
    if (info.shape.size() != 4 || info.shape[0] <= 0)
        return Status::error(path + ": expected a float NCHW tensor [N, C, H, W], found shape " + shape_to_string(info.shape));
    return info.shape;
}

Result<int64_t> npy_batch(const std::string& path) {
    ZOO_ASSIGN_OR_RETURN(Shape shape, npy_input_shape(path));
    return shape[0];
}

namespace {

// Splits `items` tensors of [1, C, H, W] into batches, padding the last one by repeating its last item.
InputSet batch_items(const std::vector<Tensor>& items, const Shape& shape) {
    InputSet set;
    const int64_t batch = shape[0];
    const int64_t per_item = shape_numel(shape) / batch;
    for (size_t start = 0; start < items.size(); start += static_cast<size_t>(batch)) {
        Tensor t(shape);
        for (int64_t b = 0; b < batch; ++b) {
            size_t idx = std::min(start + static_cast<size_t>(b), items.size() - 1);
            std::copy(items[idx].data.begin(), items[idx].data.end(), t.data.begin() + b * per_item);
        }
        set.batches.push_back({std::move(t)});
    }
    set.items = static_cast<int64_t>(items.size());
    return set;
}

}  // namespace

Result<InputSet> load_inputs(const std::string& input, const Shape& shape, uint64_t seed, int resize_shorter) {
    const int64_t batch = shape[0];
    if (input == "random") {
        InputSet set;
        Tensor t(shape);
        std::mt19937_64 rng(seed + 1);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        for (auto& v : t.data) v = dist(rng);
        set.batches.push_back({std::move(t)});
        set.items = batch;
        for (int64_t i = 0; i < batch; ++i) set.item_names.push_back("random[" + std::to_string(i) + "]");
        set.kind = "random";
        return set;
    }
    boost::system::error_code ec;
    if (!fs::exists(input, ec)) return Status::error(input + ": no such file or folder (--input takes an image, a folder of images, a .npy tensor or 'random')");
    if (is_npy_path(input)) {
        ZOO_TRY(npy_input_shape(input).status());
        ZOO_ASSIGN_OR_RETURN(Tensor t, read_npy(input));
        Shape expected = shape;
        if (t.shape != expected)
            return Status::error(input + ": expected a preprocessed float32 tensor of shape " + shape_to_string(expected) +
                                 " (batch, channels, height, width), found " + shape_to_string(t.shape));
        InputSet set;
        set.batches.push_back({std::move(t)});
        set.items = batch;
        for (int64_t i = 0; i < batch; ++i) set.item_names.push_back(fs::path(input).filename().string() + "[" + std::to_string(i) + "]");
        set.kind = "npy";
        return set;
    }
    std::vector<std::string> files;
    if (fs::is_directory(input, ec)) {
        ZOO_ASSIGN_OR_RETURN(files, list_images(input));
        if (files.empty()) return Status::error(input + ": the folder holds no images (png, jpg, jpeg, bmp, webp, tif)");
    } else {
        files.push_back(input);
    }
    if (shape[1] != 3) return Status::error("images give 3 channels but the model expects " + std::to_string(shape[1]));
    const PreprocessSpec spec = preprocess_for(shape[2], shape[3], resize_shorter);
    std::vector<Tensor> items;
    for (const auto& f : files) {
        ZOO_ASSIGN_OR_RETURN(Tensor t, load_image(f, spec));
        items.push_back(std::move(t));
    }
    InputSet set = batch_items(items, shape);
    for (const auto& f : files) set.item_names.push_back(fs::path(f).filename().string());
    set.kind = "images";
    return set;
}

}  // namespace zoo::runner
