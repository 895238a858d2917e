#include "memory/memory_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace zoo::wormhole {

namespace {

const char* layout_column(const TensorPlacement& p) {
    switch (p.kind) {
        case BufferKind::L1Sharded:
            switch (p.layout) {
                case ShardLayout::HeightSharded: return "HEIGHT";
                case ShardLayout::WidthSharded: return "WIDTH";
                case ShardLayout::BlockSharded: return "BLOCK";
                default: return "SHARDED";
            }
        case BufferKind::L1Interleaved: return "L1-INTL";
        case BufferKind::DramInterleaved: return "DRAM-INTL";
        case BufferKind::Host: return "host";
    }
    return "?";
}

class Simulator {
public:
    Simulator(const Graph& g, const Program& p, const WormholeHardware& hw) : m_g(g), m_p(p), m_hw(hw) {}

    Result<MemoryPlan> run() {
        m_plan.l1_buffer_region_bytes = m_hw.l1.buffer_region_bytes();
        m_plan.dram_banks = static_cast<int>(m_hw.dram.banks);
        m_plan.warnings = m_p.warnings;
        m_plan.ops.resize(m_p.ops.size());
        ZOO_TRY(simulate());
        summarise_layers();
        return std::move(m_plan);
    }

private:
    std::string layer_of(int op) const { return m_g.nodes[static_cast<size_t>(m_p.ops[static_cast<size_t>(op)].node)].name; }

    // The op after which each tensor is freed (-1: never, a graph output).
    std::vector<int> free_points() const {
        const size_t count = m_p.tensors.size();
        std::vector<int> last_reader(count, -1);
        for (size_t k = 0; k < m_p.ops.size(); ++k)
            for (int t : m_p.ops[k].inputs) last_reader[static_cast<size_t>(t)] = static_cast<int>(k);
        std::vector<bool> pinned(count, false);
        for (int o : m_g.outputs) pinned[static_cast<size_t>(m_p.node_value[static_cast<size_t>(o)])] = true;
        const int last_op = static_cast<int>(m_p.ops.size()) - 1;
        std::vector<int> free_after(count, -1);
        for (size_t t = 0; t < count; ++t) {
            if (pinned[t]) continue;
            const ProgramTensor& pt = m_p.tensors[t];
            const int reader = last_reader[t] < 0 ? pt.producer : last_reader[t];
            free_after[t] = pt.internal ? reader : std::min(reader + 1, last_op);
        }
        for (size_t k = 0; k < m_p.ops.size(); ++k)
            if (m_p.ops[k].frees_tensor >= 0) free_after[static_cast<size_t>(m_p.ops[k].frees_tensor)] = static_cast<int>(k);
        return free_after;
    }

