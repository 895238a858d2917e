#include "weights/weights.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>

#include "weights/safetensors.hpp"
#include "weights/torch_pth.hpp"

namespace zoo::runner {
namespace {

template <class T>
T load_le(const uint8_t* p) {
    // memcpy: file data has no alignment guarantee. Hosts are little-endian (x86-64, arm64 Linux).
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::string first_bytes_hex(std::span<const uint8_t> bytes) {
    std::string out;
    char buf[4];
    for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
        if (i) out += ' ';
        out += buf;
    }
    return out.empty() ? "(empty file)" : out;
}

}  // namespace

size_t stored_type_size(StoredType t) {
    switch (t) {
        case StoredType::F64:
        case StoredType::I64: return 8;
        case StoredType::F32:
        case StoredType::I32: return 4;
        case StoredType::F16:
        case StoredType::BF16:
        case StoredType::I16: return 2;
        case StoredType::I8:
        case StoredType::U8:
        case StoredType::Bool: return 1;
    }
    return 1;
}

ElementType stored_type_element_type(StoredType t) {
    switch (t) {
        case StoredType::F32: return ElementType::Float32;
        case StoredType::F64: return ElementType::Float64;
        case StoredType::F16: return ElementType::Float16;
        case StoredType::BF16: return ElementType::BFloat16;
        case StoredType::I64: return ElementType::Int64;
        case StoredType::I32:
        case StoredType::I16: return ElementType::Int32;
        case StoredType::I8: return ElementType::Int8;
        case StoredType::U8: return ElementType::UInt8;
        case StoredType::Bool: return ElementType::Bool;
    }
    return ElementType::Float32;
}

const char* stored_type_name(StoredType t) {
    switch (t) {
        case StoredType::F32: return "F32";
        case StoredType::F64: return "F64";
        case StoredType::F16: return "F16";
        case StoredType::BF16: return "BF16";
        case StoredType::I64: return "I64";
        case StoredType::I32: return "I32";
        case StoredType::I16: return "I16";
        case StoredType::I8: return "I8";
        case StoredType::U8: return "U8";
        case StoredType::Bool: return "BOOL";
    }
    return "?";
}

float half_bits_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1f;
    const uint32_t mantissa = h & 0x3ff;
    uint32_t bits = 0;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN (payload kept)
    } else if (exponent != 0) {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;  // signed zero
    } else {
        // Subnormal half: value = mantissa * 2^-24, exact in float.
        const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
        std::memcpy(&bits, &magnitude, sizeof bits);
        bits |= sign;
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

float bfloat16_bits_to_float(uint16_t b) {
    const uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

void decode_stored_elements(StoredType t, const uint8_t* src, size_t count, float* dst) {
    if (count == 0) return;  // dst may be null for an empty tensor, and memcpy must not see a null pointer
    const size_t step = stored_type_size(t);
    switch (t) {
        case StoredType::F32: std::memcpy(dst, src, count * sizeof(float)); return;
        case StoredType::F64:
            for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load_le<double>(src + i * step));
            return;
        case StoredType::F16:
            for (size_t i = 0; i < count; ++i) dst[i] = half_bits_to_float(load_le<uint16_t>(src + i * step));
            return;
        case StoredType::BF16:
            for (size_t i = 0; i < count; ++i) dst[i] = bfloat16_bits_to_float(load_le<uint16_t>(src + i * step));
            return;
        case StoredType::I64:
            for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load_le<int64_t>(src + i * step));
            return;
        case StoredType::I32:
            for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load_le<int32_t>(src + i * step));
            return;
        case StoredType::I16:
            for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load_le<int16_t>(src + i * step));
            return;
        case StoredType::I8:
            for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(static_cast<int8_t>(src[i]));
            return;
        case StoredType::U8:
            for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(src[i]);
            return;
        case StoredType::Bool:
            for (size_t i = 0; i < count; ++i) dst[i] = src[i] != 0 ? 1.0f : 0.0f;
            return;
    }
}

Result<std::vector<uint8_t>> read_binary_file(const std::string& path) {
    try {
        std::error_code ec;
        const auto status = std::filesystem::status(path, ec);
        if (ec || !std::filesystem::exists(status)) return Status::error(path + ": no such file");
        if (std::filesystem::is_directory(status)) return Status::error(path + ": is a directory, expected a file");
        // A FIFO or device would block the open or the read forever (or never end).
        if (!std::filesystem::is_regular_file(status)) return Status::error(path + ": is not a regular file (a pipe or device?)");
        std::ifstream in(path, std::ios::binary);
        if (!in) return Status::error(path + ": cannot open for reading: " + std::strerror(errno));
        in.seekg(0, std::ios::end);
        const std::streamoff size = in.tellg();
        if (size < 0) return Status::error(path + ": cannot determine the file size");
        in.seekg(0, std::ios::beg);
        std::vector<uint8_t> bytes(static_cast<size_t>(size));
        if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
            return Status::error(path + ": read failed after " + std::to_string(in.gcount()) + " of " +
                                 std::to_string(size) + " bytes");
        }
        return bytes;
    } catch (const std::bad_alloc&) {
        return Status::error(path + ": out of memory reading the file");
    } catch (const std::exception& e) {
        return Status::error(path + ": cannot read: " + e.what());
    }
}

Result<WeightMap> load_weights(const std::string& path) {
    auto read = read_binary_file(path);
    if (!read.is_ok()) return read.status();
    const std::vector<uint8_t>& bytes = read.value();
    const PthFormat pth = detect_pth_format(bytes);
    if (pth == PthFormat::Zip) return load_pth_bytes(bytes, path);
    // Safetensors before the legacy check: a header length such as 0x0280 also starts with 80 02. A legacy file's
    // first 8 bytes (80 02 8a 0a 6c fc 9c 46) are never a plausible header length.
    const bool named_safetensors = std::filesystem::path(path).extension() == ".safetensors";
    if (named_safetensors || looks_like_safetensors(bytes)) return load_safetensors_bytes(bytes, path);
    if (pth == PthFormat::Legacy) return load_pth_bytes(bytes, path);
    return Status::error(path + ": unknown weight file format (first bytes: " + first_bytes_hex(bytes) +
                         "). Accepted: torch.save .pth/.pt in the zip format (starts with 'PK\\x03\\x04') or the legacy "
                         "format (starts with 80 02 8a 0a), and .safetensors (8-byte header length, then '{')");
}

Status save_safetensors(const std::string& path, const WeightMap& weights) {
    try {
        auto encoded = encode_safetensors(weights);
        if (!encoded.is_ok()) return encoded.status().with_context(path);
        // Write beside the target and rename, so a failed write never leaves a half file under the real name.
        const std::string temp = path + ".partial";
        {
            std::ofstream out(temp, std::ios::binary | std::ios::trunc);
            if (!out) return Status::error(path + ": cannot open '" + temp + "' for writing: " + std::strerror(errno));
            out.write(reinterpret_cast<const char*>(encoded->data()), static_cast<std::streamsize>(encoded->size()));
            out.close();
            if (!out) {
                std::remove(temp.c_str());
                return Status::error(path + ": write failed (disk full?)");
            }
        }
        std::error_code ec;
        std::filesystem::rename(temp, path, ec);
        if (ec) {
            std::remove(temp.c_str());
            return Status::error(path + ": cannot move the written file into place: " + ec.message());
        }
        return Status::ok();
    } catch (const std::exception& e) {
        return Status::error(path + ": cannot save: " + e.what());
    }
}

}  // namespace zoo::runner
