// The restricted unpickler: hand-assembled pickles for each rule, plus the hostile files Python writes.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "weights/pickle.hpp"
#include "weights/torch_pth.hpp"
#include "weights/weights.hpp"
#include "weights/zip_archive.hpp"

namespace zoo::runner::weights_test {
// Defined in test_weights_pth.cpp.
const std::string& weight_fixture_dir();
const std::string& weight_fixture_error();
std::string marker_path();
std::vector<uint8_t> read_bytes(const std::string& path);
std::vector<uint8_t> build_zip(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries, bool zip64_extra);
}  // namespace zoo::runner::weights_test

namespace zoo::runner {
namespace {

using namespace weights_test;
using pickle::Kind;
using pickle::unpickle;

#define REQUIRE_FIXTURES() ASSERT_FALSE(weight_fixture_dir().empty()) << weight_fixture_error()

// Assembles pickles opcode by opcode, so each test states exactly what the VM sees.
class Pickler {
public:
    Pickler& proto(uint8_t p = 2) { return op(0x80).raw(p); }
    Pickler& global(const std::string& module, const std::string& name) {
        op('c');
        for (char c : module + "\n" + name + "\n") m_bytes.push_back(static_cast<uint8_t>(c));
        return *this;
    }
    Pickler& str(const std::string& s) {
        op('X').u32(static_cast<uint32_t>(s.size()));
        for (char c : s) m_bytes.push_back(static_cast<uint8_t>(c));
        return *this;
    }
    Pickler& int1(uint8_t v) { return op('K').raw(v); }
    Pickler& int2(uint16_t v) { return op('M').raw(static_cast<uint8_t>(v)).raw(static_cast<uint8_t>(v >> 8)); }
    Pickler& int4(int32_t v) { return op('J').u32(static_cast<uint32_t>(v)); }
    Pickler& long1(std::vector<uint8_t> le) {
        op(0x8a).raw(static_cast<uint8_t>(le.size()));
        for (uint8_t b : le) raw(b);
        return *this;
    }
    Pickler& binfloat(double d) {
        uint64_t bits = 0;
        std::memcpy(&bits, &d, 8);
        op('G');
        for (int i = 7; i >= 0; --i) raw(static_cast<uint8_t>(bits >> (8 * i)));
        return *this;
    }
    Pickler& put(uint8_t i) { return op('q').raw(i); }
    Pickler& get(uint8_t i) { return op('h').raw(i); }
    Pickler& tuple(std::initializer_list<int> ints) {
        op('(');
        for (int v : ints) int4(v);
        return op('t');
    }
    Pickler& op(uint8_t o) { return raw(o); }
    Pickler& raw(uint8_t b) {
        m_bytes.push_back(b);
        return *this;
    }
    Pickler& u32(uint32_t v) {
        for (int i = 0; i < 4; ++i) raw(static_cast<uint8_t>(v >> (8 * i)));
        return *this;
    }
    Pickler& stop() { return op('.'); }
    const std::vector<uint8_t>& bytes() const { return m_bytes; }

private:
    std::vector<uint8_t> m_bytes;
};

// A torch-style tensor: _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())
Pickler& tensor(Pickler& p, const std::string& key, int numel, int offset, std::initializer_list<int> size,
                std::initializer_list<int> stride, const std::string& storage = "FloatStorage") {
    p.global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.op('(').str("storage").global("torch", storage).str(key).str("cpu").int4(numel).op('t').op('Q');
    p.int4(offset).tuple(size).tuple(stride).op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
    return p;
}

std::string error_of(const std::vector<uint8_t>& bytes, const pickle::Limits& limits = {}) {
    auto doc = unpickle(bytes, "test.pkl", limits);
    EXPECT_FALSE(doc.is_ok());
    return doc.is_ok() ? std::string() : doc.status().message();
}

TEST(Unpickler, BuildsPlainValues) {
    Pickler p;
    p.proto().op('}').put(0).op('(');
    p.str("i").int4(-5).str("small").int1(200).str("mid").int2(40000);
    p.str("neg").long1({0xfe, 0xff});  // -2
    p.str("big").long1({0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19});
    p.str("f").binfloat(-0.375).str("t").op(0x88).str("n").op('N');
    p.str("list").op(']').op('(').int1(1).int1(2).op('e').int1(3).op('a');
    p.str("tuple3").int1(1).int1(2).int1(3).op(0x87);
    p.op('u').stop();
    auto doc = unpickle(p.bytes(), "values.pkl");
    ASSERT_TRUE(doc.is_ok()) << doc.status().message();
    EXPECT_EQ(doc->consumed(), p.bytes().size());
    const pickle::Value& root = doc->root();
    ASSERT_EQ(root.kind, Kind::Dict);
    ASSERT_EQ(root.entries.size(), 10u);
    auto value = [&](const std::string& key) -> const pickle::Value& {
        for (const auto& [k, v] : root.entries)
            if (k->text == key) return *v;
        ADD_FAILURE() << "no key " << key;
        return root;
    };
    EXPECT_EQ(value("i").integer, -5);
    EXPECT_EQ(value("small").integer, 200);
    EXPECT_EQ(value("mid").integer, 40000);
    EXPECT_EQ(value("neg").integer, -2);
    EXPECT_EQ(value("big").kind, Kind::BigInt);
    EXPECT_EQ(value("big").big.size(), 10u);
    EXPECT_EQ(value("f").real, -0.375);
    EXPECT_TRUE(value("t").boolean);
    EXPECT_EQ(value("n").kind, Kind::None);
    ASSERT_EQ(value("list").items.size(), 3u);
    EXPECT_EQ(value("list").items[2]->integer, 3);
    ASSERT_EQ(value("tuple3").kind, Kind::Tuple);
    EXPECT_EQ(value("tuple3").items[1]->integer, 2);
}

TEST(Unpickler, MemoSharesValues) {
    Pickler p;
    p.proto().op(']').put(7).get(7).op('a').stop();  // a list that contains itself
    auto doc = unpickle(p.bytes(), "cycle.pkl");
    ASSERT_TRUE(doc.is_ok()) << doc.status().message();
    ASSERT_EQ(doc->root().items.size(), 1u);
    EXPECT_EQ(doc->root().items[0], &doc->root());
    EXPECT_EQ(pickle::describe(doc->root()), "list of 1 items");
}

TEST(Unpickler, RefusesEveryOtherGlobalByName) {
    for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
             {"posix", "system"}, {"os", "system"}, {"builtins", "eval"}, {"subprocess", "Popen"},
             {"torch._utils", "_rebuild_parameter"}, {"torch", "load"}, {"collections", "defaultdict"},
             {"torch", "UntypedStorage"}}) {
        Pickler p;
        p.proto().global(module, name).op(0xff).op(0xff);  // garbage after it is never reached
        const std::string msg = error_of(p.bytes());
        EXPECT_EQ(msg, "test.pkl: refusing to load pickle global '" + module + "." + name +
                           "': only torch tensor-rebuild globals are allowed (is this a state_dict saved by torch.save?)");
    }
}

