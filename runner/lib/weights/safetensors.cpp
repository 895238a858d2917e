#include "weights/safetensors.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/limits.hpp"
#include "weights/weights.hpp"

namespace zoo::runner {
namespace {

using nlohmann::json;

// Failures travel as this exception inside the component and become a Status at the public functions; messages
// lack only the file name.
struct SafetensorsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::optional<StoredType> dtype_from_name(const std::string& name) {
    static const std::map<std::string, StoredType> types = {
        {"F32", StoredType::F32}, {"F16", StoredType::F16}, {"BF16", StoredType::BF16}, {"F64", StoredType::F64},
        {"I64", StoredType::I64}, {"I32", StoredType::I32}, {"I16", StoredType::I16},   {"I8", StoredType::I8},
        {"U8", StoredType::U8},   {"BOOL", StoredType::Bool},
    };
    auto it = types.find(name);
    if (it == types.end()) return std::nullopt;
    return it->second;
}

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

struct Entry {
    std::string name;
    StoredType type = StoredType::F32;
    Shape shape;
    uint64_t begin = 0;
    uint64_t end = 0;
};

// A value for an error message. json::dump() recurses, so containers are described, never printed: a header of
// 100,000 nested arrays must not overflow the stack while we explain what is wrong with it.
std::string brief(const json& v) {
    if (v.is_array()) return "an array of " + std::to_string(v.size()) + " elements";
    if (v.is_object()) return "an object of " + std::to_string(v.size()) + " fields";
    std::string text = v.dump();
    return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

// A shape for an error message: its dimensions when they are all integers, else brief().
std::string brief_shape(const json& shape) {
    std::string out = "[";
    for (const json& d : shape) {
        if (!d.is_primitive()) return brief(shape);
        out += (out.size() > 1 ? ", " : "") + d.dump();
    }
    return out + "]";
}

uint64_t as_u64(const json& v, const std::string& where) {
    if (!v.is_number_unsigned()) throw SafetensorsError(where + " must be a non-negative integer, found " + brief(v));
    return v.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const json& info) {
    const std::string where = "tensor '" + name + "'";
    if (!info.is_object()) throw SafetensorsError(where + ": expected an object, found " + brief(info));
    for (const auto& [field, value] : info.items()) {
        if (field != "dtype" && field != "shape" && field != "data_offsets") {
            throw SafetensorsError(where + ": unexpected field '" + field + "' (expected dtype, shape, data_offsets)");
        }
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
        if (!info.contains(field)) throw SafetensorsError(where + ": missing field '" + field + "'");
    }
    Entry e;
    e.name = name;
    const json& dtype = info["dtype"];
    if (!dtype.is_string()) throw SafetensorsError(where + ": dtype must be a string, found " + brief(dtype));
    const auto type = dtype_from_name(dtype.get<std::string>());
    if (!type) {
        throw SafetensorsError(where + ": unsupported dtype " + brief(dtype) +
                               " (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)");
    }
    e.type = *type;
    const json& shape = info["shape"];
    if (!shape.is_array()) throw SafetensorsError(where + ": shape must be an array, found " + brief(shape));
    uint64_t numel = 1;
    int64_t signed_numel = 1;  // the product as shape_numel() computes it: every partial product must fit in int64
    for (const json& d : shape) {
        const uint64_t dim = as_u64(d, where + ": shape dimension");
        if (dim > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, dim, &numel) ||
            __builtin_mul_overflow(signed_numel, static_cast<int64_t>(dim), &signed_numel)) {
            throw SafetensorsError(where + ": shape " + brief_shape(shape) + " overflows 64 bits");
        }
        e.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
        throw SafetensorsError(where + ": data_offsets must be [begin, end], found " + brief(offsets));
    }
    e.begin = as_u64(offsets[0], where + ": data_offsets begin");
    e.end = as_u64(offsets[1], where + ": data_offsets end");
    if (e.end < e.begin) {
        throw SafetensorsError(where + ": data_offsets end " + std::to_string(e.end) + " is before begin " +
                               std::to_string(e.begin));
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(stored_type_size(e.type)), &nbytes) ||
        e.end - e.begin != nbytes) {
        throw SafetensorsError(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                               "] span " + std::to_string(e.end - e.begin) + " bytes, but shape " + brief_shape(shape) +
                               " of " + dtype.get<std::string>() + " needs " + std::to_string(numel) + " x " +
                               std::to_string(stored_type_size(e.type)) + " bytes");
    }
    return e;
}

// Parses the header, refusing duplicate keys in any object (nlohmann would silently keep the last one).
json parse_header(std::string_view text) {
    std::vector<std::set<std::string>> seen;
    std::string duplicate;
    const int max_depth = static_cast<int>(std::min<int64_t>(limits().yaml_depth, 1 << 20));
    auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
        // A real header nests three levels; refusing deep nesting early keeps every later walk of the value shallow.
        if (depth > max_depth)
            throw SafetensorsError("header nests deeper than " + std::to_string(max_depth) + " levels " + limit_hint("yaml_depth"));
        switch (event) {
            case json::parse_event_t::object_start: seen.emplace_back(); break;
            case json::parse_event_t::object_end:
                if (!seen.empty()) seen.pop_back();
                break;
            case json::parse_event_t::key:
                if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
                    duplicate = parsed.get<std::string>();
                }
                break;
            default: break;
        }
        return true;
    };
    json header;
    try {
        header = json::parse(text.begin(), text.end(), callback);
    } catch (const json::exception& e) {
        throw SafetensorsError(std::string("header is not valid JSON: ") + e.what());
    }
    if (!duplicate.empty()) throw SafetensorsError("header has the key '" + duplicate + "' twice");
    return header;
}

