// The restricted unpickler alone, so the fuzzer need not build a zip around every pickle.
#include "weights/pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)zoo::runner::pickle::unpickle(std::span<const uint8_t>(data, size), "fuzz.pkl");
    return 0;
}