TEST(Unpickler, AcceptsTheTorchGlobals) {
    for (const char* storage : {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
                                "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage"}) {
        Pickler p;
        p.proto().global("torch", storage).stop();
        auto doc = unpickle(p.bytes(), "ok.pkl");
        ASSERT_TRUE(doc.is_ok()) << doc.status().message();
        EXPECT_EQ(doc->root().kind, Kind::Global);
        EXPECT_EQ(doc->root().text, std::string("torch.") + storage);
    }
    EXPECT_TRUE(pickle::is_allowed_global("torch._utils._rebuild_tensor"));
    EXPECT_TRUE(pickle::is_allowed_global("collections.OrderedDict"));
    EXPECT_FALSE(pickle::is_allowed_global("torch._utils._rebuild_tensor_v3"));
}

TEST(Unpickler, StackGlobalIsCheckedToo) {
    Pickler p;
    p.proto(4).op(0x8c).raw(5);
    for (char c : std::string("posix")) p.raw(static_cast<uint8_t>(c));
    p.op(0x8c).raw(6);
    for (char c : std::string("system")) p.raw(static_cast<uint8_t>(c));
    p.op(0x93).stop();
    EXPECT_NE(error_of(p.bytes()).find("refusing to load pickle global 'posix.system'"), std::string::npos);
}

