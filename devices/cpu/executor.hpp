// Compiles a Graph into a CpuModel: layouts, pre-packed weights, fused kernel steps and planned buffers.
#pragma once

#include <memory>

#include "zoo/device_plugin.hpp"

namespace zoo::cpu {

// threads: > 0. Never throws.
Result<std::unique_ptr<CompiledModel>> compile_cpu_model(const Graph& graph, const WeightMap& weights,
                                                         int threads) noexcept;

}  // namespace zoo::cpu
