// .npy decoding (runner --input FILE.npy, reference tensors).
#include "io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)zoo::runner::decode_npy(std::span<const uint8_t>(data, size), "fuzz.npy");
    return 0;
}