    Status simulate() {
        BankAllocator l1("L1", m_hw.l1.reserved_base, m_hw.l1.buffer_region_bytes(), m_hw.l1.alignment, true);
        BankAllocator small("L1_SMALL", m_hw.l1.buffer_region_end(), m_hw.l1.l1_small_bytes, m_hw.l1.alignment, false);
        BankAllocator dram("DRAM", 0, m_hw.dram.bank_bytes(), m_hw.l1.alignment, false);

        ZOO_TRY(allocate_weights(dram));

        const std::vector<int> free_after = free_points();
        std::vector<int> l1_id(m_p.tensors.size(), 0), dram_id(m_p.tensors.size(), 0);
        auto allocate = [&](int t, const std::string& layer) -> Status {
            const TensorPlacement& p = m_p.placement(t);
            const std::string& name = m_p.tensor(t).name;
            // The card's message gives sizes only; the tensor's name says which buffer (a conv's halo, a reshard copy).
            if (p.in_l1()) {
                auto id = l1.allocate(name, p.bytes_per_bank, p.cores);
                if (!id) return Status::error(id.status().message() + " for '" + name + "' (layer " + layer + ")");
                l1_id[static_cast<size_t>(t)] = *id;
            } else if (p.kind == BufferKind::DramInterleaved) {
                auto id = dram.allocate(name, p.bytes_per_bank, p.cores);
                if (!id) return Status::error(id.status().message() + " for '" + name + "' (layer " + layer + ")");
                dram_id[static_cast<size_t>(t)] = *id;
            }
            return Status::ok();
        };
        auto release = [&](int t) {
            if (l1_id[static_cast<size_t>(t)]) l1.free(l1_id[static_cast<size_t>(t)]);
            if (dram_id[static_cast<size_t>(t)]) dram.free(dram_id[static_cast<size_t>(t)]);
            l1_id[static_cast<size_t>(t)] = dram_id[static_cast<size_t>(t)] = 0;
        };
        // The host writes its tensors before the program starts.
        for (int t : m_p.input_tensors) ZOO_TRY(allocate(t, m_p.tensor(t).name));

        std::vector<std::vector<int>> frees_at(m_p.ops.size());
        for (size_t t = 0; t < free_after.size(); ++t)
            if (free_after[t] >= 0) frees_at[static_cast<size_t>(free_after[t])].push_back(static_cast<int>(t));

        for (size_t k = 0; k < m_p.ops.size(); ++k) {
            const DeviceOp& op = m_p.ops[k];
            const std::string layer = layer_of(static_cast<int>(k));
            int small_id = 0;
            if (op.l1_small_bytes > 0) {
                auto id = small.allocate(m_p.tensor(op.output).name + ":config", op.l1_small_bytes, std::max(1, op.cores));
                if (!id) return Status::error(id.status().message() + " (layer " + layer + ")");
                small_id = *id;
            }
            ZOO_TRY(allocate(op.output, layer));
            ZOO_TRY(check_op_circular_buffers(op, l1, layer));
            record_op_memory(k, op, l1, layer);
            if (small_id) small.free(small_id);
            for (int t : frees_at[k]) release(t);
        }
        return Status::ok();
    }

    // Weights first: they sit in DRAM for the whole run.
    Status allocate_weights(BankAllocator& dram) {
        for (size_t k = 0; k < m_p.ops.size(); ++k)
            for (const DramWeight& w : m_p.ops[k].weights) {
                auto id = dram.allocate(w.name, w.bytes_per_bank, static_cast<int>(m_hw.dram.banks));
                if (!id) return Status::error(id.status().message() + " (layer " + layer_of(static_cast<int>(k)) + ")");
            }
        m_plan.dram_weight_bytes_per_bank = dram.allocated_bytes();
        return Status::ok();
    }

    // The program's static circular buffers must fit below the lowest L1 buffer.
    Status check_op_circular_buffers(const DeviceOp& op, const BankAllocator& l1, const std::string& layer) const {
        Status cb = check_circular_buffers(m_hw.l1.reserved_base, op.cb_bytes, m_hw.l1.bytes_per_core, l1.lowest_address(),
                                           op.range);
        const bool beyond_l1 = m_hw.l1.reserved_base + op.cb_bytes > m_hw.l1.bytes_per_core;
        if (!cb && beyond_l1) return Status::error(cb.message() + " (layer " + layer + ")");
        if (!cb) {
            // A clash with L1 buffers: name what holds L1 at that point (the card's message gives addresses only),
            // the buffers an engineer would free, reshard or shrink, each with its bytes per core.
            std::string live;
            for (const auto& a : l1.allocations())
                live += (live.empty() ? "" : ", ") + a.name + " " + std::to_string(a.bytes_per_bank) + " B";
            return Status::error(cb.message() + " (layer " + layer + ": circular buffers " + std::to_string(op.cb_bytes) +
                                 " B per core; L1 buffers live: " + live + ")");
        }
        return Status::ok();
    }

