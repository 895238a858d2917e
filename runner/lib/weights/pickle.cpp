#include "weights/pickle.hpp"

#include <unordered_map>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>

namespace zoo::runner::pickle {
namespace {

// Failures travel as this exception inside the VM and become a Status in unpickle().
struct PickleError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr std::array<const char*, 13> kAllowedGlobals = {
    "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
    "torch.FloatStorage",      "torch.DoubleStorage",             "torch.HalfStorage",
    "torch.BFloat16Storage",   "torch.LongStorage",               "torch.IntStorage",
    "torch.ShortStorage",      "torch.CharStorage",               "torch.ByteStorage",
    "torch.BoolStorage",
};

std::string hex_byte(uint8_t b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", b);
    return buf;
}

// Printable form of a global's name for messages; a hostile pickle may put anything there.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s.substr(0, 200)) {
        if (std::isprint(c)) {
            out += static_cast<char>(c);
        } else {
            out += "\\x" + hex_byte(c).substr(2);
        }
    }
    if (s.size() > 200) out += "...";
    return out;
}

}  // namespace

bool is_allowed_global(const std::string& qualified) {
    for (const char* g : kAllowedGlobals) {
        if (qualified == g) return true;
    }
    return false;
}

std::string describe(const Value& v) {
    switch (v.kind) {
        case Kind::None: return "None";
        case Kind::Bool: return v.boolean ? "bool True" : "bool False";
        case Kind::Int: return "int " + std::to_string(v.integer);
        case Kind::BigInt: return "int of " + std::to_string(v.big.size()) + " bytes";
        case Kind::Float: return "float " + std::to_string(v.real);
        case Kind::String: return "str '" + printable(v.text) + "'";
        case Kind::Tuple: return "tuple of " + std::to_string(v.items.size()) + " items";
        case Kind::List: return "list of " + std::to_string(v.items.size()) + " items";
        case Kind::Dict: return "dict with " + std::to_string(v.entries.size()) + " entries";
        case Kind::Global: return "global '" + v.text + "'";
        case Kind::Call:
            return "call of " + (v.items.empty() || v.items[0] == nullptr ? std::string("?") : v.items[0]->text);
        case Kind::PersistentRef: return "persistent id";
    }
    return "unknown value";
}

// The virtual machine. Named (not anonymous) because PickleDocument befriends it.
class Machine {
public:
    Machine(std::span<const uint8_t> bytes, const std::string& context, const Limits& limits)
        : m_bytes(bytes), m_context(context), m_limits(limits) {}

