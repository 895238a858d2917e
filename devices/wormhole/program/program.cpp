#include "program/program.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>

namespace zoo::wormhole {

const char* device_op_code_name(DeviceOpCode code) {
    switch (code) {
#define ZOO_WH_OP_NAME__(name, text) \
    case DeviceOpCode::name: return text;
        ZOO_WH_DEVICE_OP_LIST(ZOO_WH_OP_NAME__)
#undef ZOO_WH_OP_NAME__
    }
    return "?";
}

UnaryFunction unary_of(ActivationId a) { return static_cast<UnaryFunction>(static_cast<uint8_t>(a) + 1); }
bool is_activation_function(UnaryFunction f) { return f != UnaryFunction::None && f < UnaryFunction::AddScalar; }
ActivationId activation_of(UnaryFunction f) { return static_cast<ActivationId>(static_cast<uint8_t>(f) - 1); }

const char* unary_function_name(UnaryFunction f) {
    switch (f) {
        case UnaryFunction::None: return "NONE";
        case UnaryFunction::AddScalar: return "ADD_UNARY_SFPU";
        case UnaryFunction::MulScalar: return "MUL_UNARY_SFPU";
#define ZOO_WH_UNARY_CASE__(name, text, category) case UnaryFunction::name:
        ZOO_ACTIVATION_LIST(ZOO_WH_UNARY_CASE__)
#undef ZOO_WH_UNARY_CASE__
        {
            // Built once: the activation names in capitals, as tt-metal spells its UnaryOpType.
            static const std::vector<std::string> upper = [] {
                std::vector<std::string> names;
                for (ActivationId a : kAllActivations) {
                    std::string t = activation_name(a);
                    for (char& ch : t) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                    names.push_back(t);
                }
                return names;
            }();
            return upper[static_cast<size_t>(activation_of(f))].c_str();
        }
    }
    return "?";
}

namespace {

// Software formats of TT-NN's sliding-window config tensors (not hardware numbers): reader indices are one uint16
// per output row of the shard; the halo op keeps three tables (padding, local, remote) of runs, each run three
// uint16 (source, destination, length).
constexpr int64_t kReaderIndexBytes = 2;
constexpr int64_t kHaloTables = 3;
constexpr int64_t kHaloRunBytes = 6;
// Double buffering of streamed blocks (a kernel convention, two slots per CB).
constexpr int64_t kDoubleBuffer = 2;
// 2D matmul K blocking: at most this many in0 + in1 tiles per K step (a program-config choice of ours, like ttnn's
// default search, not a hardware number).
constexpr int64_t kMatmulBlockTilesBudget = 64;

int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return div_up(a, b) * b; }

// Tiles of one im2col CB of a conv with activation reuse, holding `block_h_tiles` tile rows of output pixels: one
// output image width of im2col rows, plus the new kernel row each later image row of the block adds (tt-metal
// ttnn/cpp/ttnn/operations/conv/conv2d/conv2d_op_program_factory_common.cpp, calculate_act_cb_size_with_reuse).
int64_t reuse_act_cb_tiles(int64_t block_h_tiles, int64_t block_w_tiles, const ConvGeometry& geo, int64_t in_channels_padded,
                           int64_t tile_h, int64_t tile_bytes, int64_t element_bytes) {
    const int64_t image_width_tiles = div_up(geo.out_w, tile_h);
    const int64_t reuse_loops = div_up(block_h_tiles, image_width_tiles);
    const int64_t leftover = geo.out_w % tile_h == 0 ? 0 : tile_h - geo.out_w % tile_h;
    const int64_t reuse_bytes = reuse_loops * in_channels_padded * geo.kernel_w * (1 + leftover * geo.kernel_h) * element_bytes;
    return image_width_tiles * block_w_tiles + div_up(reuse_bytes, tile_bytes);
}

const char* short_layout(ShardLayout l) {
    switch (l) {
        case ShardLayout::HeightSharded: return "HEIGHT";
        case ShardLayout::WidthSharded: return "WIDTH";
        case ShardLayout::BlockSharded: return "BLOCK";
        case ShardLayout::Interleaved: return "INTERLEAVED";
        case ShardLayout::Auto: return "auto";
    }
    return "?";
}

struct Dims2D {
    int64_t rows = 0, cols = 0;
};
// NCHW -> [N*H*W, C]; [N, F] -> [N, F].
Dims2D as_2d(const Shape& s) {
    if (s.size() == 4) return {s[0] * s[2] * s[3], s[1]};
    if (s.size() == 2) return {s[0], s[1]};
    Dims2D d{1, s.empty() ? 1 : s.back()};
    for (size_t i = 0; i + 1 < s.size(); ++i) d.rows *= s[i];
    return d;
}

DataFormat stored_format(DataFormat f, bool row_major) {
    return row_major && WormholeHardware::is_block_float(f) ? DataFormat::BFloat16 : f;
}

int64_t shard_bytes(int64_t h, int64_t w, DataFormat dtype, bool row_major, const WormholeHardware& hw) {
    if (row_major) return h * w * hw.row_major_element_bytes(dtype);
    return div_up(h, hw.tile.height) * div_up(w, hw.tile.width) * hw.tile_bytes(dtype);
}

TensorPlacement make_sharded(ShardLayout layout, int cores, const CoreRange& range, Dims2D d, int64_t shard_h,
                             int64_t shard_w, DataFormat dtype, bool row_major, const WormholeHardware& hw) {
    TensorPlacement p;
    p.kind = BufferKind::L1Sharded;
    p.layout = layout;
    p.cores = cores;
    p.range = range;
    p.rows = d.rows;
    p.cols = d.cols;
    p.shard_h = shard_h;
    p.shard_w = shard_w;
    p.row_major = row_major;
    p.dtype = stored_format(dtype, row_major);
    p.bytes_per_bank = shard_bytes(shard_h, shard_w, p.dtype, row_major, hw);
    return p;
}

// Interleaved: tiles (or rows when row-major) dealt round-robin over the banks (L1: every worker core; DRAM: its banks).
TensorPlacement make_interleaved(BufferKind kind, Dims2D d, DataFormat dtype, bool row_major, const WormholeHardware& hw) {
    const int banks = kind == BufferKind::DramInterleaved ? static_cast<int>(hw.dram.banks) : hw.grid.cores();
    TensorPlacement p;
    p.kind = kind;
    p.layout = ShardLayout::Interleaved;
    p.cores = banks;
    p.range = row_major_range(std::min(banks, hw.grid.cores()), hw.grid.worker_x);
    p.rows = d.rows;
    p.cols = d.cols;
    p.row_major = row_major;
    p.dtype = stored_format(dtype, row_major);
    if (row_major) {
        p.shard_h = d.rows;
        p.shard_w = d.cols;
        p.bytes_per_bank = div_up(d.rows, banks) * round_up(d.cols * hw.row_major_element_bytes(p.dtype), hw.l1.alignment);
    } else {
        p.shard_h = round_up(d.rows, hw.tile.height);
        p.shard_w = round_up(d.cols, hw.tile.width);
        const int64_t pages = (p.shard_h / hw.tile.height) * (p.shard_w / hw.tile.width);
        p.bytes_per_bank = div_up(pages, banks) * hw.tile_bytes(p.dtype);
    }
    return p;
}

// The same distribution as `like`, in another dtype and layout.
TensorPlacement restyle(const TensorPlacement& like, DataFormat dtype, bool row_major, const WormholeHardware& hw) {
    if (like.kind == BufferKind::L1Sharded)
        return make_sharded(like.layout, like.cores, like.range, {like.rows, like.cols}, like.shard_h, like.shard_w, dtype,
                            row_major, hw);
    return make_interleaved(like.kind, {like.rows, like.cols}, dtype, row_major, hw);
}

// ttnn composes hardswish and hardsigmoid from simpler ops when asked (composite_activation); SiLU's composite is the
// `x * ttnn.sigmoid(x)` models write by hand (tt-metal's EfficientNet-B0). The others are one op.
bool has_composite(OpKind op) { return op == OpKind::Hardswish || op == OpKind::Hardsigmoid || op == OpKind::Silu; }

UnaryFunction unary_of(OpKind op) { return is_activation(op) ? zoo::wormhole::unary_of(zoo::activation_of(op)) : UnaryFunction::None; }

// The halo output of one core: for its output rows [c * shard, (c + 1) * shard) of the flattened N*Ho*Wo, the padded
// input image rows those outputs read ((last_oh - first_oh) * stride_h + (kh - 1) * dilation_h + 1 rows per image
// touched), each W + 2 * pad_w wide. The card sizes the halo shard by the largest core.
int64_t halo_rows_per_core(const ConvGeometry& g, int64_t shard, int cores) {
    const int64_t wp = g.in_w + 2 * g.pad_w;
    const int64_t per_image = g.out_h * g.out_w;
    const int64_t window = (g.kernel_h - 1) * g.dilation_h + 1;
    int64_t best = 0;
    for (int c = 0; c < cores; ++c) {
        const int64_t begin = c * shard;
        const int64_t end = std::min(begin + shard, g.out_nhw());
        int64_t rows = 0;
        for (int64_t at = begin; at < end;) {
            const int64_t image = at / per_image;
            const int64_t image_end = std::min(end, (image + 1) * per_image);
            const int64_t first_oh = (at - image * per_image) / g.out_w;
            const int64_t last_oh = (image_end - 1 - image * per_image) / g.out_w;
            rows += std::min((last_oh - first_oh) * g.stride_h + window, g.in_h + 2 * g.pad_h) * wp;
            at = image_end;
        }
        best = std::max(best, rows);
    }
    return best;
}

// Channel cores of a sharded tensor (its columns split over cores).
int in_cores_c(const TensorPlacement& p) {
    if (p.layout == ShardLayout::HeightSharded) return 1;
    if (p.layout == ShardLayout::WidthSharded) return p.cores;
    return p.range.x1 - p.range.x0 + 1;
}

class Lowerer {
public:
    Lowerer(const Graph& g, const std::vector<WormholeLayerConfig>& cfg, const WormholeHardware& hw) : m_g(g), m_cfg(cfg), m_hw(hw) {}

