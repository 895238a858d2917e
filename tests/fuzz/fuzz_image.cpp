// Image decode + preprocess (runner --input IMAGE): OpenCV's decoders behind our header checks and the exact
// torchvision preprocessing. load_image reads a path, so each input is written to one file per process first.
#include <unistd.h>

#include <fstream>
#include <string>

#include "core/limits.hpp"
#include "image/preprocess.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/zoo_fuzz_image_" + std::to_string(::getpid()) + ".img";
    // Small images only: the fuzzer's memory limit, not the runner's, would otherwise decide.
    zoo::runner::limits().image_pixels = 1 << 20;
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    zoo::runner::PreprocessSpec spec;
    spec.resize_shorter = 36;
    spec.crop_height = 32;
    spec.crop_width = 32;
    (void)zoo::runner::load_image(path, spec);
    return 0;
}