WeightMap decode(std::span<const uint8_t> bytes) {
    if (bytes.size() < 8) {
        throw SafetensorsError("file is " + std::to_string(bytes.size()) + " bytes, too short for the 8-byte header length");
    }
    const uint64_t header_len = read_u64_le(bytes.data());
    if (header_len >= kSafetensorsMaxHeader) {
        throw SafetensorsError("header length " + std::to_string(header_len) + " exceeds the limit of " +
                               std::to_string(kSafetensorsMaxHeader) + " bytes (corrupt or not a safetensors file)");
    }
    if (header_len > bytes.size() - 8) {
        throw SafetensorsError("header length " + std::to_string(header_len) + " exceeds the " +
                               std::to_string(bytes.size() - 8) + " bytes that follow it (truncated file?)");
    }
    const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<size_t>(header_len));
    const json header = parse_header(text);
    if (!header.is_object()) throw SafetensorsError("header must be a JSON object, found " + std::string(header.type_name()));

    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__") {
            if (!value.is_object()) throw SafetensorsError("__metadata__ must be an object of strings, found " + brief(value));
            for (const auto& [mk, mv] : value.items()) {
                if (!mv.is_string()) throw SafetensorsError("__metadata__ value of '" + mk + "' must be a string, found " + brief(mv));
            }
            continue;
        }
        entries.push_back(parse_entry(key, value));
    }

    const std::span<const uint8_t> buffer = bytes.subspan(static_cast<size_t>(8 + header_len));
    // Offsets must tile the buffer exactly: sorted by begin, each tensor starts where the previous ended.
    std::vector<const Entry*> order;
    for (const Entry& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t expected_begin = 0;
    const Entry* previous = nullptr;
    for (const Entry* e : order) {
        if (e->begin != expected_begin) {
            if (e->begin < expected_begin) {
                throw SafetensorsError("tensor '" + e->name + "' data_offsets [" + std::to_string(e->begin) + ", " +
                                       std::to_string(e->end) + "] overlap tensor '" + previous->name + "' which ends at " +
                                       std::to_string(expected_begin));
            }
            throw SafetensorsError("tensor '" + e->name + "' begins at " + std::to_string(e->begin) + " but " +
                                   (previous ? "tensor '" + previous->name + "' ends" : std::string("the data buffer starts")) +
                                   " at " + std::to_string(expected_begin) + ": gaps in the data buffer are not allowed");
        }
        expected_begin = e->end;
        previous = e;
    }
    if (expected_begin != buffer.size()) {
        throw SafetensorsError("tensors cover " + std::to_string(expected_begin) + " bytes of the data buffer but it holds " +
                               std::to_string(buffer.size()) + " bytes" +
                               (expected_begin > buffer.size() ? " (truncated file?)" : " (trailing bytes)"));
    }

    WeightMap weights;
    for (const Entry& e : entries) {
        Tensor t;
        t.shape = e.shape;
        t.element_type = stored_type_element_type(e.type);
        const size_t numel = static_cast<size_t>((e.end - e.begin) / stored_type_size(e.type));
        // numel == 0 with a zero-sized shape; a rank-0 shape has numel 1 and 1 element of bytes.
        t.data.resize(static_cast<size_t>(shape_numel(t.shape)));
        if (t.data.size() != numel) throw SafetensorsError("tensor '" + e.name + "': internal size mismatch");
        decode_stored_elements(e.type, buffer.data() + e.begin, numel, t.data.data());
        weights.emplace(e.name, std::move(t));
    }
    return weights;
}