TEST(Unpickler, HostileFilesFromPython) {
    REQUIRE_FIXTURES();
    for (const char* name : {"evil_proto2.pkl", "evil_proto4.pkl"}) {
        const auto bytes = read_bytes(weight_fixture_dir() + "/" + name);
        ASSERT_FALSE(bytes.empty());
        auto doc = unpickle(bytes, name);
        ASSERT_FALSE(doc.is_ok()) << name;
        EXPECT_EQ(doc.status().message().rfind(std::string(name) + ": refusing to load pickle global 'posix.system'", 0), 0u)
            << doc.status().message();
    }
    // The hostile data.pkl inside torch.save's zip.
    const auto zip = read_bytes(weight_fixture_dir() + "/evil.pth");
    auto archive = ZipArchive::open(zip, "evil.pth");
    ASSERT_TRUE(archive.is_ok()) << archive.status().message();
    auto pkl = archive->read("evil/data.pkl");
    ASSERT_TRUE(pkl.is_ok()) << pkl.status().message();
    auto doc = unpickle(pkl.value(), "evil.pth");
    ASSERT_FALSE(doc.is_ok());
    EXPECT_NE(doc.status().message().find("'posix.system'"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(marker_path()));
}

TEST(Unpickler, ReadsTorchDataPkl) {
    REQUIRE_FIXTURES();
    const auto zip = read_bytes(weight_fixture_dir() + "/known.pth");
    auto archive = ZipArchive::open(zip, "known.pth");
    ASSERT_TRUE(archive.is_ok()) << archive.status().message();
    auto pkl = archive->read("known/data.pkl");
    ASSERT_TRUE(pkl.is_ok());
    auto doc = unpickle(pkl.value(), "known.pth");
    ASSERT_TRUE(doc.is_ok()) << doc.status().message();
    const pickle::Value& root = doc->root();
    ASSERT_EQ(root.kind, Kind::Dict);
    EXPECT_EQ(root.entries.size(), 18u);
    EXPECT_EQ(root.entries[0].first->text, "plain");
    const pickle::Value& call = *root.entries[0].second;
    ASSERT_EQ(call.kind, Kind::Call);
    EXPECT_EQ(call.items[0]->text, "torch._utils._rebuild_tensor_v2");
    EXPECT_EQ(call.items[1]->items[0]->kind, Kind::PersistentRef);

    // Every truncation fails cleanly.
    for (size_t n = 0; n < pkl->size(); ++n) {
        auto cut = unpickle(pkl->subspan(0, n), "cut.pkl");
        ASSERT_FALSE(cut.is_ok()) << n;
    }
}

TEST(Unpickler, UnknownOpcodeNamesByteAndOffset) {
    Pickler p;
    p.proto().op('I');  // INT (text protocol 0): not something torch writes
    EXPECT_NE(error_of(p.bytes()).find("unknown or unsupported pickle opcode 0x49 ('I')"), std::string::npos);
    EXPECT_NE(error_of(p.bytes()).find("at byte offset 2"), std::string::npos);
    Pickler q;
    q.proto().int1(1).op(0xf0);
    EXPECT_NE(error_of(q.bytes()).find("opcode 0xf0 (this loader"), std::string::npos) << error_of(q.bytes());
    EXPECT_NE(error_of(q.bytes()).find("at byte offset 4"), std::string::npos);
}

TEST(Unpickler, GuardsAgainstMemoAndStackAbuse) {
    {
        Pickler p;
        p.proto().get(5);
        EXPECT_NE(error_of(p.bytes()).find("memo index 5 was never stored"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().int1(1).op('r').u32(0xfffffff0u);  // LONG_BINPUT far away: would need a huge memo
        EXPECT_NE(error_of(p.bytes()).find("exceeds the limit"), std::string::npos);
    }
    {
        Pickler p;
        p.proto();
        for (int i = 0; i < 200; ++i) p.int1(1);
        pickle::Limits limits;
        limits.max_stack = 100;
        EXPECT_NE(error_of(p.bytes(), limits).find("pickle stack deeper than 100"), std::string::npos);
    }
    {
        Pickler p;
        p.proto();
        for (int i = 0; i < 50; ++i) p.op('(');
        pickle::Limits limits;
        limits.max_marks = 10;
        EXPECT_NE(error_of(p.bytes(), limits).find("too many nested MARKs"), std::string::npos);
    }
    {
        Pickler p;
        p.proto();
        for (int i = 0; i < 50; ++i) p.op(')');
        pickle::Limits limits;
        limits.max_values = 20;
        EXPECT_NE(error_of(p.bytes(), limits).find("more than 20 values"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().int1(1).op(0x86);  // TUPLE2 with one item
        EXPECT_NE(error_of(p.bytes()).find("stack underflow"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().int1(1).op('(').op(0x85);  // TUPLE1 may not reach below the MARK
        EXPECT_NE(error_of(p.bytes()).find("stack underflow"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().op('t');
        EXPECT_NE(error_of(p.bytes()).find("needs a MARK"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().int1(1).int1(2).stop();
        EXPECT_NE(error_of(p.bytes()).find("STOP with 2 values on the stack"), std::string::npos);
    }
}

TEST(Unpickler, HugeLengthsAreCheckedBeforeUse) {
    Pickler p;
    p.proto().op('X').u32(0xfffffff0u).raw('a');
    EXPECT_NE(error_of(p.bytes()).find("BINUNICODE string needs 4294967280 bytes but only 1 remain"), std::string::npos)
        << error_of(p.bytes());
    Pickler q;
    q.proto().op(0x8a).raw(200).raw(1);
    EXPECT_NE(error_of(q.bytes()).find("LONG1 value needs 200 bytes"), std::string::npos);
    Pickler r;
    r.proto().op('c');
    for (int i = 0; i < 1000; ++i) r.raw('a');
    EXPECT_NE(error_of(r.bytes()).find("GLOBAL name longer than"), std::string::npos);
}

TEST(Unpickler, ReduceAndBuildOnlyDoWhatTorchNeeds) {
    {
        Pickler p;
        p.proto().global("collections", "OrderedDict").op('(').int1(1).op('t').op('R').stop();
        EXPECT_NE(error_of(p.bytes()).find("OrderedDict() called with arguments"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().global("torch", "FloatStorage").op(')').op('R').stop();
        EXPECT_NE(error_of(p.bytes()).find("REDUCE calls torch.FloatStorage, which is not a function"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().int1(3).op(')').op('R').stop();
        EXPECT_NE(error_of(p.bytes()).find("REDUCE of int 3, which is not callable"), std::string::npos);
    }
    {
        Pickler p;
        p.proto().op(']').op('}').op('b').stop();
        EXPECT_NE(error_of(p.bytes()).find("BUILD on list"), std::string::npos);
    }
    {  // OrderedDict() + BUILD of _metadata is what model.state_dict() pickles as
        Pickler p;
        p.proto().global("collections", "OrderedDict").op(')').op('R').op('}').op('b').stop();
        auto doc = unpickle(p.bytes(), "ok.pkl");
        ASSERT_TRUE(doc.is_ok()) << doc.status().message();
        EXPECT_EQ(doc->root().kind, Kind::Dict);
        ASSERT_NE(doc->root().state, nullptr);
    }
}

// Hand-made .pth files for inconsistencies torch itself never writes.
std::vector<uint8_t> float_bytes(int n) {
    std::vector<uint8_t> out(static_cast<size_t>(n) * 4);
    for (int i = 0; i < n; ++i) {
        const float f = static_cast<float>(i);
        std::memcpy(out.data() + 4 * i, &f, 4);
    }
    return out;
}

Result<WeightMap> load_handmade(Pickler& p, std::vector<uint8_t> storage) {
    const auto zip = build_zip({{"hm/data.pkl", p.bytes()}, {"hm/data/0", std::move(storage)}}, false);
    return load_pth_bytes(zip, "handmade.pth");
}

TEST(PthHandmade, ViewsAreMaterialisedAndBoundsChecked) {
    {  // a valid strided view over 6 floats: [[0, 2], [3, 5]] from offset 0, strides (3, 2)
        Pickler p;
        p.proto().op('}').op('(').str("w");
        tensor(p, "0", 6, 0, {2, 2}, {3, 2});
        p.op('u').stop();
        auto w = load_handmade(p, float_bytes(6));
        ASSERT_TRUE(w.is_ok()) << w.status().message();
        EXPECT_EQ(w->at("w").data, (std::vector<float>{0, 2, 3, 5}));
    }
    {
        Pickler p;
        p.proto().op('}').op('(').str("too_big");
        tensor(p, "0", 4, 0, {10}, {1});
        p.op('u').stop();
        auto w = load_handmade(p, float_bytes(4));
        ASSERT_FALSE(w.is_ok());
        EXPECT_EQ(w.status().message(), "handmade.pth: tensor 'too_big': shape [10] with strides [1] at offset 0 reaches "
                                        "element 9 but storage '0' has 4 elements");
    }
    {
        Pickler p;
        p.proto().op('}').op('(').str("w");
        tensor(p, "0", 4, 0, {4}, {1});
        p.op('u').stop();
        auto w = load_handmade(p, float_bytes(3));
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("tensor 'w': storage '0' holds 12 bytes, expected 4 elements of 4 bytes (F32)"),
                  std::string::npos) << w.status().message();
    }
    {
        Pickler p;
        p.proto().op('}').op('(').str("w");
        tensor(p, "0", 4, 0, {2}, {-1});
        p.op('u').stop();
        auto w = load_handmade(p, float_bytes(4));
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("tensor 'w': stride: negative value -1"), std::string::npos) << w.status().message();
    }
    {
        Pickler p;
        p.proto().op('}').op('(').str("w");
        tensor(p, "1", 4, 0, {4}, {1});
        p.op('u').stop();
        auto w = load_handmade(p, float_bytes(4));
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("storage '1' has no entry 'hm/data/1'"), std::string::npos) << w.status().message();
    }
    {  // a stride-0 view claiming 2^40 elements over one float must be refused before allocating
        Pickler p;
        p.proto().op('}').op('(').str("w");
        tensor(p, "0", 1, 0, {1 << 20, 1 << 20}, {0, 0});
        p.op('u').stop();
        auto w = load_handmade(p, float_bytes(1));
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("exceeds the limit"), std::string::npos) << w.status().message();
    }
    {  // issue 11: four stride-0 tensors, each under the per-tensor cap (2^28 elements, 1 GiB), over one float: the
       // per-file bound (relative to the file size) refuses them before 4 GiB are allocated
        Pickler p;
        p.proto().op('}').op('(');
        for (const char* name : {"a", "b", "c", "d"}) {
            p.str(name);
            tensor(p, "0", 1, 0, {1 << 14, 1 << 14}, {0, 0});
        }
        p.op('u').stop();
        auto w = load_handmade(p, float_bytes(1));
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("the 4 tensors need 4294967296 bytes"), std::string::npos) << w.status().message();
        EXPECT_NE(w.status().message().find("--limit weights_expansion="), std::string::npos) << w.status().message();
    }
}

}  // namespace
}  // namespace zoo::runner
