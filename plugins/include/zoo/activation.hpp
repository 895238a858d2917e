// Activations, each defined once. An activation is one ZOO_ACTIVATION_LIST entry plus its formula below; the op list
// (graph.hpp), shape inference, the CPU kernels' fused epilogue, the cpu device and the wormhole emulator (numerics,
// lowering, costing) are all generated from this list, so adding one touches this header, the device YAML that costs it
// and its tests.
//
// This header has no dependency on the graph so graph.hpp can expand the list into ZOO_OP_LIST.
#pragma once

#include <cmath>
#include <vector>

// ZOO_ACTIVATION_TABLE(X, A) calls X(A, OpKind enum name, printable name (also the key of device cost tables), category);
// A is passed through so graph.hpp can turn each entry into a ZOO_OP_LIST entry. Categories:
//   Clamp:    the output is the input or a constant (0, 6): exact in any number format, no arithmetic rounding.
//   Computed: arithmetic (add, multiply, divide, exp): the result is rounded like any other math.
#define ZOO_ACTIVATION_TABLE(X, A)                \
    X(A, Relu, "relu", Clamp)                     \
    X(A, Relu6, "relu6", Clamp)                   \
    X(A, Hardswish, "hardswish", Computed)        \
    X(A, Hardsigmoid, "hardsigmoid", Computed)    \
    X(A, Silu, "silu", Computed)                  \
    X(A, Sigmoid, "sigmoid", Computed)

// ZOO_ACTIVATION_LIST(X) calls X(enum name, printable name, category) for each activation.
#define ZOO_ACTIVATION_ENTRY__(X, name, text, category) X(name, text, category)
#define ZOO_ACTIVATION_LIST(X) ZOO_ACTIVATION_TABLE(ZOO_ACTIVATION_ENTRY__, X)

namespace zoo {

enum class ActivationCategory { Clamp, Computed };

// Names the activations at compile time so a formula can be selected by template argument without the graph header.
enum class ActivationId : unsigned char {
#define ZOO_ACTIVATION_ID__(name, text, category) name,
    ZOO_ACTIVATION_LIST(ZOO_ACTIVATION_ID__)
#undef ZOO_ACTIVATION_ID__
};

// Scalar arithmetic for the formulas. A vector back end supplies the same three members for its register type (see
// plugins/kernels/common.hpp), so scalar reference and SIMD epilogue evaluate the same expression in the same order.
struct ScalarMath {
    using T = float;
    static float c(float v) { return v; }
    static float exp(float x) { return std::exp(x); }
};

// One formula per activation, written generically over M::T. The formulas and their evaluation order are ATen's CPU
// kernels', so the fp32 reference matches PyTorch (bit for bit for the clamps, to an ulp or two for exp). "x < 0 ? 0 : x"
// lets a NaN through like torch.relu.
template <ActivationId A>
struct ActivationFormula;

template <>
struct ActivationFormula<ActivationId::Relu> {
    template <class M>
    static typename M::T apply(typename M::T x) { return x < M::c(0.0f) ? M::c(0.0f) : x; }
};
template <>
struct ActivationFormula<ActivationId::Relu6> {
    template <class M>
    static typename M::T apply(typename M::T x) {
        typename M::T t = x < M::c(0.0f) ? M::c(0.0f) : x;
        return t > M::c(6.0f) ? M::c(6.0f) : t;
    }
};
// hardsigmoid = relu6(x + 3) / 6
template <>
struct ActivationFormula<ActivationId::Hardsigmoid> {
    template <class M>
    static typename M::T apply(typename M::T x) {
        return ActivationFormula<ActivationId::Relu6>::template apply<M>(x + M::c(3.0f)) / M::c(6.0f);
    }
};
// hardswish = x * relu6(x + 3) / 6 (multiply before the divide, as ATen does)
template <>
struct ActivationFormula<ActivationId::Hardswish> {
    template <class M>
    static typename M::T apply(typename M::T x) {
        return x * ActivationFormula<ActivationId::Relu6>::template apply<M>(x + M::c(3.0f)) / M::c(6.0f);
    }
};
// silu = x * sigmoid(x), evaluated as ATen's CPU kernel does: x / (1 + exp(-x)). For x below about -88 exp(-x) is inf
// and the result is -0, as torch gives.
template <>
struct ActivationFormula<ActivationId::Silu> {
    template <class M>
    static typename M::T apply(typename M::T x) { return x / (M::c(1.0f) + M::exp(-x)); }
};
// sigmoid = 1 / (1 + exp(-x))
template <>
struct ActivationFormula<ActivationId::Sigmoid> {
    template <class M>
    static typename M::T apply(typename M::T x) { return M::c(1.0f) / (M::c(1.0f) + M::exp(-x)); }
};

// The fp32 reference of an activation.
inline float activation_reference(ActivationId a, float x) {
    switch (a) {
#define ZOO_ACTIVATION_REF__(name, text, category) \
    case ActivationId::name: return ActivationFormula<ActivationId::name>::apply<ScalarMath>(x);
        ZOO_ACTIVATION_LIST(ZOO_ACTIVATION_REF__)
#undef ZOO_ACTIVATION_REF__
    }
    return x;  // unreachable: the switch names every activation
}

inline ActivationCategory activation_category(ActivationId a) {
    switch (a) {
#define ZOO_ACTIVATION_CAT__(name, text, category) \
    case ActivationId::name: return ActivationCategory::category;
        ZOO_ACTIVATION_LIST(ZOO_ACTIVATION_CAT__)
#undef ZOO_ACTIVATION_CAT__
    }
    return ActivationCategory::Computed;
}

inline const char* activation_name(ActivationId a) {
    switch (a) {
#define ZOO_ACTIVATION_NAME__(name, text, category) \
    case ActivationId::name: return text;
        ZOO_ACTIVATION_LIST(ZOO_ACTIVATION_NAME__)
#undef ZOO_ACTIVATION_NAME__
    }
    return "?";
}

// Every activation, in list order (for tables keyed by activation, e.g. a device's cost per activation).
inline constexpr ActivationId kAllActivations[] = {
#define ZOO_ACTIVATION_ALL__(name, text, category) ActivationId::name,
    ZOO_ACTIVATION_LIST(ZOO_ACTIVATION_ALL__)
#undef ZOO_ACTIVATION_ALL__
};

// The graph-level view, defined in plugins/src/activation.cpp (OpKind is declared in graph.hpp, which expands the table
// above into its op list; the opaque declaration keeps this header free of the graph).
enum class OpKind : unsigned char;
class Graph;

bool is_activation(OpKind op);
// The activation an op is; precondition is_activation(op).
ActivationId activation_of(OpKind op);
OpKind op_of(ActivationId a);
// The fp32 reference of activation op `op` at x; precondition is_activation(op).
float activation_reference(OpKind op, float x);

// The fusion rule every device applies: the node that may run in `producer`'s epilogue as a fused activation, or -1.
// It is the sole reader of producer's output (use_counts from Graph::use_counts, where being a graph output counts as a
// use) and it is an activation. A device adds its own conditions (which producers it fuses into, per-layer switches).
int fusable_activation(const Graph& graph, int producer, const std::vector<int>& use_counts);

}  // namespace zoo
