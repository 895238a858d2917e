#include "weights/torch_pth.hpp"

#include "core/limits.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>

#include "core/limits.hpp"
#include "weights/pickle.hpp"
#include "weights/weights.hpp"
#include "weights/zip_archive.hpp"

namespace zoo::runner {
namespace {

using pickle::Kind;
using pickle::Value;

// Failures travel as this exception inside the loader and become a Status at the public functions. Messages are
// complete except for the file name, which the public functions prefix.
struct PthError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// 0x1950a86a20f9469cfc6c, little-endian, as LONG1 stores it.
constexpr std::array<uint8_t, 10> kLegacyMagic = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocol = 1001;
constexpr size_t kMaxRank = 64;
// More elements than this in one tensor cannot be a MobileNet weight; refuse before allocating (a stride-0 view can
// claim a huge size over a tiny storage).
constexpr int64_t kMaxTensorElements = int64_t{1} << 31;

std::optional<StoredType> storage_type_of(const std::string& global) {
    static const std::map<std::string, StoredType> types = {
        {"torch.FloatStorage", StoredType::F32}, {"torch.DoubleStorage", StoredType::F64},
        {"torch.HalfStorage", StoredType::F16},  {"torch.BFloat16Storage", StoredType::BF16},
        {"torch.LongStorage", StoredType::I64},  {"torch.IntStorage", StoredType::I32},
        {"torch.ShortStorage", StoredType::I16}, {"torch.CharStorage", StoredType::I8},
        {"torch.ByteStorage", StoredType::U8},   {"torch.BoolStorage", StoredType::Bool},
    };
    auto it = types.find(global);
    if (it == types.end()) return std::nullopt;
    return it->second;
}

// What a persistent id says about a storage.
struct StorageRef {
    std::string key;
    StoredType type = StoredType::F32;
    int64_t numel = 0;  // elements of the whole storage record
    // Legacy view metadata (very old files): the tensor's storage is elements [view_offset, view_offset + view_numel)
    // of the record. Without a view these are 0 and numel.
    int64_t view_offset = 0;
    int64_t view_numel = 0;
};

struct TensorSpec {
    std::string name;
    StorageRef storage;
    int64_t offset = 0;
    Shape sizes;
    std::vector<int64_t> strides;
};

int64_t as_int(const Value& v, const std::string& where) {
    if (v.kind != Kind::Int) throw PthError(where + ": expected an int, found " + pickle::describe(v));
    return v.integer;
}

std::vector<int64_t> as_int_tuple(const Value& v, const std::string& where) {
    if (v.kind != Kind::Tuple) throw PthError(where + ": expected a tuple of ints, found " + pickle::describe(v));
    if (v.items.size() > kMaxRank) throw PthError(where + ": " + std::to_string(v.items.size()) + " dimensions (limit " + std::to_string(kMaxRank) + ")");
    std::vector<int64_t> out;
    for (const Value* item : v.items) {
        const int64_t x = as_int(*item, where);
        if (x < 0) throw PthError(where + ": negative value " + std::to_string(x));
        out.push_back(x);
    }
    return out;
}

StorageRef parse_persistent_id(const Value& ref, bool legacy, const std::string& where) {
    if (ref.kind != Kind::PersistentRef) {
        throw PthError(where + ": storage argument is " + pickle::describe(ref) + ", expected a persistent storage id");
    }
    const Value& pid = *ref.items.at(0);
    const size_t expected_items = legacy ? 6 : 5;
    if (pid.kind != Kind::Tuple || pid.items.size() != expected_items) {
        throw PthError(where + ": persistent id is " + pickle::describe(pid) + ", expected a tuple of " +
                       std::to_string(expected_items) + " items ('storage', type, key, location, numel" +
                       (legacy ? ", view)" : ")"));
    }
    const auto& it = pid.items;
    if (!it[0]->is_string() || it[0]->text != "storage") {
        throw PthError(where + ": persistent id starts with " + pickle::describe(*it[0]) + ", expected 'storage'");
    }
    if (it[1]->kind != Kind::Global || !storage_type_of(it[1]->text)) {
        throw PthError(where + ": persistent id names " + pickle::describe(*it[1]) + ", expected a torch.*Storage type");
    }
    if (!it[2]->is_string()) throw PthError(where + ": storage key is " + pickle::describe(*it[2]) + ", expected a str");
    if (!it[3]->is_string()) throw PthError(where + ": storage location is " + pickle::describe(*it[3]) + ", expected a str");
    StorageRef s;
    s.type = *storage_type_of(it[1]->text);
    s.key = it[2]->text;
    s.numel = as_int(*it[4], where + ": storage element count");
    if (s.numel < 0) throw PthError(where + ": negative storage element count " + std::to_string(s.numel));
    s.view_offset = 0;
    s.view_numel = s.numel;
    if (legacy && it[5]->kind != Kind::None) {
        const Value& view = *it[5];
        if (view.kind != Kind::Tuple || view.items.size() != 3 || !view.items[0]->is_string()) {
            throw PthError(where + ": storage view metadata is " + pickle::describe(view) +
                           ", expected None or (view_key, offset, size)");
        }
        s.view_offset = as_int(*view.items[1], where + ": storage view offset");
        s.view_numel = as_int(*view.items[2], where + ": storage view size");
        if (s.view_offset < 0 || s.view_numel < 0 || s.view_offset > s.numel || s.view_numel > s.numel - s.view_offset) {
            throw PthError(where + ": storage view [" + std::to_string(s.view_offset) + ", +" +
                           std::to_string(s.view_numel) + ") lies outside storage '" + s.key + "' of " +
                           std::to_string(s.numel) + " elements");
        }
    }
    return s;
}

TensorSpec parse_tensor(const std::string& name, const Value& v, bool legacy) {
    const std::string where = "tensor '" + name + "'";
    if (v.kind != Kind::Call) {
        std::string hint;
        if (v.kind == Kind::Dict) hint = " (a checkpoint that wraps the state_dict? save the state_dict itself)";
        throw PthError(where + ": expected a tensor, found " + pickle::describe(v) + hint);
    }
    const std::string& fn = v.items.at(0)->text;
    const Value& args = *v.items.at(1);
    TensorSpec t;
    t.name = name;
    if (fn == "torch._utils._rebuild_tensor_v2") {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.items.size() != 6 && args.items.size() != 7) {
            throw PthError(where + ": _rebuild_tensor_v2 takes 6 or 7 arguments, found " + std::to_string(args.items.size()));
        }
        if (args.items[4]->kind != Kind::Bool) {
            throw PthError(where + ": requires_grad is " + pickle::describe(*args.items[4]) + ", expected a bool");
        }
    } else if (fn == "torch._utils._rebuild_tensor") {
        if (args.items.size() != 4) {
            throw PthError(where + ": _rebuild_tensor takes 4 arguments, found " + std::to_string(args.items.size()));
        }
    } else {
        throw PthError(where + ": expected a tensor, found a call of " + fn);
    }
    t.storage = parse_persistent_id(*args.items[0], legacy, where);
    t.offset = as_int(*args.items[1], where + ": storage offset");
    if (t.offset < 0) throw PthError(where + ": negative storage offset " + std::to_string(t.offset));
    t.sizes = as_int_tuple(*args.items[2], where + ": size");
    t.strides = as_int_tuple(*args.items[3], where + ": stride");
    if (t.sizes.size() != t.strides.size()) {
        throw PthError(where + ": size has " + std::to_string(t.sizes.size()) + " dimensions but stride has " +
                       std::to_string(t.strides.size()));
    }
    return t;
}

std::vector<TensorSpec> parse_state_dict(const Value& root, bool legacy) {
    if (root.kind != Kind::Dict) {
        throw PthError("the saved object is a " + pickle::describe(root) +
                       "; expected a dict of name -> tensor (a state_dict, as model.state_dict() returns)");
    }
    std::vector<TensorSpec> specs;
    for (const auto& [key, value] : root.entries) {
        if (!key->is_string()) {
            throw PthError("state_dict key is " + pickle::describe(*key) + ", expected a str");
        }
        specs.push_back(parse_tensor(key->text, *value, legacy));
    }
    return specs;
}

// Raw bytes of each storage record, by key.
using StorageBytes = std::map<std::string, std::span<const uint8_t>>;

int64_t checked_mul(int64_t a, int64_t b, const std::string& where) {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) throw PthError(where + ": size overflows 64 bits");
    return r;
}
int64_t checked_add(int64_t a, int64_t b, const std::string& where) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) throw PthError(where + ": size overflows 64 bits");
    return r;
}