    // L1 while op k runs (its buffers and circular buffers), and the plan's peak.
    void record_op_memory(size_t k, const DeviceOp& op, const BankAllocator& l1, const std::string& layer) {
        OpMemory& om = m_plan.ops[k];
        om.op = static_cast<int>(k);
        om.buffer_bytes = l1.allocated_bytes();
        om.peak_l1_per_core = om.buffer_bytes + op.cb_bytes;
        for (const auto& a : l1.allocations()) om.live.push_back({a.name, a.address, a.bytes_per_bank});
        if (om.peak_l1_per_core > m_plan.peak_l1_per_core) {
            m_plan.peak_l1_per_core = om.peak_l1_per_core;
            m_plan.peak_layer = layer;
        }
    }

    void summarise_layers() {
        m_plan.layers.resize(m_g.nodes.size());
        for (size_t i = 0; i < m_g.nodes.size(); ++i) {
            LayerMemory& lm = m_plan.layers[i];
            lm.node = static_cast<int>(i);
            lm.name = m_g.nodes[i].name;
            lm.op = op_name(m_g.nodes[i].op);
            const int out = m_p.node_output[i];
            if (out >= 0) lm.output = m_p.placement(out);
            lm.fused_or_view = true;
        }
        for (size_t k = 0; k < m_p.ops.size(); ++k) {
            const DeviceOp& op = m_p.ops[k];
            LayerMemory& lm = m_plan.layers[static_cast<size_t>(op.node)];
            lm.peak_l1_per_core = std::max(lm.peak_l1_per_core, m_plan.ops[k].peak_l1_per_core);
            lm.warnings.insert(lm.warnings.end(), op.warnings.begin(), op.warnings.end());
            if (op.output != m_p.node_output[static_cast<size_t>(op.node)]) continue;
            lm.fused_or_view = false;
            lm.conv = op.conv;
            lm.cbs = op.cbs;
            lm.cb_bytes = op.cb_bytes;
            lm.l1_small_bytes = op.l1_small_bytes;
            lm.buffer_bytes = m_plan.ops[k].buffer_bytes;
            lm.live = m_plan.ops[k].live;
        }
    }

    const Graph& m_g;
    const Program& m_p;
    const WormholeHardware& m_hw;
    MemoryPlan m_plan;
};

}  // namespace

Result<MemoryPlan> plan_memory(const Graph& graph, const Program& program, const WormholeHardware& hw) {
    return status_guard("memory plan", [&]() -> Result<MemoryPlan> {
        return Simulator(graph, program, hw).run();
    });
}

Result<MemoryPlan> plan_memory(const Graph& graph, const std::vector<WormholeLayerConfig>& configs, const WormholeHardware& hw) {
    ZOO_ASSIGN_OR_RETURN(Program program, lower_program(graph, configs, hw));
    return plan_memory(graph, program, hw);
}

std::string format_memory_plan(const Program& program, const MemoryPlan& plan) {
    std::ostringstream os;
    char line[512];
    std::snprintf(line, sizeof line, "%-40s %-36s %-9s %5s %-12s %9s %9s %12s\n", "op", "tensor", "layout", "cores", "shard",
                  "CB B", "L1_SMALL", "L1 peak/core");
    os << line;
    for (size_t k = 0; k < program.ops.size(); ++k) {
        const DeviceOp& op = program.ops[k];
        const TensorPlacement& p = program.placement(op.output);
        const std::string shard = std::to_string(p.shard_h) + "x" + std::to_string(p.shard_w);
        std::snprintf(line, sizeof line, "%-40s %-36s %-9s %5d %-12s %9lld %9lld %12lld\n", device_op_code_name(op.code),
                      program.tensor(op.output).name.c_str(), layout_column(p), op.cores, shard.c_str(),
                      static_cast<long long>(op.cb_bytes), static_cast<long long>(op.l1_small_bytes),
                      static_cast<long long>(k < plan.ops.size() ? plan.ops[k].peak_l1_per_core : 0));
        os << line;
    }
    os << "peak L1 per core: " << plan.peak_l1_per_core << " B at " << plan.peak_layer << " (buffer region "
       << plan.l1_buffer_region_bytes << " B per core); weights in DRAM: " << plan.dram_weight_bytes_per_bank
       << " B per bank x " << plan.dram_banks << " banks\n";
    return os.str();
}

}  // namespace zoo::wormhole
