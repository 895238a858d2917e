#include "device/wormhole_device.hpp"

#include <exception>

#include "device/emulated_model.hpp"
#include "memory/memory_plan.hpp"
#include "kernels/common.hpp"
#include "numerics/formats.hpp"

namespace zoo::wormhole {

namespace {
// Where a number of the description is written (file:line:column of its value), for errors about it.
std::string value_source(const SpecValue& root, std::initializer_list<const char*> path) {
    const SpecValue* v = &root;
    for (const char* key : path) {
        const SpecValue* next = v->find(key);
        if (!next) return v->source();
        v = next;
    }
    const SpecValue* value = v->find("value");
    return value ? value->source() : v->source();
}

std::string describe_hardware(const WormholeHardware& hw) {
    return hw.name + " emulator: " + std::to_string(hw.grid.worker_x) + "x" + std::to_string(hw.grid.worker_y) +
           " cores, " + std::to_string(hw.l1.bytes_per_core / 1024) + " KiB L1 per core, " +
           std::to_string(hw.dram.total_bytes() >> 30) + " GiB DRAM";
}
}  // namespace

DeviceInfo WormholeDevice::info() const noexcept {
    DeviceInfo info;
    info.description = m_hardware ? describe_hardware(*m_hardware) : "Wormhole emulator (no hardware description loaded)";
    info.wants_folded_batchnorm = true;  // tt-metal folds BatchNorm into conv weights on the host
    // One op on the default config (bfloat16 activations and weights, HiFi4, Dst in bfloat16): bfloat16 keeps 8
    // significant bits, so each rounding costs up to 2^-9 of the value, and an op rounds its inputs, weights, partial
    // sums in Dst and output; 3% of the output's magnitude bounds that for the conformance cases' reductions
    // (measured: at most 1.3%, on a 5x5 depthwise conv).
    info.tolerance = {0.03, 0.999};
    return info;
}

Status WormholeDevice::configure(const SpecValue& hardware) noexcept {
    return status_guard("wormhole", [&]() -> Status {
        ZOO_ASSIGN_OR_RETURN(WormholeHardware hw, parse_hardware(hardware));
        if (hw.tile.bfp_datums_per_exponent != kBfpBlockDatums)
            return Status::error(value_source(hardware, {"tile", "bfp_datums_per_exponent"}) + ": tile.bfp_datums_per_exponent is " +
                                 std::to_string(hw.tile.bfp_datums_per_exponent) + "; the emulator's block-float "
                                 "formats are built for " + std::to_string(kBfpBlockDatums) + " datums per exponent");
        // The conv kernels emulate a bf16 Dst with rounding points at multiples of the step (any divisor of their K
        // block), but the tap-padded stem conv needs one padded tap, a vector of channels, per step.
        if (hw.compute.fpu_k_per_step != kernels::kChannelAlign)
            return Status::error(value_source(hardware, {"compute", "fpu", "k_per_step"}) + ": compute.fpu.k_per_step is " +
                                 std::to_string(hw.compute.fpu_k_per_step) + "; the emulator's Dst rounding is built for " +
                                 std::to_string(kernels::kChannelAlign) + " values of K per step");
        m_hardware = std::move(hw);
        return Status::ok();
    });
}

Status WormholeDevice::probe() const noexcept {
    if (!m_hardware) return Status::error("no hardware description was loaded (yaml/devices/wormhole_n150.yaml)");
    return Status::ok();
}

Status WormholeDevice::supports(const Node& node, const LayerConfig& config) const noexcept {
    if (!is_known_op(node.op)) return Status::error("wormhole: layer '" + node.name + "' has an op outside ZOO_OP_LIST");
    if (auto read = status_guard("wormhole", [&] { return read_layer_config(config); }); !read) return read.status();
    const Shape& s = node.output_shape;
    if (s.size() != 2 && s.size() != 4)
        return Status::error("the emulator keeps rank-2 and rank-4 tensors; '" + node.name + "' is " + shape_to_string(s));
    if (node.op == OpKind::Softmax) {
        int64_t axis = node.attr<SoftmaxAttrs>().axis;
        if (axis < 0) axis += static_cast<int64_t>(s.size());
        if (axis != static_cast<int64_t>(s.size()) - 1 && !(s.size() == 4 && axis == 1))
            return Status::error("softmax runs over the channel axis only");
    }
    return Status::ok();
}

Result<std::unique_ptr<CompiledModel>> WormholeDevice::compile(const Graph& graph, const WeightMap& weights,
                                                               const std::vector<LayerConfig>& configs,
                                                               const CompileOptions& options) const noexcept {
    return status_guard("wormhole", [&]() -> Result<std::unique_ptr<CompiledModel>> {
        if (!m_hardware) return Status::error("wormhole: configure() was not called with a hardware description");
        if (configs.size() != graph.nodes.size())
            return Status::error("wormhole: " + std::to_string(configs.size()) + " layer configs for " +
                                 std::to_string(graph.nodes.size()) + " layers");
        ZOO_TRY(check_node_weights(graph, weights).with_context("wormhole"));
        WormholeHardware hw = *m_hardware;
        if (options.l1_small_size > 0) {
            // ttnn.open_device(l1_small_size=...): L1_SMALL is carved out of the top of every core's L1.
            if (options.l1_small_size >= hw.l1.allocatable())
                return Status::error("wormhole: l1_small_size " + std::to_string(options.l1_small_size) +
                                     " B leaves no L1 for buffers (allocatable L1 per core: " +
                                     std::to_string(hw.l1.allocatable()) + " B)");
            hw.l1.l1_small_bytes = options.l1_small_size;
        }
        // A card of several chips runs data parallel: the batch is split over the chips, each runs one program on its
        // share. The numerics run the whole batch at once (samples are independent); program, memory and perf are per chip.
        Graph chip_graph = graph;
        if (hw.chip.chips > 1) {
            const auto inputs = graph.input_nodes();
            const int64_t batch = inputs.empty() ? 1 : graph.nodes[static_cast<size_t>(inputs[0])].output_shape.at(0);
            if (batch % hw.chip.chips != 0)
                return Status::error("wormhole: " + hw.name + " runs data parallel over " + std::to_string(hw.chip.chips) +
                                     " chips: the batch must be a multiple of " + std::to_string(hw.chip.chips) +
                                     ", found " + std::to_string(batch));
            chip_graph.set_batch(batch / hw.chip.chips);
            ZOO_TRY(chip_graph.infer_shapes());
        }
        std::vector<WormholeLayerConfig> layer_configs;
        layer_configs.reserve(configs.size());
        for (const auto& c : configs) {
            ZOO_ASSIGN_OR_RETURN(WormholeLayerConfig read, read_layer_config(c));
            layer_configs.push_back(std::move(read));
        }
        ZOO_ASSIGN_OR_RETURN(Program program, lower_program(chip_graph, layer_configs, hw));
        ZOO_ASSIGN_OR_RETURN(MemoryPlan plan, plan_memory(chip_graph, program, hw));
        ZOO_ASSIGN_OR_RETURN(auto model, EmulatedModel::build(graph, chip_graph, weights, std::move(program), std::move(plan), hw,
                                                              options.threads));
        return std::unique_ptr<CompiledModel>(std::move(model));
    });
}

}  // namespace zoo::wormhole