    Result<Program> run() {
        if (m_cfg.size() != m_g.nodes.size())
            return Status::error("device program: " + std::to_string(m_cfg.size()) + " layer configs for " +
                                 std::to_string(m_g.nodes.size()) + " graph nodes");
        m_p.node_value.assign(m_g.nodes.size(), -1);
        m_p.node_output.assign(m_g.nodes.size(), -1);
        m_use_counts = m_g.use_counts();
        for (const Node& n : m_g.nodes)
            if (n.op == OpKind::Input && !n.output_shape.empty()) m_p.batch = n.output_shape[0];
        for (size_t i = 0; i < m_g.nodes.size(); ++i) {
            const int node = static_cast<int>(i);
            const size_t first_op = m_p.ops.size();
            Status s = lower_node(node);
            if (s) s = convert_output(node);
            if (!s) return Status::error(s.message() + " (layer " + m_g.nodes[i].name + ")");
            for (size_t k = first_op; k < m_p.ops.size(); ++k)
                for (const auto& w : m_p.ops[k].warnings) m_p.warnings.push_back(m_g.nodes[i].name + ": " + w);
        }
        return std::move(m_p);
    }

private:
    const Node& node(int i) const { return m_g.nodes[static_cast<size_t>(i)]; }
    const WormholeLayerConfig& cfg(int i) const { return m_cfg[static_cast<size_t>(i)]; }
    const TensorPlacement& value_of(int node_index) const {
        return m_p.placement(m_p.node_value[static_cast<size_t>(node_index)]);
    }
    int value_id(int node_index) const { return m_p.node_value[static_cast<size_t>(node_index)]; }
    CoreRange full_grid() const { return CoreRange{0, 0, m_hw.grid.worker_x - 1, m_hw.grid.worker_y - 1}; }
    int64_t tiles(int64_t elements_1d) const { return div_up(elements_1d, m_hw.tile.width); }
    bool is_graph_output(int i) const {
        return std::find(m_g.outputs.begin(), m_g.outputs.end(), i) != m_g.outputs.end();
    }

    int add_tensor(std::string name, const TensorPlacement& p, bool internal, int node_index) {
        ProgramTensor t;
        t.name = std::move(name);
        t.placement = p;
        t.producer = static_cast<int>(m_p.ops.size());  // the op about to be added
        t.internal = internal;
        t.node = internal ? -1 : node_index;
        m_p.tensors.push_back(std::move(t));
        return static_cast<int>(m_p.tensors.size()) - 1;
    }
    // A new op of node `n` (config, default cores and range from its output).
    DeviceOp start(DeviceOpCode code, int n, std::vector<int> inputs) const {
        DeviceOp op;
        op.code = code;
        op.node = n;
        op.inputs = std::move(inputs);
        op.config = cfg(n);
        op.range = full_grid();
        op.cores = m_hw.grid.cores();
        return op;
    }
    // Appends `op` writing a new tensor; returns the tensor id.
    int emit(DeviceOp op, std::string tensor_name, const TensorPlacement& out, bool internal) {
        const int id = add_tensor(std::move(tensor_name), out, internal, op.node);
        op.output = id;
        if (op.parallelization.empty())
            op.parallelization = out.kind == BufferKind::L1Sharded ? std::string(shard_layout_name(out.layout)) : "INTERLEAVED";
        m_p.ops.push_back(std::move(op));
        return id;
    }
    void add_cb(DeviceOp& op, const std::string& name, int64_t n_tiles, DataFormat f) const {
        if (n_tiles <= 0) return;
        CircularBufferPlan cb;
        cb.name = name;
        cb.tiles = n_tiles;
        cb.tile_bytes = m_hw.tile_bytes(f);
        cb.bytes = round_up(n_tiles * cb.tile_bytes, m_hw.l1.alignment);
        op.cbs.push_back(cb);
        op.cb_bytes += cb.bytes;
    }
    // Cores and range of an op that runs where its (sharded) tensor lives; interleaved tensors use the whole grid.
    void run_on(DeviceOp& op, const TensorPlacement& p) const {
        if (p.kind == BufferKind::L1Sharded) {
            op.cores = p.cores;
            op.range = p.range;
        }
    }
    // The output placement a layer's output_memory / output_layout asks for, given what the op produces naturally.
    Result<TensorPlacement> requested_output(int n, const TensorPlacement& natural, bool can_shard) const {
        const WormholeLayerConfig& c = cfg(n);
        const bool rm = c.output_layout == TensorLayout::RowMajor;
        switch (c.output_memory) {
            case OutputMemory::Auto: return restyle(natural, c.dtype, rm, m_hw);
            case OutputMemory::L1Sharded:
                if (!can_shard || natural.kind != BufferKind::L1Sharded)
                    return Status::error("output_memory L1_SHARDED: " + std::string(op_name(node(n).op)) +
                                         " writes an interleaved output here (its input is not sharded); use auto, "
                                         "L1_INTERLEAVED or DRAM_INTERLEAVED");
                return restyle(natural, c.dtype, rm, m_hw);
            case OutputMemory::L1Interleaved:
                return make_interleaved(BufferKind::L1Interleaved, {natural.rows, natural.cols}, c.dtype, rm, m_hw);
            case OutputMemory::DramInterleaved:
                return make_interleaved(BufferKind::DramInterleaved, {natural.rows, natural.cols}, c.dtype, rm, m_hw);
        }
        return natural;
    }
    // An eltwise op on an interleaved tensor streams it through double-buffered input and output CBs (on sharded
    // tensors the shards are the CBs).
    void stream_if_interleaved(DeviceOp& op, const TensorPlacement& in, const TensorPlacement& out) const {
        if (in.kind == BufferKind::L1Sharded) return;
        add_cb(op, "input", kDoubleBuffer, in.dtype);
        add_cb(op, "output", kDoubleBuffer, out.dtype);
    }
    // Moves tensor `from` of node n into placement `to` as ttnn does for an op that needs it there (reshard,
    // interleaved_to_sharded, sharded_to_interleaved, or a move between interleaved placements): an internal
    // temporary of that op.
    int move_for(int n, int from, const TensorPlacement& to, const std::string& name) {
        const TensorPlacement& src = m_p.placement(from);
        const bool from_shards = src.kind == BufferKind::L1Sharded, to_shards = to.kind == BufferKind::L1Sharded;
        const DeviceOpCode code = to_shards ? (from_shards ? DeviceOpCode::Reshard : DeviceOpCode::InterleavedToSharded)
                                            : (from_shards ? DeviceOpCode::ShardedToInterleaved : DeviceOpCode::Move);
        DeviceOp r = start(code, n, {from});
        run_on(r, to);
        r.attributes = "from=" + src.describe() + ";to=" + to.describe();
        return emit(std::move(r), name, to, true);
    }
    // Marks node n's value (and own output).
    void set_value(int n, int tensor) {
        m_p.node_value[static_cast<size_t>(n)] = tensor;
        m_p.node_output[static_cast<size_t>(n)] = tensor;
    }
    void alias(int n, int of) {
        m_p.node_value[static_cast<size_t>(n)] = value_id(of);
        m_p.node_output[static_cast<size_t>(n)] = value_id(of);
    }

