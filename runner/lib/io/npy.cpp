#include "io/npy.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "weights/weights.hpp"

namespace zoo::runner {
namespace {

// Failures travel as this exception inside the component and become a Status at the public functions; messages
// lack only the file name.
struct NpyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// numpy pads headers so the data starts on a 64-byte boundary (numpy.lib.format.ARRAY_ALIGN).
constexpr size_t kAlign = 64;

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
// This parses exactly the subset numpy writes: string keys; string, bool and int-tuple values.
class HeaderParser {
public:
    explicit HeaderParser(std::string_view text) : m_text(text) {}

    struct Header {
        std::string descr;
        bool fortran_order = false;
        Shape shape;
    };

    Header parse() {
        Header h;
        bool has_descr = false, has_order = false, has_shape = false;
        expect('{');
        while (true) {
            skip_space();
            if (peek() == '}') {
                ++m_pos;
                break;
            }
            const std::string key = string_literal();
            expect(':');
            skip_space();
            if (key == "descr") {
                if (peek() != '\'' && peek() != '"') {
                    throw NpyError("header 'descr' is not a simple dtype string (structured dtypes are not supported)");
                }
                h.descr = string_literal();
                has_descr = true;
            } else if (key == "fortran_order") {
                h.fortran_order = boolean();
                has_order = true;
            } else if (key == "shape") {
                h.shape = int_tuple();
                has_shape = true;
            } else {
                throw NpyError("header has an unexpected key '" + key + "' (expected descr, fortran_order, shape)");
            }
            skip_space();
            if (peek() == ',') {
                ++m_pos;
            } else if (peek() != '}') {
                fail("',' or '}'");
            }
        }
        skip_space();
        if (m_pos != m_text.size()) fail("the end of the header");
        if (!has_descr || !has_order || !has_shape) {
            throw NpyError("header lacks one of 'descr', 'fortran_order', 'shape': " + std::string(m_text));
        }
        return h;
    }

private:
    [[noreturn]] void fail(const std::string& expected) const {
        throw NpyError("malformed header: expected " + expected + " at character " + std::to_string(m_pos) + " of " +
                       std::string(m_text.substr(0, 200)));
    }
    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
    void skip_space() {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) ++m_pos;
    }
    void expect(char c) {
        skip_space();
        if (peek() != c) fail(std::string("'") + c + "'");
        ++m_pos;
    }
    std::string string_literal() {
        skip_space();
        const char quote = peek();
        if (quote != '\'' && quote != '"') fail("a quoted string");
        const size_t end = m_text.find(quote, m_pos + 1);
        if (end == std::string_view::npos) fail("a closing quote");
        std::string s(m_text.substr(m_pos + 1, end - m_pos - 1));
        m_pos = end + 1;
        return s;
    }
    bool boolean() {
        if (m_text.substr(m_pos, 4) == "True") {
            m_pos += 4;
            return true;
        }
        if (m_text.substr(m_pos, 5) == "False") {
            m_pos += 5;
            return false;
        }
        fail("True or False");
    }
    Shape int_tuple() {
        Shape shape;
        expect('(');
        while (true) {
            skip_space();
            if (peek() == ')') {
                ++m_pos;
                return shape;
            }
            if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("a non-negative integer dimension");
            int64_t v = 0;
            while (std::isdigit(static_cast<unsigned char>(peek()))) {
                if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, int64_t{peek() - '0'}, &v)) {
                    throw NpyError("shape dimension overflows 64 bits");
                }
                ++m_pos;
            }
            if (peek() == 'L') ++m_pos;  // Python 2 long suffix in old files
            shape.push_back(v);
            if (shape.size() > 64) throw NpyError("shape has more than 64 dimensions");
            skip_space();
            if (peek() == ',') {
                ++m_pos;
            } else if (peek() != ')') {
                fail("',' or ')' in the shape");
            }
        }
    }

    std::string_view m_text;
    size_t m_pos = 0;
};