Tensor materialise(const TensorSpec& spec, const StorageBytes& storages) {
    const std::string where = "tensor '" + spec.name + "'";
    auto found = storages.find(spec.storage.key);
    if (found == storages.end()) throw PthError(where + ": storage '" + spec.storage.key + "' is missing from the file");
    const size_t item = stored_type_size(spec.storage.type);
    const std::span<const uint8_t> record = found->second;
    if (record.size() % item != 0 || record.size() / item != static_cast<uint64_t>(spec.storage.numel)) {
        throw PthError(where + ": storage '" + spec.storage.key + "' holds " + std::to_string(record.size()) +
                       " bytes, expected " + std::to_string(spec.storage.numel) + " elements of " + std::to_string(item) +
                       " bytes (" + stored_type_name(spec.storage.type) + ")");
    }

    int64_t numel = 1;
    for (int64_t s : spec.sizes) numel = checked_mul(numel, s, where);
    if (numel > kMaxTensorElements) {
        throw PthError(where + ": " + std::to_string(numel) + " elements exceeds the limit of " + std::to_string(kMaxTensorElements));
    }
    Tensor t;
    t.shape = spec.sizes;
    t.element_type = stored_type_element_type(spec.storage.type);
    if (numel == 0) return t;

    // Highest element the view touches must lie inside the (view of the) storage.
    int64_t last = spec.offset;
    for (size_t d = 0; d < spec.sizes.size(); ++d) last = checked_add(last, checked_mul(spec.sizes[d] - 1, spec.strides[d], where), where);
    if (last >= spec.storage.view_numel) {
        throw PthError(where + ": shape " + shape_to_string(spec.sizes) + " with strides " + shape_to_string(spec.strides) +
                       " at offset " + std::to_string(spec.offset) + " reaches element " + std::to_string(last) +
                       " but storage '" + spec.storage.key + "' has " + std::to_string(spec.storage.view_numel) + " elements");
    }
    const uint8_t* base = record.data() + static_cast<size_t>(spec.storage.view_offset + spec.offset) * item;
    t.data.resize(static_cast<size_t>(numel));

    // C-contiguous views (the usual case) decode in one pass.
    bool contiguous = true;
    int64_t expected = 1;
    for (size_t d = spec.sizes.size(); d-- > 0 && contiguous;) {
        if (spec.sizes[d] != 1 && spec.strides[d] != expected) contiguous = false;
        // numel fits in int64 (checked above), so this product of a suffix of the sizes does too.
        expected *= spec.sizes[d];
    }
    if (contiguous) {
        decode_stored_elements(spec.storage.type, base, static_cast<size_t>(numel), t.data.data());
        return t;
    }
    // General strided view: walk the C-order index like an odometer, innermost dimension as a strided row.
    const size_t rank = spec.sizes.size();
    const int64_t inner_size = spec.sizes[rank - 1];
    const int64_t inner_stride = spec.strides[rank - 1];
    std::vector<int64_t> index(rank, 0);
    float* out = t.data.data();
    int64_t outer_offset = 0;
    for (int64_t done = 0; done < numel; done += inner_size) {
        for (int64_t i = 0; i < inner_size; ++i) {
            decode_stored_elements(spec.storage.type, base + static_cast<size_t>(outer_offset + i * inner_stride) * item, 1, out++);
        }
        for (size_t d = rank - 1; d-- > 0;) {
            outer_offset += spec.strides[d];
            if (++index[d] < spec.sizes[d]) break;
            outer_offset -= spec.strides[d] * spec.sizes[d];
            index[d] = 0;
        }
    }
    return t;
}