    Status lower_node(int i) {
        const Node& n = node(i);
        switch (n.op) {
            case OpKind::Input: return lower_input(i);
            case OpKind::Conv2d: return lower_conv(i);
            case OpKind::Linear: return lower_linear(i);
            case OpKind::Add: return lower_binary(i, EltwiseFunction::Add);
            case OpKind::Mul: return lower_binary(i, EltwiseFunction::Mul);
            case OpKind::GlobalAvgPool: return lower_pool(i);
            case OpKind::MaxPool2d:
            case OpKind::AvgPool2d: return lower_window_pool(i);
            case OpKind::Softmax: return lower_softmax(i);
#define ZOO_WH_LOWER_ACTIVATION__(name, text, category) case OpKind::name:
            ZOO_ACTIVATION_LIST(ZOO_WH_LOWER_ACTIVATION__)
#undef ZOO_WH_LOWER_ACTIVATION__
                return lower_activation(i);
            case OpKind::BatchNorm: return lower_batchnorm(i);
            case OpKind::Dropout: alias(i, n.inputs[0]); return Status::ok();
            case OpKind::Flatten: return lower_flatten(i);
        }
        return Status::error(std::string("op ") + op_name(n.op) + " has no lowering to the card's ops");
    }

    // The host writes the image to DRAM, row-major; a Reshard moves it into L1 as the first conv reads it (reference
    // s6/s7: padded to 16 channels, height sharded 7,840 x 16 on 8x8 at batch 10).
    Status lower_input(int i) {
        const Dims2D dims = as_2d(node(i).output_shape);
        const DataFormat dtype = cfg(i).dtype;
        // An input no conv reads first (a matmul's) is tilized on the host, as ttnn.from_torch(layout=TILE) does.
        TensorPlacement l1 = make_interleaved(BufferKind::L1Interleaved, dims, dtype, false, m_hw);
        for (size_t j = static_cast<size_t>(i) + 1; j < m_g.nodes.size(); ++j) {
            const Node& r = m_g.nodes[j];
            if (r.op != OpKind::Conv2d || r.inputs.empty() || r.inputs[0] != i) continue;
            const ConvGeometry geo = ConvGeometry::from(r.attr<Conv2dAttrs>(), node(i).output_shape, r.output_shape);
            // The host shards the image over the whole grid; a core_grid override narrows only the conv (which then
            // reshards its input, as the card would).
            WormholeLayerConfig host = m_cfg[j];
            host.core_grid = CoreGrid{};
            host.act_block_h = 0;
            auto s = plan_conv_sharding(geo, host, ConvInputState{true, true}, m_hw);
            if (!s) return s.status().with_context("as input of " + r.name);
            l1 = make_sharded(s->layout, s->num_cores, s->range, dims, s->in_nhw_shard, s->in_c_shard, dtype, true, m_hw);
            break;
        }
        TensorPlacement dram = make_interleaved(BufferKind::DramInterleaved, {l1.rows, l1.cols}, dtype, l1.row_major, m_hw);
        if (l1.row_major) {  // the padded channels travel too (3 -> 16 for the stem)
            dram = make_interleaved(BufferKind::DramInterleaved, {l1.rows, l1.shard_w * std::max(1, in_cores_c(l1))}, dtype, true, m_hw);
            dram.cols = l1.cols;
        }
        ProgramTensor host;
        host.name = node(i).name + ":host";
        host.placement = dram;
        host.producer = -1;
        host.node = i;
        m_p.tensors.push_back(host);
        const int dram_id = static_cast<int>(m_p.tensors.size()) - 1;
        m_p.input_tensors.push_back(dram_id);
        if (cfg(i).output_memory == OutputMemory::DramInterleaved) {  // the model reads the host tensor from DRAM
            m_p.tensors[static_cast<size_t>(dram_id)].placement = make_interleaved(BufferKind::DramInterleaved, dims, dtype, l1.row_major, m_hw);
            set_value(i, dram_id);
            return Status::ok();
        }
        DeviceOp op = start(DeviceOpCode::Reshard, i, {dram_id});
        run_on(op, l1);
        if (l1.kind != BufferKind::L1Sharded) op.code = DeviceOpCode::Move;  // DRAM interleaved -> L1 interleaved
        op.attributes = "from=" + dram.describe() + ";to=" + l1.describe();
        set_value(i, emit(std::move(op), node(i).name, l1, false));
        return Status::ok();
    }

    // The activation node fused into op i (a conv, linear or eltwise op), or -1.
    int fusable_activation(int i) const {
        if (!cfg(i).fuse_activation || is_graph_output(i)) return -1;
        const int j = zoo::fusable_activation(m_g, i, m_use_counts);
        if (j < 0) return -1;
        const bool single_op = !(m_cfg[static_cast<size_t>(j)].composite_activation && has_composite(node(j).op));
        return single_op && m_cfg[static_cast<size_t>(j)].fuse_activation ? j : -1;
    }

    // `auto` sharding is what ttnn picks by its NHW-vs-C heuristic; when that choice cannot hold its circular buffers
    // and shards in L1 (a wide depthwise conv BLOCK-sharded, say), the other layouts are tried in turn, as an engineer
    // tuning the layer would. An explicit shard_layout is never changed: it fails like the card.
    Status lower_conv(int i) {
        if (cfg(i).shard_layout != ShardLayout::Auto) return lower_conv_as(i, std::nullopt);
        const size_t ops_before = m_p.ops.size(), tensors_before = m_p.tensors.size();
        auto rollback = [&] {
            m_p.ops.resize(ops_before);
            m_p.tensors.resize(tensors_before);
        };
        std::string tried;
        for (const auto& candidate : {std::optional<ShardLayout>{}, std::optional<ShardLayout>{ShardLayout::HeightSharded},
                                      std::optional<ShardLayout>{ShardLayout::BlockSharded},
                                      std::optional<ShardLayout>{ShardLayout::WidthSharded}}) {
            rollback();
            if (!lower_conv_as(i, candidate)) continue;
            // Per core: the conv's CBs + its output + the temporaries it made (halo, reshard copy).
            const DeviceOp& conv = m_p.ops.back();
            int64_t per_core = conv.cb_bytes;
            for (size_t t = tensors_before; t < m_p.tensors.size(); ++t)
                if (m_p.tensors[t].placement.in_l1()) per_core += m_p.tensors[t].placement.bytes_per_bank;
            if (per_core <= m_hw.l1.buffer_region_bytes()) {
                if (candidate)
                    m_p.ops.back().warnings.push_back("auto sharding: " + tried + " would not fit in L1; using " +
                                                      shard_layout_name(*candidate));
                return Status::ok();
            }
            tried += std::string(tried.empty() ? "" : ", ") +
                     (conv.conv ? shard_layout_name(conv.conv->layout) : "the heuristic layout") + " (" +
                     std::to_string(per_core) + " B per core)";
        }
        // Nothing fits: keep ttnn's own choice, which then fails with the card's message in the memory plan.
        rollback();
        return lower_conv_as(i, std::nullopt);
    }