    PickleDocument run() {
        while (true) {
            m_op_offset = m_pos;
            const uint8_t op = byte();
            switch (op) {
                case 0x80: {  // PROTO
                    const uint8_t proto = byte();
                    if (proto < 2 || proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
                    // Harmless elsewhere, but torch never does it; treat it as corruption.
                    if (m_op_offset != 0) fail("PROTO opcode in the middle of the pickle");
                    break;
                }
                case 0x95: {  // FRAME (protocol 4): a length hint; the opcodes follow inline
                    const uint64_t length = u64();
                    if (length > remaining()) fail("FRAME of " + std::to_string(length) + " bytes exceeds the remaining " + std::to_string(remaining()));
                    break;
                }
                case 'c': {  // GLOBAL module\nname\n
                    const std::string module = line();
                    const std::string name = line();
                    push(make_global(module, name));
                    break;
                }
                case 0x93: {  // STACK_GLOBAL (protocol 4)
                    Value* name = pop();
                    Value* module = pop();
                    if (!module->is_string() || !name->is_string()) {
                        fail("STACK_GLOBAL needs two strings, found " + describe(*module) + " and " + describe(*name));
                    }
                    push(make_global(module->text, name->text));
                    break;
                }
                case 'q': memo_put(byte()); break;   // BINPUT
                case 'r': memo_put(u32()); break;    // LONG_BINPUT
                case 0x94: memo_put(static_cast<uint32_t>(m_memo_count)); break;  // MEMOIZE (protocol 4)
                case 'h': push(memo_get(byte())); break;  // BINGET
                case 'j': push(memo_get(u32())); break;   // LONG_BINGET
                case '(':  // MARK
                    if (m_marks.size() >= m_limits.max_marks) fail("too many nested MARKs (limit " + std::to_string(m_limits.max_marks) + ")");
                    m_marks.push_back(m_stack.size());
                    break;
                case 't': {  // TUPLE
                    Value* t = make(Kind::Tuple);
                    t->items = pop_to_mark();
                    push(t);
                    break;
                }
                case ')': push(make(Kind::Tuple)); break;  // EMPTY_TUPLE
                case 0x85: case 0x86: case 0x87: {         // TUPLE1 TUPLE2 TUPLE3
                    const size_t n = static_cast<size_t>(op - 0x84);
                    Value* t = make(Kind::Tuple);
                    t->items.resize(n);
                    for (size_t i = n; i-- > 0;) t->items[i] = pop();
                    push(t);
                    break;
                }
                case '}': push(make(Kind::Dict)); break;  // EMPTY_DICT
                case ']': push(make(Kind::List)); break;  // EMPTY_LIST
                case 'a': {                                // APPEND
                    Value* item = pop();
                    Value* list = top();
                    if (list->kind != Kind::List) fail("APPEND to " + describe(*list) + ", expected a list");
                    list->items.push_back(item);
                    break;
                }
                case 'e': {  // APPENDS
                    std::vector<Value*> items = pop_to_mark();
                    Value* list = top();
                    if (list->kind != Kind::List) fail("APPENDS to " + describe(*list) + ", expected a list");
                    list->items.insert(list->items.end(), items.begin(), items.end());
                    break;
                }
                case 's': {  // SETITEM
                    Value* value = pop();
                    Value* key = pop();
                    set_item(top(), key, value);
                    break;
                }
                case 'u': {  // SETITEMS
                    std::vector<Value*> items = pop_to_mark();
                    if (items.size() % 2 != 0) fail("SETITEMS with an odd number (" + std::to_string(items.size()) + ") of keys and values");
                    Value* dict = top();
                    for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
                    break;
                }
                case 'X': {  // BINUNICODE
                    const uint32_t n = u32();
                    push(make_string(take(n, "BINUNICODE string")));
                    break;
                }
                case 0x8c: {  // SHORT_BINUNICODE (protocol 4)
                    const uint8_t n = byte();
                    push(make_string(take(n, "SHORT_BINUNICODE string")));
                    break;
                }
                case 'J': push(make_int(static_cast<int32_t>(u32()))); break;  // BININT
                case 'K': push(make_int(byte())); break;                        // BININT1
                case 'M': push(make_int(u16())); break;                         // BININT2
                case 0x8a: {                                                    // LONG1
                    const uint8_t n = byte();
                    push(make_long(take(n, "LONG1 value")));
                    break;
                }
                case 'G': {  // BINFLOAT: big-endian IEEE double
                    const auto raw = take(8, "BINFLOAT value");
                    uint64_t bits = 0;
                    for (uint8_t b : raw) bits = (bits << 8) | b;
                    Value* v = make(Kind::Float);
                    std::memcpy(&v->real, &bits, sizeof bits);
                    push(v);
                    break;
                }
                case 0x89: push(make_bool(false)); break;  // NEWFALSE
                case 0x88: push(make_bool(true)); break;   // NEWTRUE
                case 'N': push(make(Kind::None)); break;   // NONE
                case 'R': {                                // REDUCE
                    Value* args = pop();
                    Value* callable = pop();
                    push(reduce(callable, args));
                    break;
                }
                case 'Q': {  // BINPERSID: resolved by the caller, never here
                    Value* ref = make(Kind::PersistentRef);
                    ref->items.push_back(pop());
                    push(ref);
                    break;
                }
                case 'b': {  // BUILD
                    Value* state = pop();
                    Value* target = top();
                    if (target->kind != Kind::Dict && target->kind != Kind::Call) {
                        fail("BUILD on " + describe(*target) + "; only dicts and tensors take state here");
                    }
                    target->state = state;
                    break;
                }
                case '.': {  // STOP
                    if (!m_marks.empty()) fail("STOP with an unclosed MARK");
                    if (m_stack.size() != 1) {
                        fail("STOP with " + std::to_string(m_stack.size()) + " values on the stack, expected exactly 1");
                    }
                    m_doc.m_root = m_stack.back();
                    m_doc.m_consumed = m_pos;
                    return std::move(m_doc);
                }
                default:
                    fail("unknown or unsupported pickle opcode " + hex_byte(op) +
                         (std::isprint(op) ? std::string(" ('") + static_cast<char>(op) + "')" : std::string()) +
                         " (this loader reads only the opcodes torch.save writes for a state_dict)");
            }
        }
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw PickleError(m_context + ": " + what + " at byte offset " + std::to_string(m_op_offset));
    }

    size_t remaining() const { return m_bytes.size() - m_pos; }

    std::span<const uint8_t> take(uint64_t n, const char* what) {
        if (n > remaining()) {
            fail(std::string("truncated pickle: ") + what + " needs " + std::to_string(n) + " bytes but only " +
                 std::to_string(remaining()) + " remain");
        }
        auto s = m_bytes.subspan(m_pos, static_cast<size_t>(n));
        m_pos += static_cast<size_t>(n);
        return s;
    }
    uint8_t byte() {
        if (remaining() == 0) fail("truncated pickle: ended before a STOP opcode");
        return m_bytes[m_pos++];
    }
    uint16_t u16() {
        auto s = take(2, "2-byte argument");
        return static_cast<uint16_t>(s[0] | (s[1] << 8));
    }
    uint32_t u32() {
        auto s = take(4, "4-byte argument");
        return static_cast<uint32_t>(s[0]) | (static_cast<uint32_t>(s[1]) << 8) | (static_cast<uint32_t>(s[2]) << 16) |
               (static_cast<uint32_t>(s[3]) << 24);
    }
    uint64_t u64() {
        auto s = take(8, "8-byte argument");
        uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | s[i];
        return v;
    }
    // A newline-terminated line for GLOBAL; names are short, so a long line is hostile or corrupt.
    std::string line() {
        constexpr size_t kMaxLine = 512;
        std::string out;
        while (true) {
            if (remaining() == 0) fail("truncated pickle: GLOBAL name is not terminated by a newline");
            const uint8_t c = m_bytes[m_pos++];
            if (c == '\n') return out;
            if (out.size() >= kMaxLine) fail("GLOBAL name longer than " + std::to_string(kMaxLine) + " bytes");
            out += static_cast<char>(c);
        }
    }

    Value* make(Kind kind) {
        if (m_doc.m_arena.size() >= m_limits.max_values) {
            fail("pickle creates more than " + std::to_string(m_limits.max_values) + " values");
        }
        m_doc.m_arena.push_back(std::make_unique<Value>());
        m_doc.m_arena.back()->kind = kind;
        return m_doc.m_arena.back().get();
    }
    Value* make_int(int64_t v) {
        Value* x = make(Kind::Int);
        x->integer = v;
        return x;
    }
    Value* make_bool(bool b) {
        Value* x = make(Kind::Bool);
        x->boolean = b;
        return x;
    }
    Value* make_string(std::span<const uint8_t> s) {
        Value* x = make(Kind::String);
        x->text.assign(reinterpret_cast<const char*>(s.data()), s.size());
        return x;
    }
    // LONG1 is little-endian two's complement; up to 8 bytes fit an int64, wider ones are kept as bytes.
    Value* make_long(std::span<const uint8_t> s) {
        if (s.empty()) return make_int(0);
        if (s.size() <= 8) {
            uint64_t v = 0;
            for (size_t i = s.size(); i-- > 0;) v = (v << 8) | s[i];
            if (s.size() < 8 && (s.back() & 0x80)) v |= ~uint64_t{0} << (8 * s.size());  // sign-extend
            return make_int(static_cast<int64_t>(v));
        }
        Value* x = make(Kind::BigInt);
        x->big.assign(s.begin(), s.end());
        return x;
    }
    Value* make_global(const std::string& module, const std::string& name) {
        const std::string qualified = module + "." + name;
        if (!is_allowed_global(qualified)) {
            throw PickleError(m_context + ": refusing to load pickle global '" + printable(qualified) +
                              "': only torch tensor-rebuild globals are allowed (is this a state_dict saved by "
                              "torch.save?)");
        }
        Value* g = make(Kind::Global);
        g->text = qualified;
        return g;
    }

    Value* reduce(Value* callable, Value* args) {
        if (callable->kind != Kind::Global) fail("REDUCE of " + describe(*callable) + ", which is not callable");
        if (args->kind != Kind::Tuple) fail("REDUCE of " + callable->text + " with " + describe(*args) + " as arguments, expected a tuple");
        if (callable->text == "collections.OrderedDict") {
            if (!args->items.empty()) fail("OrderedDict() called with arguments; torch.save never does this");
            return make(Kind::Dict);
        }
        if (callable->text.rfind("torch._utils.", 0) != 0) {
            fail("REDUCE calls " + callable->text + ", which is not a function");
        }
        Value* call = make(Kind::Call);
        call->items = {callable, args};
        return call;
    }

    void set_item(Value* dict, Value* key, Value* value) {
        if (dict->kind != Kind::Dict) fail("SETITEM on " + describe(*dict) + ", expected a dict");
        // Python replaces the value of an existing key; do the same for the key kinds a state_dict uses. An index per
        // dict keeps this linear: a scan of the entries made a 400 KB pickle of one big dict take minutes.
        if (key->is_string() || key->is_int()) {
            auto& index = m_dict_index[dict];
            std::string k = key->is_string() ? "s" + key->text : "i" + std::to_string(key->integer);
            auto [it, inserted] = index.emplace(std::move(k), dict->entries.size());
            if (!inserted) {
                dict->entries[it->second].second = value;
                return;
            }
        }
        dict->entries.emplace_back(key, value);
    }

    void push(Value* v) {
        if (m_stack.size() >= m_limits.max_stack) fail("pickle stack deeper than " + std::to_string(m_limits.max_stack));
        m_stack.push_back(v);
    }
    Value* pop() {
        if (m_stack.empty() || (!m_marks.empty() && m_stack.size() <= m_marks.back())) {
            fail("pickle stack underflow");
        }
        Value* v = m_stack.back();
        m_stack.pop_back();
        return v;
    }
    Value* top() {
        if (m_stack.empty() || (!m_marks.empty() && m_stack.size() <= m_marks.back())) fail("pickle stack underflow");
        return m_stack.back();
    }
    std::vector<Value*> pop_to_mark() {
        if (m_marks.empty()) fail("opcode needs a MARK but none is open");
        const size_t mark = m_marks.back();
        m_marks.pop_back();
        std::vector<Value*> items(m_stack.begin() + static_cast<std::ptrdiff_t>(mark), m_stack.end());
        m_stack.resize(mark);
        return items;
    }

    void memo_put(uint32_t index) {
        if (m_stack.empty()) fail("memo store with an empty stack");
        if (index >= m_limits.max_memo) fail("memo index " + std::to_string(index) + " exceeds the limit " + std::to_string(m_limits.max_memo));
        if (index >= m_memo.size()) m_memo.resize(static_cast<size_t>(index) + 1, nullptr);
        if (m_memo[index] == nullptr) ++m_memo_count;
        m_memo[index] = m_stack.back();
    }
    Value* memo_get(uint32_t index) {
        if (index >= m_memo.size() || m_memo[index] == nullptr) fail("memo index " + std::to_string(index) + " was never stored");
        return m_memo[index];
    }

    std::span<const uint8_t> m_bytes;
    const std::string& m_context;
    const Limits& m_limits;
    std::unordered_map<const Value*, std::unordered_map<std::string, size_t>> m_dict_index;  // key -> entry, per dict
    size_t m_pos = 0;
    size_t m_op_offset = 0;
    std::vector<Value*> m_stack;
    std::vector<size_t> m_marks;
    std::vector<Value*> m_memo;  // dense: torch numbers memo slots 0, 1, 2, ...
    size_t m_memo_count = 0;
    PickleDocument m_doc;
};

Result<PickleDocument> unpickle(std::span<const uint8_t> bytes, const std::string& context, const Limits& limits) {
    try {
        Machine machine(bytes, context, limits);
        return machine.run();
    } catch (const PickleError& e) {
        return Status::error(e.what());
    } catch (const std::bad_alloc&) {
        return Status::error(context + ": out of memory while reading the pickle");
    } catch (const std::exception& e) {
        return Status::error(context + ": unexpected error while reading the pickle: " + e.what());
    }
}

}  // namespace zoo::runner::pickle
