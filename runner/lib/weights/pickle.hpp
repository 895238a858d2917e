// A restricted unpickler: a small pickle virtual machine that builds a tree of plain values and never executes
// anything. It understands the opcodes torch.save emits for a state_dict (protocol 2, plus the few protocol 4 opcodes
// Python's own pickle uses by default, so a hostile plain pickle is still refused by name rather than by opcode).
//
// Globals are the only way a pickle can reach code. Only these are accepted, as torch's weights_only mode does:
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor,
//   torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage.
// Anything else is refused by name at the GLOBAL opcode, before any later opcode is looked at.
// OrderedDict() becomes an empty dict; a REDUCE of a tensor-rebuild global becomes a Call value the caller
// interprets; BINPERSID becomes a PersistentRef the caller resolves; BUILD state is recorded and otherwise ignored.
//
// Limits guard against hostile inputs: value count, stack depth, mark depth, memo size, and every length is checked
// against the bytes that remain.
//
// Ownership: a PickleDocument owns every value it contains (an arena, so cyclic references through the memo cannot
// leak); Value pointers stay valid as long as the document lives. Thread safety: unpickle() is reentrant.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "zoo/status.hpp"

namespace zoo::runner::pickle {

enum class Kind : uint8_t {
    None,
    Bool,
    Int,            // fits in int64
    BigInt,         // LONG1 wider than 64 bits (torch's legacy magic number): raw little-endian two's complement bytes
    Float,
    String,
    Tuple,
    List,
    Dict,
    Global,         // an allowed global, unevaluated (e.g. torch.FloatStorage inside a persistent id)
    Call,           // REDUCE of an allowed global other than OrderedDict: items[0] is the Global, items[1] the args Tuple
    PersistentRef,  // BINPERSID: items[0] is the persistent id
};

struct Value {
    Kind kind = Kind::None;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0.0;
    std::string text;                   // String; Global: "module.name"
    std::vector<uint8_t> big;           // BigInt
    std::vector<Value*> items;          // Tuple, List, Call, PersistentRef
    std::vector<std::pair<Value*, Value*>> entries;  // Dict, in insertion order
    Value* state = nullptr;             // set by BUILD; callers ignore it (torch attaches `_metadata` this way)

    bool is_string() const { return kind == Kind::String; }
    bool is_int() const { return kind == Kind::Int; }
};

// "dict with 3 entries", "str 'abc'", "call of torch._utils._rebuild_tensor_v2": for error messages.
std::string describe(const Value& v);

class PickleDocument {
public:
    const Value& root() const { return *m_root; }
    // Bytes the pickle occupied, up to and including STOP (several pickles may follow each other in one file).
    size_t consumed() const { return m_consumed; }

private:
    friend class Machine;
    std::vector<std::unique_ptr<Value>> m_arena;
    Value* m_root = nullptr;
    size_t m_consumed = 0;
};

struct Limits {
    size_t max_values = size_t{1} << 22;
    size_t max_stack = size_t{1} << 20;
    size_t max_marks = size_t{1} << 16;
    size_t max_memo = size_t{1} << 20;
};

// Runs one pickle starting at bytes[0] and stops at its STOP opcode. `context` (e.g. "model.pth" or
// "model.pth (archive/data.pkl)") prefixes error messages; offsets in messages are relative to `bytes`.
Result<PickleDocument> unpickle(std::span<const uint8_t> bytes, const std::string& context, const Limits& limits = {});

// True for the globals listed above; `qualified` is "module.name".
bool is_allowed_global(const std::string& qualified);

}  // namespace zoo::runner::pickle