    Status lower_conv_as(int i, std::optional<ShardLayout> layout) {
        const Node& n = node(i);
        WormholeLayerConfig c = cfg(i);
        if (layout) c.shard_layout = *layout;
        const Conv2dAttrs& a = n.attr<Conv2dAttrs>();
        const int p = n.inputs[0];
        int in_id = value_id(p);
        const TensorPlacement in = m_p.placement(in_id);
        const ConvGeometry geo = ConvGeometry::from(a, node(p).output_shape, n.output_shape);
        ZOO_ASSIGN_OR_RETURN(ConvSharding s, plan_conv_sharding(geo, c, input_state(in), m_hw));
        const int64_t th = m_hw.tile.height, tw = m_hw.tile.width;
        const int fused = fusable_activation(i);

        // The input as this conv runs it; anything else is resharded into a temporary first.
        const TensorPlacement want = make_sharded(s.layout, s.num_cores, s.range, {geo.in_nhw(), geo.in_c}, s.in_nhw_shard,
                                                  s.in_c_shard, in.dtype, in.row_major, m_hw);
        const bool frees_input = c.deallocate_activation;
        int first_op = static_cast<int>(m_p.ops.size());
        if (!want.same_distribution(in)) in_id = move_for(i, in_id, want, n.name + ":reshard");
        // Halo (sliding-window convs): a row-major copy of the padded input rows each core's output shard reads;
        // every core gets the largest such shard (see halo_rows_per_core).
        const bool sliding = !geo.is_matmul();
        const DataFormat act_dtype = in.dtype;
        int64_t halo_rows = 0;
        if (sliding) {
            halo_rows = halo_rows_per_core(geo, s.out_nhw_shard, s.cores_nhw);
            first_op = static_cast<int>(m_p.ops.size());
            in_id = emit_halo(i, in_id, geo, s, halo_rows, act_dtype, "");
        }

        DeviceOp op = start(sliding ? DeviceOpCode::Conv2d : DeviceOpCode::Matmul, i, {in_id});
        op.config = c;
        op.geometry = geo;
        op.cores = s.num_cores;
        op.range = s.range;
        op.parallelization = shard_layout_name(s.layout);
        if (fused >= 0) {
            op.fused_node = fused;
            op.unary = unary_of(node(fused).op);
        }

        // Circular buffers, in tiles (formulas per CB):
        //   act           act_block_h x act_block_w tiles in the activation format: the (tilized) activation block;
        //                 doubled with enable_act_double_buffer. Absent for a HEIGHT-sharded matmul conv on a tiled
        //                 input (the matmul reads the shard).
        //   act_row_major 2 x act_block_w tiles of bfloat16 (sliding window only): the reader gathers im2col rows one
        //                 tile row at a time, double-buffered, and the compute tilizes each into `act` as it arrives.
        //                 (A whole-block row-major CB would be act_block_h x act_block_w; with it the documented
        //                 tt-metal MobileNetV2 config would not fit in L1, so we take the pipelined reading.)
        //   weights       one K block of act_block_w x weight_block_w, two with enable_weights_double_buffer
        //                 (streamed); a HEIGHT-sharded sliding-window conv with more than one activation block per
        //                 core keeps all k_blocks resident instead, never doubled, since every block reuses them
        //                 (fully_buffer_weights in tt-metal ttnn/cpp/ttnn/operations/conv/conv2d/device/
        //                 conv2d_op_sharded_program_factory.cpp). A 1x1 matmul conv's one K block is its whole K.
        //   bias          one tile row of the bias [32, Cout]: weight_block_w tiles.
        //   partials      act_block_h x weight_block_w in fp32 (fp32_dest_acc) or bfloat16, when K has several blocks.
        //   output        act_block_h x weight_block_w, only for an interleaved output (a sharded output is its CB).
        const int64_t abh_t = s.act_block_h / th;
        const int64_t abw_t = s.act_block_w / tw;
        const int64_t wbw_t = s.weight_block_w / tw;
        const DataFormat act_cb_format = in.row_major ? DataFormat::BFloat16 : act_dtype;
        const bool reads_shard_in_place = geo.is_matmul() && s.layout == ShardLayout::HeightSharded && !in.row_major;
        const int64_t act_slots = c.enable_act_double_buffer ? kDoubleBuffer : 1;
        const int64_t weight_slots = c.enable_weights_double_buffer ? kDoubleBuffer : 1;
        if (s.activation_reuse) {
            // The split reader's two im2col CBs, each sized for its half of the block's tile rows; the weights CB
            // already holds the whole inner dim once.
            const int64_t elem = m_hw.row_major_element_bytes(act_cb_format), tile_bytes = m_hw.tile_bytes(act_cb_format);
            const int64_t second_half = abh_t / 2, first_half = abh_t - second_half;
            add_cb(op, "act", act_slots * reuse_act_cb_tiles(first_half, abw_t, geo, s.in_channels_padded, th, tile_bytes, elem),
                   act_cb_format);
            add_cb(op, "act_second_reader",
                   act_slots * reuse_act_cb_tiles(second_half, abw_t, geo, s.in_channels_padded, th, tile_bytes, elem),
                   act_cb_format);
        } else {
            if (!reads_shard_in_place) add_cb(op, "act", act_slots * abh_t * abw_t, act_cb_format);
            if (sliding) add_cb(op, "act_row_major", kDoubleBuffer * abw_t, DataFormat::BFloat16);
        }
        const bool fully_buffer_weights = s.layout == ShardLayout::HeightSharded && sliding && s.act_blocks > 1;
        const int64_t weight_tiles = (fully_buffer_weights ? s.k_blocks : weight_slots) * abw_t * wbw_t;
        add_cb(op, "weights", weight_tiles, c.weights_dtype);
        if (a.has_bias) add_cb(op, "bias", wbw_t, c.weights_dtype);
        if (s.k_blocks > 1)
            add_cb(op, "partials", abh_t * wbw_t, c.fp32_dest_acc ? DataFormat::Float32 : DataFormat::BFloat16);

        // Output: sharded like the conv, unless output_memory (or shard_layout INTERLEAVED) asks otherwise.
        const Dims2D out2d{geo.out_nhw(), geo.out_c};
        TensorPlacement natural = make_sharded(s.layout, s.num_cores, s.range, out2d, s.out_nhw_shard, s.out_c_shard,
                                               c.dtype, false, m_hw);
        if (c.shard_layout == ShardLayout::Interleaved && c.output_memory == OutputMemory::Auto)
            natural = make_interleaved(BufferKind::L1Interleaved, out2d, c.dtype, false, m_hw);
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out, requested_output(i, natural, true));
        if (out.kind != BufferKind::L1Sharded) add_cb(op, "output", abh_t * wbw_t, c.dtype);

        if (sliding) op.l1_small_bytes = sliding_window_config_bytes(geo, s, halo_rows);
        // Weights in DRAM: the padded [K, Cout] matrix (depthwise: block-diagonal, dense) and the [32, Cout] bias.
        const int64_t w_tiles = (s.weight_rows / th) * (s.out_channels_padded / tw);
        op.weights.push_back({n.name + ".weight", div_up(w_tiles, m_hw.dram.banks) * m_hw.tile_bytes(c.weights_dtype)});
        if (a.has_bias)
            op.weights.push_back(
                {n.name + ".bias", div_up(s.out_channels_padded / tw, m_hw.dram.banks) * m_hw.tile_bytes(c.weights_dtype)});