// How save stores each element type, and the value range an integer type can take.
struct SaveType {
    StoredType type;
    double min;
    double max;
};

SaveType save_type_of(ElementType t) {
    switch (t) {
        case ElementType::Int64: return {StoredType::I64, -9223372036854775808.0, 9223372036854775807.0};
        case ElementType::Int32: return {StoredType::I32, -2147483648.0, 2147483647.0};
        case ElementType::Int8: return {StoredType::I8, -128.0, 127.0};
        case ElementType::UInt8: return {StoredType::U8, 0.0, 255.0};
        case ElementType::Bool: return {StoredType::Bool, 0.0, 1.0};
        default: return {StoredType::F32, 0.0, 0.0};
    }
}

}  // namespace

bool looks_like_safetensors(std::span<const uint8_t> bytes) {
    if (bytes.size() < 10) return false;
    const uint64_t n = read_u64_le(bytes.data());
    return n >= 2 && n < kSafetensorsMaxHeader && n <= bytes.size() - 8 && bytes[8] == '{';
}

Result<WeightMap> load_safetensors_bytes(std::span<const uint8_t> bytes, const std::string& display_name) {
    try {
        return decode(bytes);
    } catch (const SafetensorsError& e) {
        return Status::error(display_name + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return Status::error(display_name + ": out of memory while loading the tensors");
    } catch (const std::exception& e) {
        return Status::error(display_name + ": unexpected error while loading: " + e.what());
    }
}

Result<WeightMap> load_safetensors(const std::string& path) {
    auto bytes = read_binary_file(path);
    if (!bytes.is_ok()) return bytes.status();
    return load_safetensors_bytes(bytes.value(), path);
}

Result<std::vector<uint8_t>> encode_safetensors(const WeightMap& weights) {
    try {
        json header = json::object();
        header["__metadata__"] = {{"format", "pt"}};
        uint64_t offset = 0;
        for (const auto& [name, t] : weights) {
            if (name == "__metadata__") return Status::error("tensor name '__metadata__' is reserved by safetensors");
            for (int64_t d : t.shape) {
                if (d < 0) return Status::error("tensor '" + name + "' has a negative dimension in shape " + shape_to_string(t.shape));
            }
            if (t.data.size() != static_cast<size_t>(t.numel())) {
                return Status::error("tensor '" + name + "' has " + std::to_string(t.data.size()) + " values but shape " +
                                     shape_to_string(t.shape) + " needs " + std::to_string(t.numel()));
            }
            const SaveType st = save_type_of(t.element_type);
            const uint64_t nbytes = t.data.size() * stored_type_size(st.type);
            header[name] = {{"dtype", stored_type_name(st.type)},
                            {"shape", t.shape},
                            {"data_offsets", {offset, offset + nbytes}}};
            offset += nbytes;
        }
        std::string text = header.dump();
        // Pad with spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned, as safetensors does.
        while ((8 + text.size()) % 8 != 0) text += ' ';

        std::vector<uint8_t> out(8 + text.size() + offset);
        uint64_t n = text.size();
        for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
        std::memcpy(out.data() + 8, text.data(), text.size());
        uint8_t* p = out.data() + 8 + text.size();
        for (const auto& [name, t] : weights) {
            const SaveType st = save_type_of(t.element_type);
            if (st.type == StoredType::F32) {
                if (!t.data.empty()) std::memcpy(p, t.data.data(), t.data.size() * sizeof(float));
                p += t.data.size() * sizeof(float);
                continue;
            }
            for (size_t i = 0; i < t.data.size(); ++i) {
                const double v = t.data[i];
                // The max of I64 is not a float; 2^63 rounds up to it, hence the strict comparison there.
                const bool in_range = st.type == StoredType::I64 ? (v >= st.min && v < st.max) : (v >= st.min && v <= st.max);
                if (!std::isfinite(v) || v != std::trunc(v) || !in_range) {
                    return Status::error("tensor '" + name + "' is " + element_type_name(t.element_type) + " but element " +
                                         std::to_string(i) + " is " + std::to_string(v) + ", which that type cannot hold");
                }
                const int64_t iv = static_cast<int64_t>(v);
                const size_t size = stored_type_size(st.type);
                for (size_t b = 0; b < size; ++b) p[b] = static_cast<uint8_t>(static_cast<uint64_t>(iv) >> (8 * b));
                p += size;
            }
        }
        return out;
    } catch (const std::bad_alloc&) {
        return Status::error("out of memory while encoding safetensors");
    } catch (const std::exception& e) {
        return Status::error(std::string("unexpected error while encoding safetensors: ") + e.what());
    }
}

}  // namespace zoo::runner