std::optional<StoredType> dtype_of(const std::string& descr) {
    if (descr.size() < 3) return std::nullopt;
    const char order = descr[0];
    const std::string code = descr.substr(1);
    static const std::map<std::string, StoredType> types = {
        {"f2", StoredType::F16}, {"f4", StoredType::F32}, {"f8", StoredType::F64}, {"i8", StoredType::I64},
        {"i4", StoredType::I32}, {"i2", StoredType::I16}, {"i1", StoredType::I8},  {"u1", StoredType::U8},
        {"b1", StoredType::Bool},
    };
    auto it = types.find(code);
    if (it == types.end()) return std::nullopt;
    const bool one_byte = stored_type_size(it->second) == 1;
    if (order == '<' || order == '=' || (order == '|' && one_byte)) return it->second;
    return std::nullopt;
}

// What the header says: shape, stored type and where the data starts; `total_size` is the size of the whole file,
// so a header can be checked against it with only its own bytes read.
struct Layout {
    HeaderParser::Header header;
    StoredType type = StoredType::F32;
    int64_t numel = 1;
    size_t data_offset = 0;
};

Layout parse_layout(std::span<const uint8_t> bytes, uint64_t total_size) {
    if (bytes.size() < kMagicSize + 2 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
        throw NpyError("not a .npy file (missing the \\x93NUMPY magic)");
    }
    const uint8_t major = bytes[6];
    const uint8_t minor = bytes[7];
    size_t length_size = 0;
    if (major == 1 && minor == 0) {
        length_size = 2;
    } else if ((major == 2 || major == 3) && minor == 0) {
        length_size = 4;
    } else {
        throw NpyError("unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                       " (supported: 1.0, 2.0, 3.0)");
    }
    const size_t prefix = kMagicSize + 2 + length_size;
    if (bytes.size() < prefix) throw NpyError("truncated file: the header length is missing");
    uint64_t header_len = 0;
    for (size_t i = length_size; i-- > 0;) header_len = (header_len << 8) | bytes[kMagicSize + 2 + i];
    if (header_len > bytes.size() - prefix) {
        throw NpyError("truncated file: header of " + std::to_string(header_len) + " bytes but only " +
                       std::to_string(bytes.size() - prefix) + " bytes follow");
    }
    const std::string_view text(reinterpret_cast<const char*>(bytes.data() + prefix), static_cast<size_t>(header_len));
    Layout l;
    l.header = HeaderParser(text).parse();
    const HeaderParser::Header& header = l.header;

    if (header.fortran_order) {
        throw NpyError("array is stored in Fortran order (fortran_order: True); only C order is supported "
                       "(save numpy.ascontiguousarray(a) instead)");
    }
    const auto type = dtype_of(header.descr);
    if (!type) {
        throw NpyError("unsupported dtype '" + header.descr +
                       "' (supported: little-endian <f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1)");
    }
    l.type = *type;
    int64_t numel = 1;
    for (int64_t d : header.shape) {
        if (__builtin_mul_overflow(numel, d, &numel)) throw NpyError("shape " + shape_to_string(header.shape) + " overflows 64 bits");
    }
    l.numel = numel;
    const size_t item = stored_type_size(*type);
    l.data_offset = prefix + static_cast<size_t>(header_len);
    const uint64_t available = total_size - l.data_offset;
    if (available % item != 0 || available / item != static_cast<uint64_t>(numel)) {
        throw NpyError("shape " + shape_to_string(header.shape) + " of '" + header.descr + "' needs " + std::to_string(numel) +
                       " x " + std::to_string(item) + " bytes of data but the file has " + std::to_string(available) +
                       (available / item < static_cast<uint64_t>(numel) ? " (truncated file)" : " (trailing bytes)"));
    }
    return l;
}

Tensor decode(std::span<const uint8_t> bytes) {
    const Layout l = parse_layout(bytes, bytes.size());
    Tensor t;
    t.shape = l.header.shape;
    t.element_type = stored_type_element_type(l.type);
    t.data.resize(static_cast<size_t>(l.numel));
    decode_stored_elements(l.type, bytes.data() + l.data_offset, static_cast<size_t>(l.numel), t.data.data());
    return t;
}

bool is_float_type(StoredType t) { return t == StoredType::F16 || t == StoredType::F32 || t == StoredType::F64; }

std::string shape_literal(const Shape& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";  // a 1-tuple needs its comma in Python
    return s + ")";
}

}  // namespace