        char attrs[640];
        std::snprintf(attrs, sizeof attrs,
                      "kernel=%lldx%lld;stride=%lldx%lld;pad=%lldx%lld;groups=%lld;in=%lldx%lldx%lld;out=%lldx%lldx%lld;"
                      "act_block_h=%lld;activation=%s;packer_l1_acc=%d;fp32_dest_acc=%d;act_double_buffer=%d;"
                      "weights_double_buffer=%d;split_reader=%d;activation_reuse=%d",
                      (long long)geo.kernel_h, (long long)geo.kernel_w, (long long)geo.stride_h, (long long)geo.stride_w,
                      (long long)geo.pad_h, (long long)geo.pad_w, (long long)geo.groups, (long long)geo.in_h,
                      (long long)geo.in_w, (long long)geo.in_c, (long long)geo.out_h, (long long)geo.out_w,
                      (long long)geo.out_c, (long long)s.act_block_h, fused >= 0 ? op_name(node(fused).op) : "none",
                      c.packer_l1_acc ? 1 : 0, c.fp32_dest_acc ? 1 : 0, c.enable_act_double_buffer ? 1 : 0,
                      c.enable_weights_double_buffer ? 1 : 0, s.split_reader ? 1 : 0,
                      s.activation_reuse ? 1 : 0);
        op.attributes = attrs;
        op.warnings.insert(op.warnings.end(), s.warnings.begin(), s.warnings.end());
        op.conv = std::move(s);
        const int out_id = emit(std::move(op), n.name, out, false);
        // deallocate_activation frees the input once the first step that consumed it (halo, else reshard, else the
        // conv) has run.
        if (frees_input) mark_dealloc(i, first_op, p);
        set_value(i, out_id);
        if (fused >= 0) m_fused_into[fused] = out_id;
        return Status::ok();
    }

    // Halo of a sliding-window op (conv or pool): a row-major copy of the padded input rows each core's output shard
    // reads; every core gets the largest such shard (see halo_rows_per_core). `pad_value` is reported for pools
    // (max pads with -inf, avg with 0; a conv's padding is 0).
    int emit_halo(int i, int in_id, const ConvGeometry& geo, const ConvSharding& s, int64_t halo_rows, DataFormat dtype,
                  const std::string& pad_value) {
        const TensorPlacement halo = make_sharded(s.layout, s.num_cores, s.range, {halo_rows * s.cores_nhw, geo.in_c},
                                                  halo_rows, s.in_c_shard, dtype, true, m_hw);
        DeviceOp h = start(DeviceOpCode::Halo, i, {in_id});
        run_on(h, halo);
        h.geometry = geo;
        h.conv = s;
        h.attributes = "pad=" + std::to_string(geo.pad_h) + "x" + std::to_string(geo.pad_w) + ";window=" +
                       std::to_string(geo.kernel_h) + "x" + std::to_string(geo.kernel_w) +
                       ";halo_rows_per_core=" + std::to_string(halo_rows) + (pad_value.empty() ? "" : ";pad_value=" + pad_value);
        return emit(std::move(h), node(i).name + ":halo", halo, true);
    }

    // L1_SMALL config tensors of a sliding-window op: reader indices (one per output row of the shard) + the halo's
    // run tables (one run per padded image row).
    int64_t sliding_window_config_bytes(const ConvGeometry& geo, const ConvSharding& s, int64_t halo_rows) const {
        const int64_t wp = geo.in_w + 2 * geo.pad_w;
        const int64_t runs = div_up(halo_rows, wp) + 2;
        return round_up(s.out_nhw_shard * kReaderIndexBytes, m_hw.l1.alignment) +
               round_up(kHaloTables * runs * kHaloRunBytes, m_hw.l1.alignment);
    }

    // The input state a sliding-window op sees (decides whether it reshards and its channel alignment).
    static ConvInputState input_state(const TensorPlacement& in) {
        ConvInputState state{in.kind == BufferKind::L1Sharded, in.row_major};
        if (state.sharded) {
            state.layout = in.layout;
            state.cores_nhw = in.layout == ShardLayout::WidthSharded ? 1 : in.cores / std::max(1, in_cores_c(in));
            state.cores_c = in_cores_c(in);
        }
        return state;
    }