// Stride-0 views let a few bytes describe a tensor of any size (the per-tensor cap still allows 8 GiB each), so the
// host bytes of all tensors together are bounded relative to the file before anything is allocated.
void check_total_size(const std::vector<TensorSpec>& specs, size_t file_bytes) {
    int64_t total = 0;
    for (const TensorSpec& spec : specs) {
        int64_t numel = 1;
        for (int64_t s : spec.sizes) numel = checked_mul(numel, s, "tensor '" + spec.name + "'");
        total = checked_add(total, checked_mul(numel, int64_t{sizeof(float)}, "tensor '" + spec.name + "'"), "the tensors");
    }
    const double allowed = limits().weights_expansion * static_cast<double>(file_bytes) + static_cast<double>(limits().weights_slack_bytes);
    if (static_cast<double>(total) > allowed)
        throw PthError("the " + std::to_string(specs.size()) + " tensors need " + std::to_string(total) + " bytes in memory, which exceeds the limit of " +
                       std::to_string(static_cast<int64_t>(allowed)) + " bytes for a file of " + std::to_string(file_bytes) +
                       " bytes (stride-0 or shared storages expanded?) " + limit_hint("weights_expansion"));
}

WeightMap build_weights(const std::vector<TensorSpec>& specs, const StorageBytes& storages, size_t file_bytes) {
    check_total_size(specs, file_bytes);
    WeightMap weights;
    for (const TensorSpec& spec : specs) {
        if (weights.count(spec.name)) throw PthError("tensor '" + spec.name + "' appears twice");
        weights.emplace(spec.name, materialise(spec, storages));
    }
    return weights;
}