Result<Tensor> decode_npy(std::span<const uint8_t> bytes, const std::string& display_name) {
    try {
        return decode(bytes);
    } catch (const NpyError& e) {
        return Status::error(display_name + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return Status::error(display_name + ": out of memory while reading the array");
    } catch (const std::exception& e) {
        return Status::error(display_name + ": unexpected error while reading: " + e.what());
    }
}

Result<NpyInfo> inspect_npy(const std::string& path) {
    try {
        std::error_code ec;
        const auto status = std::filesystem::status(path, ec);
        if (ec || !std::filesystem::is_regular_file(status)) return Status::error(path + ": not a regular file");
        const uint64_t size = std::filesystem::file_size(path, ec);
        if (ec) return Status::error(path + ": cannot determine the file size: " + ec.message());
        std::ifstream in(path, std::ios::binary);
        if (!in) return Status::error(path + ": cannot open for reading: " + std::strerror(errno));
        // The header is at most 4 GiB by the format, but numpy never writes more than a few hundred bytes; 1 MiB is
        // read at most, so a huge file costs nothing here.
        std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(size, uint64_t{1} << 20)));
        in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
        if (!in) return Status::error(path + ": read failed");
        const Layout l = parse_layout(head, size);
        return NpyInfo{l.header.shape, l.header.descr, is_float_type(l.type)};
    } catch (const NpyError& e) {
        return Status::error(path + ": " + e.what());
    } catch (const std::exception& e) {
        return Status::error(path + ": cannot read: " + e.what());
    }
}

Result<Tensor> read_npy(const std::string& path) {
    auto bytes = read_binary_file(path);
    if (!bytes.is_ok()) return bytes.status();
    return decode_npy(bytes.value(), path);
}

Result<std::vector<uint8_t>> encode_npy(const Tensor& tensor) {
    try {
        for (int64_t d : tensor.shape) {
            if (d < 0) return Status::error("negative dimension in shape " + shape_to_string(tensor.shape));
        }
        if (tensor.data.size() != static_cast<size_t>(tensor.numel())) {
            return Status::error("tensor has " + std::to_string(tensor.data.size()) + " values but shape " +
                                 shape_to_string(tensor.shape) + " needs " + std::to_string(tensor.numel()));
        }
        std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_literal(tensor.shape) + ", }";
        // Version 1.0 stores the header length in 2 bytes; fall back to 2.0 (4 bytes) for enormous ranks.
        uint8_t major = 1;
        size_t length_size = 2;
        auto padded = [&](size_t ls) {
            const size_t unpadded = kMagicSize + 2 + ls + header.size() + 1;  // + the terminating '\n'
            return header.size() + (kAlign - unpadded % kAlign) % kAlign + 1;
        };
        if (padded(2) > 0xffff) {
            major = 2;
            length_size = 4;
        }
        const size_t header_len = padded(length_size);
        header.append(header_len - header.size() - 1, ' ');
        header += '\n';

        std::vector<uint8_t> out(kMagicSize + 2 + length_size + header.size() + tensor.data.size() * sizeof(float));
        std::memcpy(out.data(), kMagic, kMagicSize);
        out[6] = major;
        out[7] = 0;
        for (size_t i = 0; i < length_size; ++i) out[8 + i] = static_cast<uint8_t>(header_len >> (8 * i));
        std::memcpy(out.data() + 8 + length_size, header.data(), header.size());
        // Little-endian host, so the floats are already '<f4'.
        if (!tensor.data.empty()) {
            std::memcpy(out.data() + 8 + length_size + header.size(), tensor.data.data(), tensor.data.size() * sizeof(float));
        }
        return out;
    } catch (const std::exception& e) {
        return Status::error(std::string("cannot encode .npy: ") + e.what());
    }
}

Status write_npy(const std::string& path, const Tensor& tensor) {
    auto encoded = encode_npy(tensor);
    if (!encoded.is_ok()) return encoded.status().with_context(path);
    try {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out) return Status::error(path + ": cannot open for writing: " + std::strerror(errno));
        out.write(reinterpret_cast<const char*>(encoded->data()), static_cast<std::streamsize>(encoded->size()));
        out.close();
        if (!out) return Status::error(path + ": write failed (disk full?)");
        return Status::ok();
    } catch (const std::exception& e) {
        return Status::error(path + ": cannot write: " + e.what());
    }
}

}  // namespace zoo::runner
