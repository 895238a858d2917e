// The fp32 reference implementation of every op in ZOO_OP_LIST: plain loops over NCHW (or [N, F]) with double
// accumulators, written to be obviously right rather than fast. The null device runs graphs with it, and the
// conformance suite (tests/conformance) compares every device plugin's numerics against it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "zoo/graph.hpp"
#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo {

// Computes one node. `inputs` are the values of node.inputs in order (shapes as inferred); parameters are read from
// `weights` by the node's ParamSpec keys. `out` gets node.output_shape. Errors name the node and what is missing.
// Thread-safe (no shared state).
Status reference_node(const Node& node, const std::vector<const Tensor*>& inputs, const WeightMap& weights, Tensor& out);

// Runs a verified graph whose shapes are inferred: `inputs` one per Input node in graph order, `outputs` one per
// graph output. When `captured` is non-null it receives every node's value keyed by node name.
Status reference_run(const Graph& graph, const WeightMap& weights, const std::vector<Tensor>& inputs,
                     std::vector<Tensor>& outputs, std::map<std::string, Tensor>* captured = nullptr);

}  // namespace zoo