    // A windowed pool as ttnn.max_pool2d / avg_pool2d run it (ttnn/cpp/ttnn/operations/pool/generic): the input
    // sharded the way the pool runs (the sliding-window sharding rules on the pool's depthwise geometry; shard_layout
    // honoured, as applied_shard_scheme), resharded first when it is not; a Halo op gathering each core's padded
    // window rows (row-major; max pads with -inf, avg with 0); then Pool2D, whose two readers (the pool always splits
    // its output sticks over both data-movement RISCs: split_reader = true in pool/generic/device/
    // pool_multi_core_program_factory.cpp) gather each window into double-buffered input CBs for the compute's
    // reduction. The output is sharded like the pool, in the layer's dtype and layout. The halo is sized as for a conv
    // of the same window: a ceil_mode window hanging past the right padding reads nothing more from the input.
    Status lower_window_pool(int i) {
        const Node& n = node(i);
        const bool is_max = n.op == OpKind::MaxPool2d;
        const int p = n.inputs[0];
        int in_id = value_id(p);
        const TensorPlacement in = m_p.placement(in_id);
        const Shape& x = node(p).output_shape;
        ConvGeometry geo;
        geo.batch = x[0];
        geo.in_c = geo.out_c = geo.groups = x[1];
        geo.in_h = x[2];
        geo.in_w = x[3];
        geo.out_h = n.output_shape[2];
        geo.out_w = n.output_shape[3];
        bool ceil_mode = false;
        std::string extra;
        if (is_max) {
            const auto& a = n.attr<MaxPool2dAttrs>();
            geo.kernel_h = a.kernel[0], geo.kernel_w = a.kernel[1], geo.stride_h = a.stride[0], geo.stride_w = a.stride[1];
            geo.pad_h = a.padding[0], geo.pad_w = a.padding[1], geo.dilation_h = a.dilation[0], geo.dilation_w = a.dilation[1];
            ceil_mode = a.ceil_mode;
        } else {
            const auto& a = n.attr<AvgPool2dAttrs>();
            geo.kernel_h = a.kernel[0], geo.kernel_w = a.kernel[1], geo.stride_h = a.stride[0], geo.stride_w = a.stride[1];
            geo.pad_h = a.padding[0], geo.pad_w = a.padding[1];
            ceil_mode = a.ceil_mode;
            extra = std::string(";count_include_pad=") + (a.count_include_pad ? "1" : "0");
        }
        ZOO_ASSIGN_OR_RETURN(ConvSharding s, plan_conv_sharding(geo, cfg(i), input_state(in), m_hw));
        const TensorPlacement want = make_sharded(s.layout, s.num_cores, s.range, {geo.in_nhw(), geo.in_c}, s.in_nhw_shard,
                                                  s.in_c_shard, in.dtype, in.row_major, m_hw);
        if (!want.same_distribution(in)) in_id = move_for(i, in_id, want, n.name + ":reshard");
        const int64_t halo_rows = halo_rows_per_core(geo, s.out_nhw_shard, s.cores_nhw);
        const int first_op = static_cast<int>(m_p.ops.size());  // deallocate_activation frees the input after the halo
        in_id = emit_halo(i, in_id, geo, s, halo_rows, in.dtype, is_max ? "-inf" : "0");

        DeviceOp op = start(DeviceOpCode::Pool2D, i, {in_id});
        op.geometry = geo;
        op.cores = s.num_cores;
        op.range = s.range;
        op.parallelization = shard_layout_name(s.layout);
        char attrs[256];
        std::snprintf(attrs, sizeof attrs, "pool_type=%s;kernel=%lldx%lld;stride=%lldx%lld;pad=%lldx%lld;dilation=%lldx%lld;ceil_mode=%d",
                      is_max ? "MAX" : "AVG", (long long)geo.kernel_h, (long long)geo.kernel_w, (long long)geo.stride_h,
                      (long long)geo.stride_w, (long long)geo.pad_h, (long long)geo.pad_w, (long long)geo.dilation_h,
                      (long long)geo.dilation_w, ceil_mode ? 1 : 0);
        op.attributes = attrs + extra;
        // Circular buffers: per reader one window's channel tiles (bfloat16 sticks), double-buffered; the reduction's
        // scalar (1 for max, the divisor's reciprocal for avg), double-buffered; an output CB only when the output is
        // not the shard itself.
        const int64_t c_tiles = tiles(s.in_c_shard);
        for (const char* reader : {"input_0", "input_1"}) add_cb(op, reader, kDoubleBuffer * c_tiles, DataFormat::BFloat16);
        add_cb(op, "scalar", kDoubleBuffer, DataFormat::BFloat16);
        const TensorPlacement natural = make_sharded(s.layout, s.num_cores, s.range, {geo.out_nhw(), geo.out_c},
                                                     s.out_nhw_shard, s.out_c_shard, cfg(i).dtype, false, m_hw);
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out, requested_output(i, natural, true));
        if (out.kind != BufferKind::L1Sharded) add_cb(op, "output", kDoubleBuffer * tiles(s.out_c_shard), out.dtype);
        op.l1_small_bytes = sliding_window_config_bytes(geo, s, halo_rows);
        op.warnings.insert(op.warnings.end(), s.warnings.begin(), s.warnings.end());
        op.conv = std::move(s);
        const int out_id = emit(std::move(op), n.name, out, false);
        if (cfg(i).deallocate_activation) mark_dealloc(i, first_op, p);
        set_value(i, out_id);
        return Status::ok();
    }

    // deallocate_activation on node `by`: its activation input (node `input_node`'s value) goes after op `op_index`,
    // unless a later node still reads it or it is a graph output (then the flag is ignored, with a warning).
    void mark_dealloc(int by, int op_index, int input_node) {
        const int t = value_id(input_node);
        DeviceOp& op = m_p.ops[static_cast<size_t>(op_index)];
        const int owner = m_p.tensor(t).node >= 0 ? m_p.tensor(t).node : input_node;
        for (int o : m_g.outputs) {
            if (o <= by && value_id(o) == t) {
                op.warnings.push_back("deallocate_activation ignored: its input " + node(owner).name + " is a graph output");
                return;
            }
        }
        // Readers: nodes with an input whose value is t (values of nodes after `by` are newer tensors).
        int last_reader = -1;
        for (size_t j = 0; j < m_g.nodes.size(); ++j)
            for (int in : m_g.nodes[j].inputs)
                if (in <= by && value_id(in) == t) last_reader = std::max(last_reader, static_cast<int>(j));
        if (last_reader != by) {
            op.warnings.push_back("deallocate_activation ignored: its input " + node(owner).name + " is still read by " +
                                  node(last_reader).name);
            return;
        }
        op.frees_tensor = t;
    }
    bool spatial_flatten(int i) const {
        const Shape& x = node(node(i).inputs[0]).output_shape;
        return x.size() == 4 && x[2] * x[3] != 1;
    }

    Status lower_flatten(int i) {
        if (!spatial_flatten(i)) {
            alias(i, node(i).inputs[0]);
            return Status::ok();
        }
        const int in_id = value_id(node(i).inputs[0]);
        const TensorPlacement& in = m_p.placement(in_id);
        DeviceOp op = start(DeviceOpCode::Reshape, i, {in_id});
        op.attributes = "flatten=1";
        const Dims2D out2d = as_2d(node(i).output_shape);
        set_value(i, emit(std::move(op), node(i).name, make_interleaved(BufferKind::L1Interleaved, out2d, in.dtype, in.row_major, m_hw), false));
        return Status::ok();
    }

    // An activation: fused into the conv before it (no op), one Unary op, or the ops of its composite.
    Status lower_activation(int i) {
        const Node& n = node(i);
        if (auto it = m_fused_into.find(i); it != m_fused_into.end()) {
            m_p.node_value[static_cast<size_t>(i)] = it->second;  // after the conv's conversions, if any
            m_p.node_output[static_cast<size_t>(i)] = m_p.node_output[static_cast<size_t>(n.inputs[0])];
            return Status::ok();
        }
        const int x = value_id(n.inputs[0]);
        const bool composite = cfg(i).composite_activation && has_composite(n.op);
        if (!composite) {
            ZOO_ASSIGN_OR_RETURN(int out, unary(i, x, unary_of(n.op), 0, n.name, false));
            set_value(i, out);
            return Status::ok();
        }
        // silu(x) = x * sigmoid(x); hardsigmoid(x) = relu6(x + 3) * (1/6); hardswish(x) = x * hardsigmoid(x). Each step
        // stores in the layer dtype.
        if (n.op == OpKind::Silu) {
            ZOO_ASSIGN_OR_RETURN(int t, unary(i, x, unary_of(OpKind::Sigmoid), 0, n.name + ":sigmoid", true));
            ZOO_ASSIGN_OR_RETURN(t, eltwise(i, EltwiseFunction::Mul, x, t, n.name));
            set_value(i, t);
            return Status::ok();
        }
        ZOO_ASSIGN_OR_RETURN(int t, unary(i, x, UnaryFunction::AddScalar, 3.0f, n.name + ":add", true));
        ZOO_ASSIGN_OR_RETURN(t, unary(i, t, UnaryFunction::Relu6, 0, n.name + ":relu6", true));
        const bool is_swish = n.op == OpKind::Hardswish;
        ZOO_ASSIGN_OR_RETURN(t, unary(i, t, UnaryFunction::MulScalar, 1.0f / 6.0f, is_swish ? n.name + ":hardsigmoid" : n.name, !is_swish));
        if (is_swish) {
            ZOO_ASSIGN_OR_RETURN(t, eltwise(i, EltwiseFunction::Mul, x, t, n.name));
        }
        set_value(i, t);
        return Status::ok();
    }

    // One Unary op on tensor x, written where output_memory says (by default like x, tiled).
    Result<int> unary(int i, int x, UnaryFunction f, float scalar, const std::string& name, bool internal) {
        const TensorPlacement in = m_p.placement(x);
        DeviceOp op = start(DeviceOpCode::Unary, i, {x});
        op.unary = f;
        op.scalar = scalar;
        op.attributes = std::string("op_type=") + unary_function_name(f);
        if (f == UnaryFunction::AddScalar || f == UnaryFunction::MulScalar) {
            char b[64];
            std::snprintf(b, sizeof b, ";param=%g", static_cast<double>(scalar));
            op.attributes += b;
        }
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out, requested_output(i, restyle(in, in.dtype, false, m_hw), true));
        run_on(op, in);
        stream_if_interleaved(op, in, out);
        // Intermediate steps of a composite are Python temporaries of the composite function.
        return emit(std::move(op), name, out, internal);
    }

    Status lower_batchnorm(int i) {
        const int x = value_id(node(i).inputs[0]);
        const TensorPlacement in = m_p.placement(x);
        DeviceOp op = start(DeviceOpCode::BatchNorm, i, {x});
        op.attributes = "eps=" + std::to_string(node(i).attr<BatchNormAttrs>().eps);
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out, requested_output(i, restyle(in, cfg(i).dtype, false, m_hw), true));
        run_on(op, in);
        stream_if_interleaved(op, in, out);
        add_cb(op, "scale_shift", 2 * tiles(in.shard_w), DataFormat::BFloat16);
        set_value(i, emit(std::move(op), node(i).name, out, false));
        return Status::ok();
    }

    // An activation right after an eltwise op that is its only reader runs inside it (ttnn's binary ops take
    // `activations=[...]`: ResNet's add + relu is one op), under the same fuse_activation key as a conv's.
    Status lower_binary(int i, EltwiseFunction f) {
        const Node& n = node(i);
        int full = n.inputs[0], other = n.inputs[1];
        if (node(full).output_shape != n.output_shape && node(other).output_shape == n.output_shape) std::swap(full, other);
        ZOO_ASSIGN_OR_RETURN(int out, eltwise(i, f, value_id(full), value_id(other), n.name, fusable_activation(i)));
        set_value(i, out);
        return Status::ok();
    }

    // Eltwise add / mul keep the sharding of their full-size input `a`; a broadcast operand ([N, C, 1, 1], SE's scale)
    // is read through a one-tile-row CB; a full-size operand sharded differently is resharded first.
    Result<int> eltwise(int i, EltwiseFunction f, int a_id, int b_id, const std::string& name, int fused = -1) {
        const TensorPlacement a = m_p.placement(a_id);
        const TensorPlacement b = m_p.placement(b_id);
        const bool broadcast = b.rows != a.rows;
        if (!broadcast && !b.same_distribution(a)) b_id = move_for(i, b_id, restyle(a, b.dtype, a.row_major, m_hw), name + ":reshard");
        DeviceOp op = start(DeviceOpCode::BinaryNg, i, {a_id, b_id});
        op.eltwise = f;
        op.broadcast = broadcast;
        op.attributes = std::string("binary_op_type=") + (f == EltwiseFunction::Mul ? "MUL" : "ADD") + (broadcast ? ";broadcast=1" : "");
        if (fused >= 0) {
            op.fused_node = fused;
            op.unary = unary_of(node(fused).op);
            op.attributes += std::string(";activation=") + unary_function_name(op.unary);
        }
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out, requested_output(i, restyle(a, cfg(i).dtype, false, m_hw), true));
        run_on(op, a);
        if (broadcast) add_cb(op, "broadcast", tiles(a.kind == BufferKind::L1Sharded ? a.shard_w : a.cols), b.dtype);
        if (a.kind != BufferKind::L1Sharded) {
            add_cb(op, "in0", kDoubleBuffer, a.dtype);
            if (!broadcast) add_cb(op, "in1", kDoubleBuffer, b.dtype);
            add_cb(op, "output", kDoubleBuffer, out.dtype);
        }
        const int out_id = emit(std::move(op), name, out, false);
        if (fused >= 0) m_fused_into[fused] = out_id;
        return out_id;
    }

    Status lower_pool(int i) {
        // ttnn.global_avg_pool2d is ttnn's sum over H (the [N, 1, H*W, C] view) scaled by 1/(H*W): a reduction op
        // (tt-metal ttnn/cpp/ttnn/operations/pool/global_avg_pool/global_avg_pool.cpp, pool_sum); avg_pool2d and
        // adaptive_avg_pool2d are Pool2D.
        const bool reduction = cfg(i).pool_as_reduction;
        int x = value_id(node(i).inputs[0]);
        // A Pool2D asked for a HEIGHT or WIDTH shard scheme (avg_pool2d's applied_shard_scheme) runs on an input
        // sharded that way, resharded first when it is interleaved, as the windowed pools are (lower_windowed_pool).
        const ShardLayout scheme = cfg(i).shard_layout;
        if (!reduction && m_p.placement(x).kind != BufferKind::L1Sharded &&
            (scheme == ShardLayout::HeightSharded || scheme == ShardLayout::WidthSharded)) {
            const TensorPlacement& from = m_p.placement(x);
            const int64_t th = m_hw.tile.height, tw = m_hw.tile.width;
            const bool height = scheme == ShardLayout::HeightSharded;
            const int cores = height ? height_cores(from.rows, m_hw.grid.cores(), th)
                                     : largest_divisor_at_most(div_up(from.cols, tw), m_hw.grid.cores());
            const TensorPlacement to =
                make_sharded(scheme, cores, row_major_range(cores, m_hw.grid.worker_x), {from.rows, from.cols},
                             height ? round_up(from.rows, cores * th) / cores : round_up(from.rows, th),
                             height ? round_up(from.cols, tw) : round_up(from.cols, cores * tw) / cores, from.dtype,
                             from.row_major, m_hw);
            x = move_for(i, x, to, node(i).name + ":shard");
        }
        const TensorPlacement in = m_p.placement(x);
        DeviceOp op = start(reduction ? DeviceOpCode::Reduce : DeviceOpCode::Pool2D, i, {x});
        const Shape& xs = node(node(i).inputs[0]).output_shape;
        op.attributes = reduction ? "math_op=SUM;dim=H;scaler=1/" + std::to_string(xs.size() == 4 ? xs[2] * xs[3] : 1)
                                  : std::string("pool_type=AVG;global=1");
        const Dims2D out2d = as_2d(node(i).output_shape);
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out,
                             requested_output(i, make_interleaved(BufferKind::L1Interleaved, out2d, cfg(i).dtype, false, m_hw), false));
        if (in.kind != BufferKind::L1Sharded) add_cb(op, "input", kDoubleBuffer, in.dtype);
        add_cb(op, "scaler", 1, DataFormat::BFloat16);
        add_cb(op, "output", kDoubleBuffer, out.dtype);
        run_on(op, in);
        op.parallelization = in.kind == BufferKind::L1Sharded ? shard_layout_name(in.layout) : "INTERLEAVED";
        set_value(i, emit(std::move(op), node(i).name, out, false));
        return Status::ok();
    }

    Status lower_softmax(int i) {
        const int x = value_id(node(i).inputs[0]);
        const TensorPlacement in = m_p.placement(x);
        DeviceOp op = start(DeviceOpCode::Softmax, i, {x});
        op.attributes = "dim=-1";
        const Dims2D out2d = as_2d(node(i).output_shape);
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out,
                             requested_output(i, make_interleaved(BufferKind::L1Interleaved, out2d, cfg(i).dtype, false, m_hw), false));
        const int64_t row_tiles = tiles(out2d.cols);
        add_cb(op, "input", row_tiles, in.dtype);
        add_cb(op, "scratch", row_tiles, DataFormat::BFloat16);
        add_cb(op, "output", row_tiles, out.dtype);
        op.cores = static_cast<int>(std::min<int64_t>(m_hw.grid.cores(), div_up(out2d.rows, m_hw.tile.height)));
        op.range = row_major_range(op.cores, m_hw.grid.worker_x);
        set_value(i, emit(std::move(op), node(i).name, out, false));
        return Status::ok();
    }

    // Linear as ttnn.linear's default program configs pick it: one tile row of M (the batch of a classifier) is a 1D
    // multicast matmul, each of min(cores, N tiles) cores computing per_core_N output tile columns (in0: the whole
    // [M, K] activation, multicast); a taller M is a 2D multicast matmul over the grid, each core a per_core_M x
    // per_core_N block (in0 blocks multicast along grid rows, in1 blocks along grid columns), K in in0_block_w steps.
    Status lower_linear(int i) {
        const Node& n = node(i);
        const WormholeLayerConfig& c = cfg(i);
        const LinearAttrs& a = n.attr<LinearAttrs>();
        const int x = value_id(n.inputs[0]);
        const TensorPlacement in = m_p.placement(x);
        if (in.row_major)
            return Status::error("linear: ttnn.linear takes a TILE tensor, found " + in.describe() +
                                 " (add to_tile to the previous layer's convert_output)");
        const Dims2D out2d = as_2d(n.output_shape);
        const int64_t m_t = div_up(out2d.rows, m_hw.tile.height);
        const int64_t k_t = tiles(a.in_features);
        const int64_t n_t = tiles(a.out_features);
        DeviceOp op = start(DeviceOpCode::Matmul, i, {x});
        MatmulBlocking& b = op.matmul;
        if (m_t == 1) {
            b.grid_x = static_cast<int>(std::min<int64_t>(m_hw.grid.cores(), n_t));
            b.grid_y = 1;
            b.per_core_m = 1;
            b.per_core_n = div_up(n_t, b.grid_x);
            b.in0_block_w = k_t;
            op.parallelization = "MatmulMultiCoreReuseMultiCast1DProgramConfig";
            op.range = row_major_range(b.grid_x, m_hw.grid.worker_x);
        } else {
            b.grid_x = static_cast<int>(std::min<int64_t>(m_hw.grid.worker_x, n_t));
            b.grid_y = static_cast<int>(std::min<int64_t>(m_hw.grid.worker_y, m_t));
            b.per_core_m = div_up(m_t, b.grid_y);
            b.per_core_n = div_up(n_t, b.grid_x);
            // K steps: the largest divisor of the K tiles whose in0 + in1 blocks stay a small share of L1 (ttnn's
            // default config search targets the same; a program choice, not a hardware number).
            b.in0_block_w = 1;
            for (int64_t w = 1; w <= k_t; ++w)
                if (k_t % w == 0 && w * (b.per_core_m + b.per_core_n) <= kMatmulBlockTilesBudget) b.in0_block_w = w;
            op.parallelization = "MatmulMultiCoreReuseMultiCastProgramConfig";
            op.range = CoreRange{0, 0, b.grid_x - 1, b.grid_y - 1};
        }
        b.k_tiles = k_t;
        op.cores = b.grid_x * b.grid_y;
        op.attributes = "M=" + std::to_string(out2d.rows) + ";K=" + std::to_string(a.in_features) + ";N=" +
                        std::to_string(a.out_features) + ";per_core_M=" + std::to_string(b.per_core_m) + ";per_core_N=" +
                        std::to_string(b.per_core_n) + ";in0_block_w=" + std::to_string(b.in0_block_w);
        const int fused = fusable_activation(i);
        if (fused >= 0) {
            op.fused_node = fused;
            op.unary = unary_of(node(fused).op);
        }
        ZOO_ASSIGN_OR_RETURN(TensorPlacement out,
                             requested_output(i, make_interleaved(BufferKind::L1Interleaved, out2d, c.dtype, false, m_hw), false));
        add_cb(op, "in0", (m_t == 1 ? 1 : kDoubleBuffer) * b.per_core_m * b.in0_block_w, in.dtype);
        add_cb(op, "in1", kDoubleBuffer * b.in0_block_w * b.per_core_n, c.weights_dtype);
        if (a.has_bias) add_cb(op, "bias", b.per_core_n, c.weights_dtype);
        add_cb(op, "output", b.per_core_m * b.per_core_n, c.dtype);
        if (k_t > b.in0_block_w)
            add_cb(op, "partials", b.per_core_m * b.per_core_n, c.fp32_dest_acc ? DataFormat::Float32 : DataFormat::BFloat16);
        op.weights.push_back({n.name + ".weight", div_up(k_t * n_t, m_hw.dram.banks) * m_hw.tile_bytes(c.weights_dtype)});
        if (a.has_bias)
            op.weights.push_back({n.name + ".bias", div_up(n_t, m_hw.dram.banks) * m_hw.tile_bytes(c.weights_dtype)});
        const int out_id = emit(std::move(op), n.name, out, false);
        set_value(i, out_id);
        if (fused >= 0) m_fused_into[fused] = out_id;
        return Status::ok();
    }

    // ttnn's view test for reshape [1, 1, N*H*W, C] -> [N, H, W, C]: last dim kept, memory kept, and either ROW_MAJOR
    // or no tile padding in the second-last dim before (N*H*W) and after (W).
    bool reshape_is_view(int i, const TensorPlacement& in) const {
        if (in.row_major) return true;
        const Shape& s = node(i).output_shape;  // NCHW
        const int64_t w = s.size() == 4 ? s[3] : 1;
        return in.rows % m_hw.tile.width == 0 && w % m_hw.tile.height == 0;  // as ttnn pairs them
    }

    // The conversion ops a layer's convert_output lists, in order, on the layer's value.
    Status convert_output(int i) {
        const std::vector<ConvertOp>& steps = cfg(i).convert_output;
        if (steps.empty()) return Status::ok();
        if (m_p.node_value[static_cast<size_t>(i)] < 0) return Status::ok();
        for (ConvertOp step : steps) {
            const int x = value_id(i);
            const TensorPlacement in = m_p.placement(x);
            const std::string what = std::string("convert_output ") + convert_op_name(step) + ": ";
            TensorPlacement out = in;
            DeviceOpCode code = DeviceOpCode::Reshape;
            switch (step) {
                case ConvertOp::ShardedToInterleaved:
                    if (in.kind != BufferKind::L1Sharded)
                        return Status::error(what + "the tensor is not sharded (" + in.describe() + ")");
                    code = DeviceOpCode::ShardedToInterleaved;
                    out = make_interleaved(BufferKind::L1Interleaved, {in.rows, in.cols}, in.dtype, in.row_major, m_hw);
                    break;
                case ConvertOp::InterleavedToSharded: {
                    if (in.kind == BufferKind::L1Sharded)
                        return Status::error(what + "the tensor is already sharded (" + in.describe() + ")");
                    // Height sharded over the cores the height rule picks (ttnn/cpp/ttnn/operations/conv/conv2d/conv2d_utils.cpp).
                    const int cores = height_cores(in.rows, m_hw.grid.cores(), m_hw.tile.height);
                    code = DeviceOpCode::InterleavedToSharded;
                    out = make_sharded(ShardLayout::HeightSharded, cores, row_major_range(cores, m_hw.grid.worker_x),
                                       {in.rows, in.cols}, round_up(in.rows, cores * m_hw.tile.height) / cores,
                                       round_up(in.cols, m_hw.tile.width), in.dtype, in.row_major, m_hw);
                    break;
                }
                case ConvertOp::ToRowMajor:
                    if (in.row_major) return Status::error(what + "the tensor is already ROW_MAJOR (" + in.describe() + ")");
                    code = DeviceOpCode::Untilize;
                    out = restyle(in, in.dtype, true, m_hw);
                    break;
                case ConvertOp::ToTile:
                    if (!in.row_major) return Status::error(what + "the tensor is already TILE (" + in.describe() + ")");
                    code = DeviceOpCode::Tilize;
                    out = restyle(in, cfg(i).dtype, false, m_hw);
                    break;
                case ConvertOp::Reshape:
                    // reshape(N, H, W, C) of the [1, 1, N*H*W, C] tensor keeps the last dim and the memory: ttnn makes
                    // it a view (no device op, no row in the profiler's ops log) when the tensor is ROW_MAJOR or its
                    // tiles line up on both sides (tt-metal ttnn/cpp/ttnn/operations/data_movement/reshape_view/
                    // reshape.cpp, `this_is_view`). Otherwise it is a ReshapeView op that moves the data.
                    if (reshape_is_view(i, in)) continue;
                    code = DeviceOpCode::Reshape;
                    break;
            }
            DeviceOp op = start(code, i, {x});
            run_on(op, in.kind == BufferKind::L1Sharded ? in : out);
            op.attributes = "from=" + in.describe() + ";to=" + out.describe();
            if (code == DeviceOpCode::Tilize || code == DeviceOpCode::Untilize) {
                add_cb(op, "input", kDoubleBuffer * tiles(in.kind == BufferKind::L1Sharded ? in.shard_w : in.cols), in.dtype);
                add_cb(op, "output", kDoubleBuffer * tiles(in.kind == BufferKind::L1Sharded ? in.shard_w : in.cols), out.dtype);
            }
            const int id = emit(std::move(op), node(i).name + ":" + convert_op_name(step), out, false);
            m_p.node_value[static_cast<size_t>(i)] = id;
            // A conv's conversions come after its fused activation: that activation's readers see them too.
            for (auto& [act, tensor] : m_fused_into)
                if (tensor == x) tensor = id;
        }
        return Status::ok();
    }

    const Graph& m_g;
    const std::vector<WormholeLayerConfig>& m_cfg;
    const WormholeHardware& m_hw;
    Program m_p;
    std::vector<int> m_use_counts;
    std::map<int, int> m_fused_into;  // activation node -> tensor of the conv it runs in
};

}  // namespace

std::string TensorPlacement::describe() const {
    std::ostringstream os;
    switch (kind) {
        case BufferKind::L1Sharded: os << short_layout(layout) << ' ' << cores << "c " << shard_h << 'x' << shard_w; break;
        case BufferKind::L1Interleaved: os << "L1 interleaved " << cores << "b " << shard_h << 'x' << shard_w; break;
        case BufferKind::DramInterleaved: os << "DRAM interleaved " << cores << "b " << shard_h << 'x' << shard_w; break;
        case BufferKind::Host: return "host";
    }
    os << ' ' << data_format_name(dtype) << (row_major ? " row-major" : "");
    return os.str();
}

Result<Program> lower_program(const Graph& graph, const std::vector<WormholeLayerConfig>& configs, const WormholeHardware& hw) {
    return status_guard("device program", [&]() -> Result<Program> {
        return Lowerer(graph, configs, hw).run();
    });
}


}  // namespace zoo::wormhole
