// torch .pth weights, zip and legacy formats (runner --weights FILE.pth): zip reader, unpickler and tensor views.
#include "weights/torch_pth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)zoo::runner::load_pth_bytes(std::span<const uint8_t>(data, size), "fuzz.pth");
    return 0;
}