// Every persistent id naming a key must agree on its type and size.
std::map<std::string, StorageRef> storages_by_key(const std::vector<TensorSpec>& specs) {
    std::map<std::string, StorageRef> by_key;
    for (const TensorSpec& s : specs) {
        auto [it, inserted] = by_key.emplace(s.storage.key, s.storage);
        if (!inserted && (it->second.type != s.storage.type || it->second.numel != s.storage.numel)) {
            throw PthError("tensor '" + s.name + "': storage '" + s.storage.key + "' is described as " +
                           std::to_string(s.storage.numel) + " x " + stored_type_name(s.storage.type) +
                           " but elsewhere as " + std::to_string(it->second.numel) + " x " +
                           stored_type_name(it->second.type));
        }
    }
    return by_key;
}

// Messages from the zip reader and the unpickler already start with the file name; this keeps them from being
// prefixed twice.
struct PrefixedError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

pickle::PickleDocument unpickle_or_throw(std::span<const uint8_t> bytes, const std::string& context) {
    auto doc = pickle::unpickle(bytes, context);
    if (!doc.is_ok()) throw PrefixedError(doc.status().message());
    return std::move(doc).value();
}

WeightMap load_zip(std::span<const uint8_t> bytes, const std::string& display_name) {
    auto archive_result = ZipArchive::open(bytes, display_name);
    if (!archive_result.is_ok()) throw PrefixedError(archive_result.status().message());
    const ZipArchive& archive = archive_result.value();

    // <root>/data.pkl with a single path component before it; <root> varies between torch versions and file names.
    std::string root;
    int found = 0;
    for (const ZipEntry& e : archive.entries()) {
        const size_t slash = e.name.find('/');
        if (slash != std::string::npos && slash > 0 && e.name.substr(slash) == "/data.pkl") {
            root = e.name.substr(0, slash);
            ++found;
        }
    }
    if (found != 1) {
        std::string names;
        for (size_t i = 0; i < archive.entries().size() && i < 8; ++i) {
            if (i) names += ", ";
            names += archive.entries()[i].name;
        }
        if (archive.entries().size() > 8) names += ", ...";
        throw PthError(found == 0 ? "zip archive is not a torch.save file: no '<root>/data.pkl' entry (entries: " + names + ")"
                                  : "zip archive has " + std::to_string(found) + " '<root>/data.pkl' entries, expected one");
    }
    if (const ZipEntry* order = archive.find(root + "/byteorder")) {
        auto data = archive.read(order->name);
        if (!data.is_ok()) throw PrefixedError(data.status().message());
        const std::string value(reinterpret_cast<const char*>(data->data()), data->size());
        if (value != "little") throw PthError("file records byte order '" + value + "'; only little-endian files are supported");
    }

    const std::string pkl_name = root + "/data.pkl";
    auto pkl = archive.read(pkl_name);
    if (!pkl.is_ok()) throw PrefixedError(pkl.status().message());
    const pickle::PickleDocument doc = unpickle_or_throw(pkl.value(), display_name + " (" + pkl_name + ")");
    if (doc.consumed() != pkl->size()) {
        throw PthError(pkl_name + " has " + std::to_string(pkl->size() - doc.consumed()) + " bytes after its STOP opcode");
    }
    const std::vector<TensorSpec> specs = parse_state_dict(doc.root(), /*legacy=*/false);

    StorageBytes storages;
    for (const auto& [key, ref] : storages_by_key(specs)) {
        const std::string entry = root + "/data/" + key;
        if (archive.find(entry) == nullptr) throw PthError("storage '" + key + "' has no entry '" + entry + "' in the archive");
        auto data = archive.read(entry);
        if (!data.is_ok()) throw PrefixedError(data.status().message());
        storages.emplace(key, data.value());
    }
    return build_weights(specs, storages, bytes.size());
}

