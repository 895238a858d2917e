#include "memory/memory_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

namespace zoo::wormhole {

namespace {

// Software formats of TT-NN's sliding-window config tensors (not hardware numbers): reader indices are one uint16
// per output row of the shard; the halo op keeps three tables (padding, local, remote) of runs, each run three
// uint16 (source, destination, length).
constexpr int64_t kReaderIndexBytes = 2;
constexpr int64_t kHaloTables = 3;
constexpr int64_t kHaloRunBytes = 6;
// Double buffering of streamed blocks (a kernel convention, two slots per CB).
constexpr int64_t kDoubleBuffer = 2;

int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return div_up(a, b) * b; }

const char* kind_name(BufferKind k) {
    switch (k) {
        case BufferKind::L1Sharded: return "L1 sharded";
        case BufferKind::L1Interleaved: return "L1 interleaved";
        case BufferKind::DramInterleaved: return "DRAM interleaved";
        default: return "none";
    }
}

const char* short_layout(ShardLayout l) {
    switch (l) {
        case ShardLayout::HeightSharded: return "HEIGHT";
        case ShardLayout::WidthSharded: return "WIDTH";
        case ShardLayout::BlockSharded: return "BLOCK";
        case ShardLayout::Interleaved: return "INTERLEAVED";
        default: return "auto";
    }
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

// Interleaved: tiles (or rows when row-major) dealt round-robin over the banks.
TensorPlacement make_interleaved(BufferKind kind, Dims2D d, DataFormat dtype, bool row_major, int banks,
                                 const WormholeHardware& hw) {
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

// A sharded placement with the same distribution as `like`, for a tensor of another dtype.
TensorPlacement like(const TensorPlacement& like, DataFormat dtype, const WormholeHardware& hw) {
    if (like.kind == BufferKind::L1Sharded)
        return make_sharded(like.layout, like.cores, like.range, {like.rows, like.cols}, like.shard_h, like.shard_w, dtype,
                            like.row_major, hw);
    return make_interleaved(like.kind, {like.rows, like.cols}, dtype, like.row_major, like.cores, hw);
}

bool is_activation(OpKind op) {
    return op == OpKind::Relu || op == OpKind::Relu6 || op == OpKind::Hardswish || op == OpKind::Hardsigmoid;
}

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

struct Temp {
    std::string name;
    TensorPlacement placement;
    bool consumes_input = false;  // the op's input may be freed once this temporary exists (reshard, halo)
};

struct Weight {
    std::string name;
    int64_t bytes_per_bank = 0;
};

// Per node: what pass 1 decided.
struct Decision {
    bool real_op = false;  // runs on the card (not a view / fused activation / the input)
    int owner = -1;        // node whose buffer holds this node's value
    TensorPlacement output;
    std::vector<Temp> temps;  // in allocation order
    int64_t l1_small_bytes = 0;
    bool halo = false;        // sliding-window conv: the input is consumed by the halo step
    CoreRange range;          // cores the program runs on (CB errors)
    std::vector<Weight> weights;
};

class Planner {
public:
    Planner(const Graph& g, const std::vector<LayerConfig>& cfg, const WormholeHardware& hw, const PlanOptions& opt)
        : m_g(g), m_cfg(cfg), m_hw(hw), m_opt(opt) {}

    Result<MemoryPlan> run() {
        if (m_cfg.size() != m_g.nodes.size())
            return Status::error("memory plan: " + std::to_string(m_cfg.size()) + " layer configs for " +
                                 std::to_string(m_g.nodes.size()) + " graph nodes");
        m_plan.layers.resize(m_g.nodes.size());
        m_dec.resize(m_g.nodes.size());
        m_use_counts = m_g.use_counts();
        for (size_t i = 0; i < m_g.nodes.size(); ++i) {
            Status s = decide(static_cast<int>(i));
            if (!s) return Status::error(s.message() + " (layer " + m_g.nodes[i].name + ")");
        }
        ZOO_TRY(simulate());
        return std::move(m_plan);
    }

private:
    const Node& node(int i) const { return m_g.nodes[static_cast<size_t>(i)]; }
    const LayerConfig& cfg(int i) const { return m_cfg[static_cast<size_t>(i)]; }
    LayerMemory& layer(int i) { return m_plan.layers[static_cast<size_t>(i)]; }
    Decision& dec(int i) { return m_dec[static_cast<size_t>(i)]; }
    CoreRange full_grid() const { return CoreRange{0, 0, m_hw.grid.worker_x - 1, m_hw.grid.worker_y - 1}; }
    int64_t tile_bytes(DataFormat f) const { return m_hw.tile_bytes(f); }
    int64_t tiles(int64_t elements_1d) const { return div_up(elements_1d, m_hw.tile.width); }

    void add_cb(int i, const std::string& name, int64_t n_tiles, DataFormat f) {
        if (n_tiles <= 0) return;
        CircularBufferPlan cb;
        cb.name = name;
        cb.tiles = n_tiles;
        cb.tile_bytes = tile_bytes(f);
        cb.bytes = round_up(n_tiles * cb.tile_bytes, m_hw.l1.alignment);
        layer(i).cbs.push_back(cb);
        layer(i).cb_bytes += cb.bytes;
    }

    Status decide(int i) {
        const Node& n = node(i);
        LayerMemory& lm = layer(i);
        Decision& d = dec(i);
        lm.node = i;
        lm.name = n.name;
        lm.op = op_name(n.op);
        d.owner = i;
        d.range = full_grid();
        const DataFormat out_dtype = cfg(i).dtype;
        const Dims2D out2d = as_2d(n.output_shape);

        switch (n.op) {
            case OpKind::Input: return decide_input(i);
            case OpKind::Conv2d: return decide_conv(i);
            case OpKind::Flatten:
            case OpKind::Dropout:
                alias(i, n.inputs[0]);
                if (n.op == OpKind::Flatten) d.output.rows = out2d.rows, d.output.cols = out2d.cols;
                lm.output = d.output;
                return Status::ok();
            case OpKind::GlobalAvgPool: {
                d.real_op = true;
                d.output = make_interleaved(BufferKind::L1Interleaved, out2d, out_dtype, false, m_hw.grid.cores(), m_hw);
                const TensorPlacement& in = dec(n.inputs[0]).output;
                if (in.kind != BufferKind::L1Sharded) add_cb(i, "input", kDoubleBuffer, in.dtype);
                add_cb(i, "scaler", 1, DataFormat::BFloat16);
                add_cb(i, "output", kDoubleBuffer, out_dtype);
                if (in.kind == BufferKind::L1Sharded) d.range = in.range;
                lm.output = d.output;
                return Status::ok();
            }
            case OpKind::Linear: return decide_linear(i);
            case OpKind::Add:
            case OpKind::Mul: return decide_binary(i);
            case OpKind::Softmax: {
                d.real_op = true;
                d.output = make_interleaved(BufferKind::L1Interleaved, out2d, out_dtype, false, m_hw.grid.cores(), m_hw);
                const int64_t row_tiles = tiles(out2d.cols);
                add_cb(i, "input", row_tiles, dec(n.inputs[0]).output.dtype);
                add_cb(i, "scratch", row_tiles, DataFormat::BFloat16);
                add_cb(i, "output", row_tiles, out_dtype);
                lm.output = d.output;
                return Status::ok();
            }
            default: break;
        }
        // Unary ops (activations, an unfolded BatchNorm).
        const int p = n.inputs[0];
        if (is_activation(n.op) && m_opt.fuse_activations && node(p).op == OpKind::Conv2d && m_use_counts[p] == 1 &&
            !is_graph_output(p)) {
            alias(i, p);
            lm.output = d.output;
            return Status::ok();
        }
        d.real_op = true;
        const TensorPlacement& in = dec(p).output;
        d.output = like(in, out_dtype, m_hw);
        d.output.row_major = false;
        d.output = like(d.output, out_dtype, m_hw);
        if (in.kind == BufferKind::L1Sharded) {
            d.range = in.range;  // CBs sit on the shards themselves
        } else {
            add_cb(i, "input", kDoubleBuffer, in.dtype);
            add_cb(i, "output", kDoubleBuffer, out_dtype);
        }
        if (n.op == OpKind::BatchNorm) add_cb(i, "scale_shift", 2 * tiles(in.shard_w), DataFormat::BFloat16);
        lm.output = d.output;
        return Status::ok();
    }

    bool is_graph_output(int i) const {
        return std::find(m_g.outputs.begin(), m_g.outputs.end(), i) != m_g.outputs.end();
    }

    void alias(int i, int of) {
        Decision& d = dec(i);
        d.real_op = false;
        d.owner = dec(of).owner;
        d.output = dec(of).output;
        layer(i).fused_or_view = true;
    }

    // The host's image goes to L1 as the first conv wants it: row-major, sharded like that conv's input (reference
    // s6/s7: padded to 16 channels, height sharded 7,840 x 16 on 8x8 at batch 10).
    Status decide_input(int i) {
        Decision& d = dec(i);
        LayerMemory& lm = layer(i);
        d.real_op = false;
        const Dims2D dims = as_2d(node(i).output_shape);
        for (size_t j = static_cast<size_t>(i) + 1; j < m_g.nodes.size(); ++j) {
            const Node& r = m_g.nodes[j];
            if (r.op != OpKind::Conv2d || r.inputs.empty() || r.inputs[0] != i) continue;
            const ConvGeometry geo = ConvGeometry::from(r.attr<Conv2dAttrs>(), node(i).output_shape, r.output_shape);
            // The host shards the image over the whole grid; a core_grid override narrows only the conv (which then
            // reshards its input, as the card would).
            LayerConfig host = m_cfg[j];
            host.core_grid = CoreGrid{};
            host.act_block_h = 0;
            auto s = plan_conv_sharding(geo, host, ConvInputState{true, true}, m_hw);
            if (!s) return s.status().with_context("as input of " + r.name);
            d.output = make_sharded(s->layout, s->num_cores, s->range, dims, s->in_nhw_shard, s->in_c_shard,
                                    cfg(i).dtype, true, m_hw);
            lm.output = d.output;
            return Status::ok();
        }
        d.output = make_interleaved(BufferKind::L1Interleaved, dims, cfg(i).dtype, true, m_hw.grid.cores(), m_hw);
        lm.output = d.output;
        return Status::ok();
    }

    // Channel cores of a sharded tensor (its columns split over cores).
    static int in_cores_c(const TensorPlacement& p) {
        if (p.layout == ShardLayout::HeightSharded) return 1;
        if (p.layout == ShardLayout::WidthSharded) return p.cores;
        return p.range.x1 - p.range.x0 + 1;
    }

    // `auto` sharding is what ttnn picks by its NHW-vs-C heuristic; when that choice cannot hold its circular buffers
    // and shards in L1 (a wide depthwise conv BLOCK-sharded, say), the other layouts are tried in turn, as an engineer
    // tuning the layer would. An explicit shard_layout is never changed: it fails like the card.
    Status decide_conv(int i) {
        if (cfg(i).shard_layout != ShardLayout::Auto) return decide_conv_as(i, std::nullopt);
        const Decision saved_decision = dec(i);
        const LayerMemory saved_layer = layer(i);
        std::vector<std::optional<ShardLayout>> candidates{std::nullopt, ShardLayout::HeightSharded,
                                                           ShardLayout::BlockSharded, ShardLayout::WidthSharded};
        std::string tried;
        for (const auto& candidate : candidates) {
            dec(i) = saved_decision;
            layer(i) = saved_layer;
            Status s = decide_conv_as(i, candidate);
            if (!s) continue;
            int64_t per_core = layer(i).cb_bytes + dec(i).output.bytes_per_bank;
            for (const Temp& t : dec(i).temps) per_core += t.placement.bytes_per_bank;
            if (per_core <= m_hw.l1.buffer_region_bytes()) {
                if (candidate && layer(i).conv) {
                    layer(i).warnings.push_back("auto sharding: " + tried + " would not fit in L1; using " +
                                                shard_layout_name(*candidate));
                }
                return Status::ok();
            }
            tried += std::string(tried.empty() ? "" : ", ") +
                     (layer(i).conv ? shard_layout_name(layer(i).conv->layout) : "the heuristic layout") + " (" +
                     std::to_string(per_core) + " B per core)";
        }
        // Nothing fits: keep ttnn's own choice, which then fails with the card's message.
        dec(i) = saved_decision;
        layer(i) = saved_layer;
        return decide_conv_as(i, std::nullopt);
    }

    Status decide_conv_as(int i, std::optional<ShardLayout> layout) {
        const Node& n = node(i);
        LayerConfig c = cfg(i);
        if (layout) c.shard_layout = *layout;
        const Conv2dAttrs& a = n.attr<Conv2dAttrs>();
        Decision& d = dec(i);
        LayerMemory& lm = layer(i);
        d.real_op = true;
        const int p = n.inputs[0];
        const TensorPlacement& in = dec(p).output;
        const ConvGeometry geo = ConvGeometry::from(a, node(p).output_shape, n.output_shape);
        ConvInputState state{in.kind == BufferKind::L1Sharded, in.row_major};
        if (state.sharded) {
            state.layout = in.layout;
            state.cores_nhw = in.layout == ShardLayout::WidthSharded ? 1 : in.cores / std::max(1, in_cores_c(in));
            state.cores_c = in_cores_c(in);
        }
        ZOO_ASSIGN_OR_RETURN(ConvSharding s, plan_conv_sharding(geo, c, state, m_hw));
        d.range = s.range;
        const int64_t th = m_hw.tile.height, tw = m_hw.tile.width;

        // Output: sharded like the conv, or L1-interleaved when INTERLEAVED was asked for.
        const Dims2D out2d{geo.out_nhw(), geo.out_c};
        const bool interleaved_out = c.shard_layout == ShardLayout::Interleaved;
        d.output = interleaved_out
                       ? make_interleaved(BufferKind::L1Interleaved, out2d, c.dtype, false, m_hw.grid.cores(), m_hw)
                       : make_sharded(s.layout, s.num_cores, s.range, out2d, s.out_nhw_shard, s.out_c_shard, c.dtype,
                                      false, m_hw);

        // The input as this conv runs it; anything else is resharded into a temporary first.
        const TensorPlacement want = make_sharded(s.layout, s.num_cores, s.range, {geo.in_nhw(), geo.in_c},
                                                  s.in_nhw_shard, s.in_c_shard, in.dtype, in.row_major, m_hw);
        if (!want.same_distribution(in)) d.temps.push_back({n.name + ":reshard", want, true});

        // Halo (sliding-window convs): a row-major copy of the padded input rows each core's output shard reads;
        // every core gets the largest such shard (see halo_rows_per_core).
        const bool sliding = !geo.is_matmul();
        const DataFormat act_dtype = in.dtype;
        if (sliding) {
            d.halo = true;
            const int64_t wp = geo.in_w + 2 * geo.pad_w;
            const int64_t halo_rows = halo_rows_per_core(geo, s.out_nhw_shard, s.cores_nhw);
            TensorPlacement halo = make_sharded(s.layout, s.num_cores, s.range, {geo.in_nhw(), geo.in_c}, halo_rows,
                                                s.in_c_shard, act_dtype, true, m_hw);
            d.temps.push_back({n.name + ":halo", halo, true});
            // L1_SMALL config tensors: reader indices (one per output row) + halo run tables (one run per image row).
            const int64_t runs = div_up(halo_rows, wp) + 2;
            d.l1_small_bytes = round_up(s.out_nhw_shard * kReaderIndexBytes, m_hw.l1.alignment) +
                               round_up(kHaloTables * runs * kHaloRunBytes, m_hw.l1.alignment);
        }

        // Circular buffers, in tiles (formulas per CB):
        //   act           act_block_h x act_block_w tiles in the activation format: the (tilized) activation block.
        //                 Absent for a HEIGHT-sharded matmul conv on a tiled input (the matmul reads the shard).
        //   act_row_major 2 x act_block_w tiles of bfloat16 (sliding window only): the reader gathers im2col rows one
        //                 tile row (tile-height rows) at a time, double-buffered, and the compute tilizes each into
        //                 `act` as it arrives. (A whole-block row-major CB would be act_block_h x act_block_w; with it
        //                 the documented tt-metal MobileNetV2 config would not fit in L1, so we take the pipelined
        //                 reading. Calibration choice, not a published figure.)
        //   weights       HEIGHT: the whole per-core weight matrix (k_blocks x act_block_w x weight_block_w) stays
        //                 resident; BLOCK/WIDTH: two K blocks of act_block_w x weight_block_w (streamed, double-buffered).
        //   bias          one tile row of the bias [32, Cout]: weight_block_w tiles.
        //   partials      act_block_h x weight_block_w in fp32 (fp32_dest_acc) or bfloat16, when K has several blocks.
        //   output        act_block_h x weight_block_w, only for an interleaved output (a sharded output is its CB).
        const int64_t abh_t = s.act_block_h / th;
        const int64_t abw_t = s.act_block_w / tw;
        const int64_t wbw_t = s.weight_block_w / tw;
        const DataFormat act_cb_format = in.row_major ? DataFormat::BFloat16 : act_dtype;
        const bool reads_shard_in_place = geo.is_matmul() && s.layout == ShardLayout::HeightSharded && !in.row_major;
        if (!reads_shard_in_place) add_cb(i, "act", abh_t * abw_t, act_cb_format);
        if (sliding) add_cb(i, "act_row_major", kDoubleBuffer * abw_t, DataFormat::BFloat16);
        const int64_t weight_tiles = s.layout == ShardLayout::HeightSharded ? s.k_blocks * abw_t * wbw_t
                                                                            : std::min(kDoubleBuffer, s.k_blocks) * abw_t * wbw_t;
        add_cb(i, "weights", weight_tiles, c.weights_dtype);
        if (a.has_bias) add_cb(i, "bias", wbw_t, c.weights_dtype);
        if (s.k_blocks > 1) add_cb(i, "partials", abh_t * wbw_t, c.fp32_dest_acc ? DataFormat::Float32 : DataFormat::BFloat16);
        if (interleaved_out) add_cb(i, "output", abh_t * wbw_t, c.dtype);

        // Weights in DRAM: the padded [K, Cout] matrix (depthwise: block-diagonal, dense) and the [32, Cout] bias.
        const int64_t w_tiles = (s.weight_rows / th) * (s.out_channels_padded / tw);
        d.weights.push_back({n.name + ".weight", div_up(w_tiles, m_hw.dram.banks) * tile_bytes(c.weights_dtype)});
        if (a.has_bias)
            d.weights.push_back(
                {n.name + ".bias", div_up(s.out_channels_padded / tw, m_hw.dram.banks) * tile_bytes(c.weights_dtype)});

        lm.warnings.insert(lm.warnings.end(), s.warnings.begin(), s.warnings.end());
        lm.conv = std::move(s);
        lm.output = d.output;
        return Status::ok();
    }

    // Eltwise add / mul keep the sharding of their full-size input; a broadcast operand ([N, C, 1, 1], SE's scale)
    // is read through a one-tile-row CB; a full-size operand sharded differently is resharded into a temporary.
    Status decide_binary(int i) {
        const Node& n = node(i);
        Decision& d = dec(i);
        d.real_op = true;
        int full = n.inputs[0], other = n.inputs[1];
        if (node(full).output_shape != n.output_shape && node(other).output_shape == n.output_shape) std::swap(full, other);
        const TensorPlacement& a = dec(full).output;
        const TensorPlacement& b = dec(other).output;
        d.output = like(a, cfg(i).dtype, m_hw);
        if (a.kind == BufferKind::L1Sharded) d.range = a.range;
        if (node(other).output_shape == n.output_shape) {
            if (!b.same_distribution(a)) d.temps.push_back({n.name + ":reshard", like(a, b.dtype, m_hw), false});
            if (a.kind != BufferKind::L1Sharded) {
                add_cb(i, "in0", kDoubleBuffer, a.dtype);
                add_cb(i, "in1", kDoubleBuffer, b.dtype);
                add_cb(i, "output", kDoubleBuffer, cfg(i).dtype);
            }
        } else {
            add_cb(i, "broadcast", tiles(a.kind == BufferKind::L1Sharded ? a.shard_w : a.cols), b.dtype);
            if (a.kind != BufferKind::L1Sharded) {
                add_cb(i, "in0", kDoubleBuffer, a.dtype);
                add_cb(i, "output", kDoubleBuffer, cfg(i).dtype);
            }
        }
        layer(i).output = d.output;
        return Status::ok();
    }

    // Linear: a 1D multicast matmul. Output L1-interleaved; each of min(cores, N tiles) cores computes per_core_n
    // output tile columns. CBs: in0 the whole [M, K] activation (multicast), in1 two K-tile blocks of per_core_n
    // weight tiles, bias per_core_n tiles, output M x per_core_n tiles, partials when K has several tiles.
    Status decide_linear(int i) {
        const Node& n = node(i);
        const LayerConfig& c = cfg(i);
        const LinearAttrs& a = n.attr<LinearAttrs>();
        Decision& d = dec(i);
        d.real_op = true;
        const Dims2D out2d = as_2d(n.output_shape);
        d.output = make_interleaved(BufferKind::L1Interleaved, out2d, c.dtype, false, m_hw.grid.cores(), m_hw);
        const TensorPlacement& in = dec(n.inputs[0]).output;
        const int64_t m_t = div_up(out2d.rows, m_hw.tile.height);
        const int64_t k_t = tiles(a.in_features);
        const int64_t n_t = tiles(a.out_features);
        const int cores = static_cast<int>(std::min<int64_t>(m_hw.grid.cores(), n_t));
        const int64_t per_core_n = div_up(n_t, cores);
        d.range = row_major_range(cores, m_hw.grid.worker_x);
        add_cb(i, "in0", m_t * k_t, in.dtype);
        add_cb(i, "in1", kDoubleBuffer * per_core_n, c.weights_dtype);
        if (a.has_bias) add_cb(i, "bias", per_core_n, c.weights_dtype);
        add_cb(i, "output", m_t * per_core_n, c.dtype);
        if (k_t > 1) add_cb(i, "partials", m_t * per_core_n, c.fp32_dest_acc ? DataFormat::Float32 : DataFormat::BFloat16);
        d.weights.push_back({n.name + ".weight", div_up(k_t * n_t, m_hw.dram.banks) * tile_bytes(c.weights_dtype)});
        if (a.has_bias) d.weights.push_back({n.name + ".bias", div_up(n_t, m_hw.dram.banks) * tile_bytes(c.weights_dtype)});
        layer(i).output = d.output;
        return Status::ok();
    }

    Status simulate() {
        const size_t count = m_g.nodes.size();
        BankAllocator l1("L1", m_hw.l1.reserved_base, m_hw.l1.buffer_region_bytes(), m_hw.l1.alignment, true);
        BankAllocator small("L1_SMALL", m_hw.l1.buffer_region_end(), m_hw.l1.l1_small_bytes, m_hw.l1.alignment, false);
        BankAllocator dram("DRAM", 0, m_hw.dram.bank_bytes(), m_hw.l1.alignment, false);
        m_plan.l1_buffer_region_bytes = m_hw.l1.buffer_region_bytes();
        m_plan.dram_banks = static_cast<int>(m_hw.dram.banks);

        // Weights first: they sit in DRAM for the whole run.
        for (size_t i = 0; i < count; ++i)
            for (const Weight& w : m_dec[i].weights) {
                auto id = dram.allocate(w.name, w.bytes_per_bank, static_cast<int>(m_hw.dram.banks));
                if (!id) return Status::error(id.status().message() + " (layer " + m_g.nodes[i].name + ")");
            }
        m_plan.dram_weight_bytes_per_bank = dram.allocated_bytes();

        // Lifetimes: last reader of every buffer (readers are real ops; views read through their owner).
        std::vector<int> last_reader(count, -1);
        std::vector<bool> pinned(count, false);  // graph outputs
        for (int o : m_g.outputs) pinned[static_cast<size_t>(m_dec[static_cast<size_t>(o)].owner)] = true;
        for (size_t j = 0; j < count; ++j) {
            if (!m_dec[j].real_op) continue;
            for (int in : m_g.nodes[j].inputs) {
                const int o = m_dec[static_cast<size_t>(in)].owner;
                last_reader[static_cast<size_t>(o)] = std::max(last_reader[static_cast<size_t>(o)], static_cast<int>(j));
            }
        }
        auto next_op_after = [&](int j) {
            for (size_t k = static_cast<size_t>(j) + 1; k < count; ++k)
                if (m_dec[k].real_op) return static_cast<int>(k);
            return j;
        };
        std::vector<int> free_after(count, -1);
        for (size_t o = 0; o < count; ++o) {
            if (m_dec[o].owner != static_cast<int>(o) || pinned[o]) continue;
            free_after[o] = last_reader[o] < 0 ? static_cast<int>(o) : next_op_after(last_reader[o]);
        }
        // deallocate_activation: the op frees its activation input as soon as it has consumed it.
        std::vector<int> dealloc_by(count, -1);  // buffer -> op that deallocates it
        for (size_t j = 0; j < count; ++j) {
            if (!m_dec[j].real_op || !m_cfg[j].deallocate_activation || m_g.nodes[j].inputs.empty()) continue;
            const int o = m_dec[static_cast<size_t>(m_g.nodes[j].inputs[0])].owner;
            if (pinned[static_cast<size_t>(o)]) {
                add_warning(static_cast<int>(j), "deallocate_activation ignored: its input " + m_g.nodes[o].name +
                                                     " is a graph output");
            } else if (last_reader[static_cast<size_t>(o)] != static_cast<int>(j)) {
                add_warning(static_cast<int>(j), "deallocate_activation ignored: its input " + m_g.nodes[o].name +
                                                     " is still read by " +
                                                     m_g.nodes[static_cast<size_t>(last_reader[static_cast<size_t>(o)])].name);
            } else {
                dealloc_by[static_cast<size_t>(o)] = static_cast<int>(j);
            }
        }

        std::vector<int> buffer_id(count, 0);
        auto release = [&](int o) {
            if (buffer_id[static_cast<size_t>(o)] != 0) l1.free(buffer_id[static_cast<size_t>(o)]);
            buffer_id[static_cast<size_t>(o)] = 0;
        };
        auto allocate = [&](int layer_node, const std::string& name, const TensorPlacement& p) -> Result<int> {
            if (p.kind != BufferKind::L1Sharded && p.kind != BufferKind::L1Interleaved) return 0;
            auto id = l1.allocate(name, p.bytes_per_bank, p.cores);
            if (!id) return Status::error(id.status().message() + " (layer " + m_g.nodes[layer_node].name + ")");
            return *id;
        };
        auto record = [&](int i) {
            LayerMemory& lm = layer(i);
            lm.buffer_bytes = l1.allocated_bytes();
            lm.peak_l1_per_core = lm.buffer_bytes + lm.cb_bytes;
            lm.l1_small_bytes = m_dec[static_cast<size_t>(i)].l1_small_bytes;
            lm.live.clear();
            for (const auto& a : l1.allocations()) lm.live.push_back({a.name, a.address, a.bytes_per_bank});
            if (lm.peak_l1_per_core > m_plan.peak_l1_per_core) {
                m_plan.peak_l1_per_core = lm.peak_l1_per_core;
                m_plan.peak_layer = lm.name;
            }
        };

        for (size_t ii = 0; ii < count; ++ii) {
            const int i = static_cast<int>(ii);
            Decision& d = m_dec[ii];
            const Node& n = m_g.nodes[ii];
            if (n.op == OpKind::Input) {
                ZOO_ASSIGN_OR_RETURN(buffer_id[ii], allocate(i, n.name, d.output));
                record(i);
            }
            if (!d.real_op) {
                if (n.op != OpKind::Input) record(i);
                continue;
            }
            const int in_owner = n.inputs.empty() ? -1 : m_dec[static_cast<size_t>(n.inputs[0])].owner;
            const bool dealloc_input = in_owner >= 0 && dealloc_by[static_cast<size_t>(in_owner)] == i;

            // 1. temporaries (reshard, halo); the input may go once a consuming temporary holds its data.
            std::vector<int> temp_ids;
            for (const Temp& t : d.temps) {
                ZOO_ASSIGN_OR_RETURN(int id, allocate(i, t.name, t.placement));
                temp_ids.push_back(id);
                if (t.consumes_input && dealloc_input && (d.halo ? t.name.ends_with(":halo") : true)) release(in_owner);
            }
            // After the halo step its source (a reshard copy) is no longer needed.
            if (d.halo && temp_ids.size() > 1) {
                l1.free(temp_ids.front());
                temp_ids.erase(temp_ids.begin());
            }
            // 2. L1_SMALL config tensors.
            int small_id = 0;
            if (d.l1_small_bytes > 0) {
                auto id = small.allocate(n.name + ":config", d.l1_small_bytes, layer(i).conv ? layer(i).conv->num_cores : 1);
                if (!id) return Status::error(id.status().message() + " (layer " + n.name + ")");
                small_id = *id;
            }
            // 3. the output, while the inputs are live.
            ZOO_ASSIGN_OR_RETURN(buffer_id[ii], allocate(i, n.name, d.output));
            // 4. the program's static circular buffers must fit below the lowest L1 buffer.
            Status cb = check_circular_buffers(m_hw.l1.reserved_base, layer(i).cb_bytes, m_hw.l1.bytes_per_core,
                                               l1.lowest_address(), d.range);
            if (!cb) return Status::error(cb.message() + " (layer " + n.name + ")");
            record(i);
            // 5. the op is done: temporaries, config tensors and dead inputs go.
            for (int id : temp_ids) l1.free(id);
            if (small_id) small.free(small_id);
            if (dealloc_input) release(in_owner);
            for (size_t o = 0; o < count; ++o)
                if (free_after[o] == i) release(static_cast<int>(o));
        }
        for (const LayerMemory& lm : m_plan.layers)
            for (const std::string& w : lm.warnings) m_plan.warnings.push_back(lm.name + ": " + w);
        return Status::ok();
    }

    void add_warning(int i, std::string text) { layer(i).warnings.push_back(std::move(text)); }

    const Graph& m_g;
    const std::vector<LayerConfig>& m_cfg;
    const WormholeHardware& m_hw;
    PlanOptions m_opt;
    MemoryPlan m_plan;
    std::vector<Decision> m_dec;
    std::vector<int> m_use_counts;
};

}  // namespace

std::string TensorPlacement::describe() const {
    std::ostringstream os;
    switch (kind) {
        case BufferKind::L1Sharded: os << short_layout(layout) << ' ' << cores << "c " << shard_h << 'x' << shard_w; break;
        case BufferKind::L1Interleaved: os << "L1 interleaved " << cores << "b " << shard_h << 'x' << shard_w; break;
        case BufferKind::DramInterleaved: os << "DRAM interleaved " << cores << "b " << shard_h << 'x' << shard_w; break;
        default: return kind_name(kind);
    }
    os << ' ' << data_format_name(dtype) << (row_major ? " row-major" : "");
    return os.str();
}

Result<MemoryPlan> plan_memory(const Graph& graph, const std::vector<LayerConfig>& configs, const WormholeHardware& hw,
                               const PlanOptions& options) {
    try {
        return Planner(graph, configs, hw, options).run();
    } catch (const std::exception& e) {
        return Status::error(std::string("memory plan: ") + e.what());
    }
}

std::string format_memory_plan(const MemoryPlan& plan, bool include_views) {
    std::ostringstream os;
    char line[512];
    std::snprintf(line, sizeof line, "%-24s %-15s %-8s %5s %-12s %9s %9s %12s\n", "layer", "op", "layout", "cores",
                  "shard", "CB B", "L1_SMALL", "L1 peak/core");
    os << line;
    for (const LayerMemory& lm : plan.layers) {
        if (lm.fused_or_view && !include_views) continue;
        const TensorPlacement& p = lm.output;
        std::string layout = p.kind == BufferKind::L1Sharded ? short_layout(p.layout)
                             : p.kind == BufferKind::L1Interleaved ? "L1-INTL"
                                                                   : kind_name(p.kind);
        if (lm.conv && p.kind != BufferKind::L1Sharded) layout = std::string(short_layout(lm.conv->layout)) + ">INTL";
        const int cores = lm.conv ? lm.conv->num_cores : p.cores;
        const std::string shard = std::to_string(p.shard_h) + "x" + std::to_string(p.shard_w);
        std::snprintf(line, sizeof line, "%-24s %-15s %-8s %5d %-12s %9lld %9lld %12lld\n", lm.name.c_str(),
                      (std::string(lm.op) + (lm.fused_or_view ? "*" : "")).c_str(), layout.c_str(), cores, shard.c_str(),
                      static_cast<long long>(lm.cb_bytes), static_cast<long long>(lm.l1_small_bytes),
                      static_cast<long long>(lm.peak_l1_per_core));
        os << line;
    }
    os << "peak L1 per core: " << plan.peak_l1_per_core << " B at " << plan.peak_layer << " (buffer region "
       << plan.l1_buffer_region_bytes << " B per core); weights in DRAM: " << plan.dram_weight_bytes_per_bank
       << " B per bank x " << plan.dram_banks << " banks\n";
    return os.str();
}

}  // namespace zoo::wormhole
