// The CPU device: fp32 on the host, the numerical golden every other device is compared against, and fast.
// It lives in zoo_cpu_kernels (not only in the plugin) so tests can instantiate it without loading a library.
#pragma once

#include <memory>

#include "zoo/device_plugin.hpp"

namespace zoo::cpu {

// Thread safety: as zoo::DevicePlugin (const methods are thread-safe; compile may run concurrently).
class CpuDevice final : public DevicePlugin {
public:
    DeviceInfo info() const noexcept override;
    // Every op of ZOO_OP_LIST under any LayerConfig: the CPU computes in fp32 whatever the config asks for.
    Status supports(const Node& node, const LayerConfig& config) const noexcept override;
    // options.threads: 0 = all hardware threads. The compiled model runs in its own tbb::task_arena of that size.
    Result<std::unique_ptr<CompiledModel>> compile(const Graph& graph, const WeightMap& weights,
                                                   const std::vector<LayerConfig>& configs,
                                                   const CompileOptions& options) const noexcept override;
};

}  // namespace zoo::cpu