WeightMap load_legacy(std::span<const uint8_t> bytes, const std::string& display_name) {
    size_t pos = 0;
    // Offsets in the unpickler's messages are relative to the pickle, so later pickles say where they start.
    auto next = [&](const char* what) {
        const std::string context =
            pos == 0 ? display_name : display_name + " (" + what + " pickle at byte " + std::to_string(pos) + ")";
        pickle::PickleDocument doc = unpickle_or_throw(bytes.subspan(pos), context);
        pos += doc.consumed();
        return doc;
    };
    {
        const auto magic = next("magic number");
        const Value& m = magic.root();
        if (m.kind != Kind::BigInt || !std::equal(m.big.begin(), m.big.end(), kLegacyMagic.begin(), kLegacyMagic.end())) {
            throw PthError("a plain pickle, not a torch.save file: its first value is " + pickle::describe(m) +
                           ", expected torch's magic number 0x1950a86a20f9469cfc6c");
        }
    }
    {
        const auto protocol = next("protocol version");
        if (protocol.root().kind != Kind::Int || protocol.root().integer != kLegacyProtocol) {
            throw PthError("legacy torch.save protocol version is " + pickle::describe(protocol.root()) + ", expected 1001");
        }
    }
    {
        const auto sys_info = next("sys_info");
        const Value& info = sys_info.root();
        if (info.kind != Kind::Dict) throw PthError("legacy sys_info is " + pickle::describe(info) + ", expected a dict");
        for (const auto& [k, v] : info.entries) {
            if (k->is_string() && k->text == "little_endian" && !(v->kind == Kind::Bool && v->boolean)) {
                throw PthError("file was saved on a big-endian machine; only little-endian files are supported");
            }
        }
    }
    const auto object = next("object");
    const std::vector<TensorSpec> specs = parse_state_dict(object.root(), /*legacy=*/true);
    const auto keys_doc = next("storage keys");
    const Value& keys = keys_doc.root();
    if (keys.kind != Kind::List) throw PthError("legacy storage key list is " + pickle::describe(keys) + ", expected a list");

    const auto refs = storages_by_key(specs);
    StorageBytes storages;
    for (const Value* k : keys.items) {
        if (!k->is_string()) throw PthError("legacy storage key is " + pickle::describe(*k) + ", expected a str");
        auto ref = refs.find(k->text);
        if (ref == refs.end()) throw PthError("legacy storage key '" + k->text + "' is not used by any tensor, so its type is unknown");
        if (storages.count(k->text)) throw PthError("legacy storage key '" + k->text + "' is listed twice");
        if (bytes.size() - pos < 8) {
            throw PthError("truncated file: storage '" + k->text + "' element count at byte " + std::to_string(pos) + " is missing");
        }
        int64_t count = 0;
        std::memcpy(&count, bytes.data() + pos, 8);  // little-endian host (x86/arm64 Linux)
        pos += 8;
        if (count != ref->second.numel) {
            throw PthError("storage '" + k->text + "' records " + std::to_string(count) + " elements, but its tensors say " +
                           std::to_string(ref->second.numel));
        }
        const size_t item = stored_type_size(ref->second.type);
        if (static_cast<uint64_t>(count) > (bytes.size() - pos) / item) {
            throw PthError("truncated file: storage '" + k->text + "' needs " + std::to_string(count) + " elements of " +
                           std::to_string(item) + " bytes at byte " + std::to_string(pos) + " but only " +
                           std::to_string(bytes.size() - pos) + " bytes remain");
        }
        const uint64_t length = static_cast<uint64_t>(count) * item;
        storages.emplace(k->text, bytes.subspan(pos, static_cast<size_t>(length)));
        pos += static_cast<size_t>(length);
    }
    if (pos != bytes.size()) {
        throw PthError(std::to_string(bytes.size() - pos) + " unexpected bytes after the last storage (at byte " +
                       std::to_string(pos) + ")");
    }
    return build_weights(specs, storages, bytes.size());
}

}  // namespace

PthFormat detect_pth_format(std::span<const uint8_t> bytes) {
    if (bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4) return PthFormat::Zip;
    if (bytes.size() >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return PthFormat::Legacy;
    return PthFormat::NotPth;
}

Result<WeightMap> load_pth_bytes(std::span<const uint8_t> bytes, const std::string& display_name) {
    try {
        switch (detect_pth_format(bytes)) {
            case PthFormat::Zip: return load_zip(bytes, display_name);
            case PthFormat::Legacy: return load_legacy(bytes, display_name);
            case PthFormat::NotPth: break;
        }
        return Status::error(display_name + ": not a torch.save file (expected 'PK\\x03\\x04' for the zip format or a "
                                            "pickle starting 80 02 8a 0a for the legacy format)");
    } catch (const PrefixedError& e) {
        return Status::error(e.what());
    } catch (const PthError& e) {
        return Status::error(display_name + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return Status::error(display_name + ": out of memory while loading the tensors");
    } catch (const std::exception& e) {
        return Status::error(display_name + ": unexpected error while loading: " + e.what());
    }
}

Result<WeightMap> load_pth(const std::string& path) {
    auto bytes = read_binary_file(path);
    if (!bytes.is_ok()) return bytes.status();
    return load_pth_bytes(bytes.value(), path);
}

}  // namespace zoo::runner
