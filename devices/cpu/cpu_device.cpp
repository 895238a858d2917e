#include "cpu_device.hpp"

#include <tbb/info.h>

#include <exception>
#include <string>

#include "executor.hpp"

namespace zoo::cpu {

namespace {
int hardware_threads() { return std::max(1, tbb::info::default_concurrency()); }
}  // namespace

DeviceInfo CpuDevice::info() const noexcept {
    DeviceInfo info;
    try {
        info.description = "fp32 reference on the host CPU (" + std::to_string(hardware_threads()) + " threads, TBB)";
    } catch (...) {
    }
    info.wants_folded_batchnorm = true;
    // fp32 throughout; the kernels sum in another order than the reference (blocked, FMA), which moves the last bits.
    info.tolerance = {1e-5, 0.99999};
    return info;
}

Status CpuDevice::supports(const Node& node, const LayerConfig& /*config*/) const noexcept {
    // The golden computes every op in fp32 regardless of the requested formats.
    switch (node.op) {
#define ZOO_CPU_SUPPORTED__(name, attrs, text, arity) case OpKind::name:
        ZOO_OP_LIST(ZOO_CPU_SUPPORTED__)
#undef ZOO_CPU_SUPPORTED__
        return Status::ok();
    }
    return Status::error("cpu: unknown op in node '" + node.name + "'");
}

Result<std::unique_ptr<CompiledModel>> CpuDevice::compile(const Graph& graph, const WeightMap& weights,
                                                          const std::vector<LayerConfig>& configs,
                                                          const CompileOptions& options) const noexcept {
    return status_guard("cpu: compile failed", [&]() -> Result<std::unique_ptr<CompiledModel>> {
        if (!configs.empty() && configs.size() != graph.nodes.size())
            return Status::error("cpu: got " + std::to_string(configs.size()) + " layer configs for " +
                                 std::to_string(graph.nodes.size()) + " nodes");
        if (options.threads < 0) return Status::error("cpu: threads must be >= 0, found " + std::to_string(options.threads));
        const int threads = options.threads == 0 ? hardware_threads() : options.threads;
        return compile_cpu_model(graph, weights, threads);
    });
}

}  // namespace zoo::cpu
