// safetensors weights (runner --weights FILE.safetensors).
#include "weights/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)zoo::runner::load_safetensors_bytes(std::span<const uint8_t>(data, size), "fuzz.safetensors");
    return 0;
}
