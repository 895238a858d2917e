// The graph-level activation helpers of zoo/activation.hpp, generated from ZOO_ACTIVATION_LIST.
#include "zoo/activation.hpp"

#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include "zoo/graph.hpp"

namespace zoo {

OpKind op_of(ActivationId a) {
    switch (a) {
#define ZOO_OP_OF__(name, text, category) case ActivationId::name: return OpKind::name;
        ZOO_ACTIVATION_LIST(ZOO_OP_OF__)
#undef ZOO_OP_OF__
    }
    std::abort();
}

// Searched in the list rather than switched over OpKind: an op outside the list is "not an activation" by construction,
// with no default: branch to keep in step.
bool is_activation(OpKind op) {
    for (ActivationId a : kAllActivations)
        if (op_of(a) == op) return true;
    return false;
}

ActivationId activation_of(OpKind op) {
    for (ActivationId a : kAllActivations)
        if (op_of(a) == op) return a;
    std::fprintf(stderr, "zoo: activation_of(%s): not an activation\n", op_name(op));
    std::abort();
}

float activation_reference(OpKind op, float x) { return activation_reference(activation_of(op), x); }

int fusable_activation(const Graph& graph, int producer, const std::vector<int>& use_counts) {
    if (use_counts[static_cast<size_t>(producer)] != 1) return -1;
    for (size_t j = static_cast<size_t>(producer) + 1; j < graph.nodes.size(); ++j) {
        const Node& r = graph.nodes[j];
        for (int in : r.inputs)
            if (in == producer) return is_activation(r.op) ? static_cast<int>(j) : -1;
    }
    return -1;
}

}  // namespace zoo
