#include "perf/perf_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace zoo::wormhole {

const char* perf_bound_name(PerfBound b) {
    switch (b) {
        case PerfBound::Compute: return "compute";
        case PerfBound::Bandwidth: return "bandwidth";
        default: return "overhead";
    }
}

namespace {

int64_t div_up(int64_t a, int64_t b) { return b <= 0 ? 0 : (a + b - 1) / b; }

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

const char* layout_word(ShardLayout l) {
    switch (l) {
        case ShardLayout::HeightSharded: return "HEIGHT_SHARDED";
        case ShardLayout::WidthSharded: return "WIDTH_SHARDED";
        case ShardLayout::BlockSharded: return "BLOCK_SHARDED";
        default: return "INTERLEAVED";
    }
}


PerfTensor describe(const TensorPlacement& p) {
    PerfTensor t;
    t.y = p.rows;
    t.x = p.cols;
    t.layout = p.row_major ? "ROW_MAJOR" : "TILE";
    t.dtype = upper(data_format_name(p.dtype));
    switch (p.kind) {
        case BufferKind::L1Sharded: t.memory = std::string("DEV_0_L1_") + layout_word(p.layout); break;
        case BufferKind::L1Interleaved: t.memory = "DEV_0_L1_INTERLEAVED"; break;
        case BufferKind::DramInterleaved: t.memory = "DEV_0_DRAM_INTERLEAVED"; break;
        case BufferKind::Host: t.memory = "HOST"; break;
    }
    t.bytes = p.total_bytes();
    return t;
}

// The model's arithmetic, in cycles of the AI clock. Each cost_* reads one program op: its tensors' placements, its
// program config (conv sharding, CBs, fused activation, flags); nothing is re-derived.
class Model {
public:
    Model(const Program& p, const WormholeHardware& hw) : m_p(p), m_hw(hw) {
        const double hz = hw.chip.ai_clock_hz;
        m_dram_core = hw.data_movement.dram_bytes_per_s_per_core / hz;
        m_l1_read = hw.data_movement.l1_read_bytes_per_s_per_core / hz;
        m_l1_write = hw.data_movement.l1_write_bytes_per_s_per_core / hz;
        m_dram_card = hw.dram.achievable_bytes_per_s / hz;
        m_unpack_each = static_cast<double>(hw.compute.unpack_bytes_per_cycle_each);
        m_unpack_joint = static_cast<double>(hw.compute.unpack_joint_bytes_per_cycle);
        m_pack = static_cast<double>(hw.compute.pack_units * hw.compute.pack_bits_per_cycle_each) / 8.0;
        m_th = hw.tile.height;
        m_tw = hw.tile.width;
    }

    PerfOp cost(size_t k, const Graph& g) const {
        const DeviceOp& op = m_p.ops[k];
        PerfOp r;
        r.node_name = g.nodes[static_cast<size_t>(op.node)].name;
        r.output_name = m_p.tensor(op.output).name;
        r.op_code = device_op_code_name(op.code);
        r.attributes = op.attributes;
        r.parallelization = op.parallelization;
        r.cores = op.cores;
        for (int t : op.inputs) r.inputs.push_back(describe(m_p.placement(t)));
        r.output = describe(m_p.placement(op.output));
        switch (op.code) {
            case DeviceOpCode::Reshard:
            case DeviceOpCode::InterleavedToSharded:
            case DeviceOpCode::ShardedToInterleaved:
            case DeviceOpCode::Reshape:
            case DeviceOpCode::Move: cost_move(op, r); break;
            case DeviceOpCode::Halo: cost_halo(op, r); break;
            case DeviceOpCode::Conv2d: cost_conv(op, r); break;
            case DeviceOpCode::Matmul:
                if (op.geometry) cost_conv(op, r);
                else cost_linear(op, r, g);
                break;
            case DeviceOpCode::BinaryNg: cost_eltwise(op, r); break;
            case DeviceOpCode::Unary:
            case DeviceOpCode::BatchNorm: cost_unary(op, r); break;
            case DeviceOpCode::Tilize:
            case DeviceOpCode::Untilize: cost_layout_change(op, r); break;
            case DeviceOpCode::Pool2D:
            case DeviceOpCode::Reduce: cost_pool(op, r); break;  // both reduce each input tile on the FPU
            case DeviceOpCode::Softmax: cost_softmax(op, r); break;
        }
        return r;
    }

private:
    double ns(double cycles) const { return cycles / m_hw.chip.ai_clock_hz * 1e9; }
    int64_t phases(MathFidelity f) const {
        return m_hw.compute.tile_matmul_cycles[static_cast<size_t>(f)] /
               std::max<int64_t>(1, m_hw.compute.tile_matmul_cycles[static_cast<size_t>(MathFidelity::LoFi)]);
    }
    // Cycles to unpack `src_a` bytes to SrcA (unpacker 0) and `src_b` to SrcB (unpacker 1): each at its own rate,
    // both together within their shared L1 ports' joint rate.
    double unpack_cycles(double src_a, double src_b = 0) const {
        return std::max({src_a / m_unpack_each, src_b / m_unpack_each, (src_a + src_b) / m_unpack_joint});
    }
    // One RISC issuing `requests` NoC transactions of `bytes` each at `rate` B/cycle (issue-bound or byte-bound),
    // waiting `barriers` times for the ones in flight (noc_async_read_barrier): each wait costs the round trip.
    double noc_cycles(double requests, double bytes_each, double rate, int64_t latency, double barriers = 1) const {
        if (requests <= 0) return 0;
        const double per = std::max(static_cast<double>(m_hw.perf.noc_request_issue_cycles), bytes_each / rate);
        return requests * per + std::max(1.0, barriers) * static_cast<double>(latency);
    }
    // DRAM reads of `total` bytes by `readers` cores in pages of `page` bytes: per-core rate or card rate.
    double dram_cycles(double total, int readers, double page) const {
        if (total <= 0) return 0;
        const double per_reader = total / std::max(1, readers);
        const double core = noc_cycles(per_reader / std::max(1.0, page), page, m_dram_core, m_hw.data_movement.dram_latency_cycles);
        return std::max(core, total / m_dram_card + static_cast<double>(m_hw.data_movement.dram_latency_cycles));
    }
    enum class NocDirection { Read, Write };
    // A reader or writer that moves an interleaved tensor one tile page at a time and waits for each one, as
    // tt-metal's eltwise and reduce data-movement kernels do (reader_unary_interleaved_start_id.cpp:
    // noc_async_read_tile + noc_async_read_barrier per tile; writer_unary_interleaved_start_id.cpp and binary_ng's
    // writer_interleaved_no_bcast.cpp: noc_async_write_tile + noc_async_write_barrier per tile): every page pays the
    // NoC round trip, not only the last. Cycles for `tiles` pages of `p`; 0 for a sharded tensor (its shard is the CB).
    // Tilize / untilize and softmax move rows or whole tile rows per barrier instead (cost_layout_change, cost_softmax).
    double tile_by_tile_noc_cycles(double tiles, const TensorPlacement& p, NocDirection dir) const {
        if (p.kind == BufferKind::L1Sharded || tiles <= 0) return 0;
        const double page = static_cast<double>(m_hw.tile_bytes(p.dtype));
        const bool dram = p.kind == BufferKind::DramInterleaved;
        const bool write = dir == NocDirection::Write;
        const double rate = dram ? m_dram_core : write ? m_l1_write : m_l1_read;
        const int64_t latency = dram ? m_hw.data_movement.dram_latency_cycles
                                     : write ? m_hw.data_movement.l1_write_latency_cycles : m_hw.data_movement.l1_read_latency_cycles;
        return noc_cycles(tiles, page, rate, latency, tiles);
    }
    int64_t sfpu_instructions(UnaryFunction f) const {
        switch (f) {
            case UnaryFunction::None: return 0;
            // load, one multiply-add, store: as the cheapest clamp
            case UnaryFunction::AddScalar:
            case UnaryFunction::MulScalar: return m_hw.perf.sfpu(ActivationId::Relu);
#define ZOO_WH_SFPU_COST__(name, text, category) case UnaryFunction::name:
            ZOO_ACTIVATION_LIST(ZOO_WH_SFPU_COST__)
#undef ZOO_WH_SFPU_COST__
                return m_hw.perf.sfpu(activation_of(f));
        }
        return 0;
    }
    double sfpu_cycles(double tiles, int64_t instructions) const {
        return tiles * static_cast<double>(m_hw.compute.sfpu_passes_per_tile * instructions) /
               static_cast<double>(std::max<int64_t>(1, m_hw.compute.sfpu_instructions_per_cycle));
    }
    // Tiles a core holds of a placement.
    double tiles_per_core(const TensorPlacement& p) const {
        if (p.kind == BufferKind::L1Sharded) return static_cast<double>(div_up(p.shard_h, m_th) * div_up(p.shard_w, m_tw));
        const double total = static_cast<double>(div_up(p.rows, m_th) * div_up(p.cols, m_tw));
        return std::ceil(total / std::max(1, m_hw.grid.cores()));
    }
    // Two pipeline stages sharing a CB: hidden behind each other when double-buffered, partly serial otherwise.
    double overlap(double a, double b, bool double_buffered) const {
        const double stall = double_buffered ? 0.0 : m_hw.perf.single_buffer_stall_fraction;
        return std::max(a, b) + stall * std::min(a, b);
    }
    void finish(PerfOp& op, double overhead, double compute, double bandwidth, double kernel_cycles = -1) const {
        op.overhead_ns = ns(overhead);
        op.compute_ns = ns(compute);
        op.bandwidth_ns = ns(bandwidth);
        op.kernel_ns = kernel_cycles >= 0 ? ns(overhead + kernel_cycles) : op.overhead_ns + std::max(op.compute_ns, op.bandwidth_ns);
        op.fw_ns = op.kernel_ns + ns(static_cast<double>(m_hw.perf.fw_overhead_cycles));
        op.host_ns = m_hw.host.host_dispatch_ns_per_op;
        op.bound = op.compute_ns >= op.bandwidth_ns ? PerfBound::Compute : PerfBound::Bandwidth;
        if (op.overhead_ns > std::max(op.compute_ns, op.bandwidth_ns)) op.bound = PerfBound::Overhead;
        int64_t in_bytes = 0;
        for (const auto& t : op.inputs) in_bytes += t.bytes;
        op.pm_bandwidth_ns = (static_cast<double>(in_bytes + op.output.bytes)) / m_hw.dram.op_model_bytes_per_s * 1e9;
    }
    double launch() const { return static_cast<double>(m_hw.perf.op_launch_cycles); }
    const TensorPlacement& in0(const DeviceOp& op) const { return m_p.placement(op.inputs[0]); }
    const TensorPlacement& out(const DeviceOp& op) const { return m_p.placement(op.output); }
    // The tensor a conv's steps started from: back through the internal tensors (halo, reshard) that fed it.
    const TensorPlacement& source_of(const DeviceOp& op) const {
        int t = op.inputs[0];
        while (m_p.tensor(t).internal && m_p.tensor(t).producer >= 0)
            t = m_p.ops[static_cast<size_t>(m_p.tensor(t).producer)].inputs[0];
        return m_p.placement(t);
    }

    // A data move between two placements (reshard / interleaved <-> sharded / DRAM -> L1 / reshape copy).
    void cost_move(const DeviceOp& op, PerfOp& r) const {
        const TensorPlacement& from = in0(op);
        const TensorPlacement& to = out(op);
        r.cores = std::max(from.kind == BufferKind::L1Sharded ? from.cores : m_hw.grid.cores(),
                           to.kind == BufferKind::L1Sharded ? to.cores : m_hw.grid.cores());
        const double total = static_cast<double>(to.total_bytes());
        const double per_core = total / std::max(1, r.cores);
        const double packet = static_cast<double>(m_hw.noc.max_packet_bytes);
        double bw = 0;
        if (from.kind == BufferKind::DramInterleaved || to.kind == BufferKind::DramInterleaved) {
            r.dram_bytes = total;
            bw = dram_cycles(total, r.cores, std::min(packet, per_core));
        } else {
            // Tiled tensors move tile by tile; row-major ones in contiguous runs of up to a packet.
            const double page = to.row_major ? std::min(packet, per_core) : static_cast<double>(m_hw.tile_bytes(to.dtype));
            bw = noc_cycles(std::ceil(per_core / std::max(1.0, page)), page, std::min(m_l1_read, m_l1_write),
                            m_hw.data_movement.l1_read_latency_cycles);
        }
        finish(r, launch(), 0, bw);
    }

    // Halo: every core gathers the padded input rows its output shard reads (untilized, row-major).
    void cost_halo(const DeviceOp& op, PerfOp& r) const {
        const TensorPlacement& in = in0(op);
        const TensorPlacement& halo = out(op);
        const ConvGeometry& geo = *op.geometry;
        const ConvSharding& s = *op.conv;
        const int64_t rm_elem = m_hw.row_major_element_bytes(in.dtype);
        const int64_t halo_rows = halo.shard_h;
        const int64_t wp = geo.in_w + 2 * geo.pad_w;
        double compute = 0;
        if (!in.row_major) {  // untilize the tiled input on the compute core
            const double t = static_cast<double>(div_up(s.in_nhw_shard, m_th) * div_up(s.in_c_shard, m_tw));
            compute = std::max(unpack_cycles(t * static_cast<double>(m_hw.tile_bytes(in.dtype))),
                               t * static_cast<double>(m_hw.tile_bytes(DataFormat::BFloat16)) / m_pack);
        }
        // Runs of contiguous sticks: one per padded image row for each of the padding / local / remote tables.
        const double runs = static_cast<double>(div_up(halo_rows, wp) + 1) * 3.0;
        const double bytes = static_cast<double>(halo_rows * s.in_c_shard * rm_elem);
        const double bw = noc_cycles(runs, bytes / runs, m_l1_write, m_hw.data_movement.l1_write_latency_cycles);
        finish(r, launch() + static_cast<double>(m_hw.perf.halo_setup_cycles), compute, bw);
    }

    void cost_conv(const DeviceOp& op, PerfOp& r) const {
        const WormholeLayerConfig& c = op.config;
        const ConvSharding& s = *op.conv;
        const ConvGeometry& geo = *op.geometry;
        const TensorPlacement& in = source_of(op);
        const bool sliding = op.code == DeviceOpCode::Conv2d;
        const int cores = s.num_cores;
        r.math_fidelity = math_fidelity_name(c.math_fidelity);
        PerfTensor w;
        w.w = geo.out_c;
        w.z = geo.in_c / geo.groups;
        w.y = geo.kernel_h;
        w.x = geo.kernel_w;
        w.layout = "TILE";
        w.dtype = upper(data_format_name(c.weights_dtype));
        w.memory = "DEV_0_DRAM_INTERLEAVED";
        r.inputs.push_back(w);

        const double taps = static_cast<double>(geo.kernel_h * geo.kernel_w);
        const double out_t = static_cast<double>(div_up(s.out_nhw_shard, m_th));
        const double k_t = static_cast<double>(s.weight_rows / m_tw);
        const double wbw_t = static_cast<double>(s.weight_block_w / m_tw);
        const double act_tile = static_cast<double>(m_hw.tile_bytes(in.row_major ? DataFormat::BFloat16 : in.dtype));
        const double bf16_tile = static_cast<double>(m_hw.tile_bytes(DataFormat::BFloat16));
        const double w_tile = static_cast<double>(m_hw.tile_bytes(c.weights_dtype));
        const double out_tile = static_cast<double>(m_hw.tile_bytes(c.dtype));
        const int64_t ph = phases(c.math_fidelity);

        // Every conv, depthwise too, is the matmul the program lowered it to: ttnn expands a grouped conv's weights
        // to a dense block-diagonal [K, Cout] (prepare_conv2d_weights.cpp, convert_conv_weight_tensor_to_grouped_layout),
        // so a depthwise conv multiplies, reads and stores its zeros like a dense conv of the same K.
        const double tile_mm = out_t * k_t * wbw_t;
        const double out_tiles = out_t * wbw_t;
        const double fpu = tile_mm * static_cast<double>(m_hw.compute.tile_matmul_cycles[static_cast<size_t>(c.math_fidelity)]);
        // Weights unpack (SrcA) per tile matmul; activations (SrcB) once per K step, reused across the output block.
        double unpack_a = tile_mm * w_tile, pack = 0;
        const double unpack_b = out_t * k_t * act_tile;
        if (sliding) {  // the gathered im2col rows are tilized on the compute core first (unpacked to SrcA)
            unpack_a += out_t * k_t * bf16_tile;
            pack += out_t * k_t * act_tile;
        }
        const double k_blocks = static_cast<double>(std::max<int64_t>(1, s.k_blocks));
        const double partial = static_cast<double>(m_hw.tile_bytes(c.fp32_dest_acc ? DataFormat::Float32 : DataFormat::BFloat16));
        pack += out_tiles * out_tile + (k_blocks - 1) * out_tiles * partial * (c.packer_l1_acc ? 1.0 : 2.0);
        if (!c.packer_l1_acc) unpack_a += (k_blocks - 1) * out_tiles * partial;
        const double weight_bytes = k_t * static_cast<double>(s.out_channels_padded / m_tw) * w_tile;
        // Useful FLOPs (what the layer computes), not the zeros the card multiplies.
        r.flops = 2.0 * static_cast<double>(geo.out_nhw() * geo.out_c) * static_cast<double>(geo.in_c / geo.groups) * taps;
        const double sfpu = sfpu_cycles(out_tiles, sfpu_instructions(op.unary));
        // Without packer_l1_acc every K block after the first starts by reloading the partial sums into Dst (unpack +
        // copy): the math waits for it, so it adds to the math instead of overlapping it.
        const double reload = c.packer_l1_acc ? 0.0
                                              : (k_blocks - 1) * out_tiles *
                                                    (partial / m_unpack_each + static_cast<double>(m_hw.compute.eltwise_cycles_per_tile_per_phase));
        const double compute = std::max({fpu + sfpu + reload, unpack_cycles(unpack_a, unpack_b), pack / m_pack});

        const double reader = conv_reader_cycles(op, out_t, k_t, act_tile);
        const double writer = conv_writer_cycles(op, weight_bytes, w_tile, out_tiles, out_tile);
        r.dram_bytes = weight_bytes;
        r.inputs.back().bytes = static_cast<int64_t>(weight_bytes);
        r.pm_compute_ns = ns(r.flops / (static_cast<double>(cores) * static_cast<double>(m_hw.compute.fpu_flops_per_cycle)) *
                             static_cast<double>(ph));
        // The activation stage feeds the compute through the act CB, the weights through the weights CB.
        const double kernel = overlap(overlap(compute, reader, c.enable_act_double_buffer), writer, c.enable_weights_double_buffer);
        finish(r, launch() + static_cast<double>(m_hw.perf.conv_setup_cycles), compute, std::max(reader, writer), kernel);
    }

    // Reader (activations): im2col gathers from the halo output, one transaction per output row and kernel row
    // (kw * channels contiguous), or the block/width multicast of tilized activations to every core of a row.
    // enable_split_reader splits a HEIGHT-sharded conv's gather over both data-movement RISCs; the second RISC
    // also writes the weights and shares the core's NoC port, so it takes only a share of the work
    // (perf.split_reader_efficiency: 1 = the gather time halves).
    // Kernel rows the im2col reader gathers per core: every kernel row of every output pixel, or, with activation
    // reuse, all of them only for the first output image row of each activation block and the new one for the rest.
    static double gathered_rows(const ConvSharding& s, const ConvGeometry& geo) {
        const double kh = static_cast<double>(geo.kernel_h);
        const double pixels = static_cast<double>(s.out_nhw_shard);
        if (!s.activation_reuse) return pixels * kh;
        const double blocks = std::ceil(pixels / static_cast<double>(s.act_block_h));
        const double first_row = std::min(static_cast<double>(s.act_block_h), static_cast<double>(geo.out_w));
        const double block_reads = first_row * kh + (static_cast<double>(s.act_block_h) - first_row);
        return std::min(pixels * kh, blocks * block_reads);
    }

    // A sliding window's reads of one kernel row for one output pixel: its kw contiguous sticks as one read, or one
    // read per stick when the window is dilated (the sticks are apart) or the reader reads every tap on its own
    // (`per_tap`). Shared by the im2col and pool gathers.
    struct WindowRowReads {
        double reads, sticks_each;
    };
    static WindowRowReads window_row_reads(const ConvGeometry& geo, bool per_tap = false) {
        const double kw = static_cast<double>(geo.kernel_w);
        return per_tap || geo.dilation_w > 1 ? WindowRowReads{kw, 1.0} : WindowRowReads{1.0, kw};
    }

    double conv_reader_cycles(const DeviceOp& op, double out_t, double k_t, double act_tile) const {
        const ConvSharding& s = *op.conv;
        const ConvGeometry& geo = *op.geometry;
        const int64_t rm_elem = m_hw.row_major_element_bytes(source_of(op).dtype);
        double reader = 0;
        if (op.code == DeviceOpCode::Conv2d) {  // sliding window
            const bool width = s.layout == ShardLayout::WidthSharded;
            // The WIDTH-sharded reader (activation_reader_width_sharded.cpp, read_channels) reads every tap of a
            // window on its own, kh x kw reads of the core's channel slice per output pixel, and waits once per tile
            // row of pixels; the HEIGHT / BLOCK readers read a kernel row's kw sticks as one.
            const WindowRowReads w = window_row_reads(geo, width);
            double req = gathered_rows(s, geo) * w.reads;
            if (s.split_reader && s.layout == ShardLayout::HeightSharded) req *= 1.0 - m_hw.perf.split_reader_efficiency / 2.0;
            const double bytes = w.sticks_each * static_cast<double>(s.in_c_shard * rm_elem);
            // The reader waits for its reads once per activation block and kernel row (window_outer), or, with
            // activation reuse, once per tile row of output pixels; with a split reader both RISCs wait as often.
            const double tile_rows = std::ceil(static_cast<double>(s.out_nhw_shard) / static_cast<double>(m_th));
            const double barriers = s.activation_reuse || width
                                        ? tile_rows
                                        : static_cast<double>(std::max<int64_t>(1, s.act_blocks) * geo.kernel_h);
            reader = noc_cycles(req, bytes, m_l1_read, m_hw.data_movement.local_l1_read_latency_cycles, barriers);
        }
        if (s.layout != ShardLayout::HeightSharded) {
            // Every core receives the whole K of its rows: its own slice plus the others', multicast round robin
            // (reader_conv_activations_2d_mcast_*, activation_reader_width_sharded.cpp): for each activation block,
            // one round per core of the row, each a handshake of two NoC trips (the receivers' semaphore increments
            // reach the sender; its VALID flag, multicast after the data, reaches them) before the next can start.
            const double senders = static_cast<double>(std::max(1, s.cores_c));
            const double rounds = static_cast<double>(std::max<int64_t>(1, s.act_blocks)) * senders;
            const double recv = out_t * k_t * act_tile;
            reader += noc_cycles(out_t * senders, recv / std::max(1.0, out_t * senders), m_l1_write,
                                 m_hw.data_movement.l1_write_latency_cycles, 2.0 * rounds);
        }
        return reader;
    }

    // Writer (weights): read from DRAM by one core (HEIGHT, multicast to all), one per core column (BLOCK) or every
    // core (WIDTH), then multicast: each core receives its weight block.
    double conv_writer_cycles(const DeviceOp& op, double weight_bytes, double w_tile, double out_tiles, double out_tile) const {
        const ConvSharding& s = *op.conv;
        const int cores = s.num_cores;
        const int readers = s.layout == ShardLayout::HeightSharded ? 1 : s.layout == ShardLayout::BlockSharded ? std::max(1, s.cores_c) : cores;
        double writer = dram_cycles(weight_bytes, readers, w_tile);
        const double per_core_weights = s.layout == ShardLayout::HeightSharded ? weight_bytes : weight_bytes / std::max(1, s.cores_c);
        if (s.layout != ShardLayout::WidthSharded && cores > 1)
            writer = std::max(writer, noc_cycles(per_core_weights / w_tile, w_tile, m_l1_write, m_hw.data_movement.l1_write_latency_cycles));
        if (out(op).kind != BufferKind::L1Sharded)
            writer += noc_cycles(out_tiles, out_tile, m_l1_write, m_hw.data_movement.l1_write_latency_cycles);
        return writer;
    }

    void cost_eltwise(const DeviceOp& op, PerfOp& r) const {
        const WormholeLayerConfig& c = op.config;
        const TensorPlacement& a = in0(op);
        const TensorPlacement& b = m_p.placement(op.inputs[1]);
        const TensorPlacement& o = out(op);
        r.math_fidelity = math_fidelity_name(c.math_fidelity);
        const double t = tiles_per_core(o);
        const int64_t ph = op.eltwise == EltwiseFunction::Mul ? phases(c.math_fidelity) : 1;
        // A fused activation (ResNet's add + relu) runs on the SFPU over the result in Dst, before the packer.
        const double fpu = t * static_cast<double>(m_hw.compute.eltwise_cycles_per_tile_per_phase * ph) +
                           sfpu_cycles(t, sfpu_instructions(op.unary));
        const double unpack = unpack_cycles(t * static_cast<double>(m_hw.tile_bytes(a.dtype)),
                                            op.broadcast ? 0.0 : t * static_cast<double>(m_hw.tile_bytes(b.dtype)));
        const double pack = t * static_cast<double>(m_hw.tile_bytes(o.dtype));
        // binary_ng's reader RISC streams `a`; its writer RISC reads `b` and writes the output, tile by tile. A
        // broadcast `b` ([N, C, 1, 1], SE's scale) is read once per core: the tiles of the core's output columns.
        const double b_tiles = op.broadcast ? static_cast<double>(div_up(o.kind == BufferKind::L1Sharded ? o.shard_w : o.cols, m_tw)) : t;
        const double b_read = b.kind == BufferKind::L1Sharded && op.broadcast
                                  ? noc_cycles(b_tiles, static_cast<double>(m_hw.tile_bytes(b.dtype)), m_l1_read,
                                               m_hw.data_movement.l1_read_latency_cycles)
                                  : tile_by_tile_noc_cycles(b_tiles, b, NocDirection::Read);
        const double bw = std::max(tile_by_tile_noc_cycles(t, a, NocDirection::Read),
                                   b_read + tile_by_tile_noc_cycles(t, o, NocDirection::Write));
        r.flops = static_cast<double>(o.rows * o.cols);
        r.pm_compute_ns = ns(fpu);
        finish(r, launch(), std::max({fpu, unpack, pack / m_pack}), bw);
    }

    void cost_unary(const DeviceOp& op, PerfOp& r) const {
        const WormholeLayerConfig& c = op.config;
        const TensorPlacement& in = in0(op);
        const TensorPlacement& o = out(op);
        const double t = tiles_per_core(o);
        const double core = op.code == DeviceOpCode::BatchNorm
                                ? t * static_cast<double>(m_hw.compute.eltwise_cycles_per_tile_per_phase * (phases(c.math_fidelity) + 1))
                                : sfpu_cycles(t, sfpu_instructions(op.unary));
        const double unpack = unpack_cycles(t * static_cast<double>(m_hw.tile_bytes(in.dtype)));
        const double pack = t * static_cast<double>(m_hw.tile_bytes(o.dtype));
        // Reader and writer RISCs run side by side.
        const double bw = std::max(tile_by_tile_noc_cycles(t, in, NocDirection::Read), tile_by_tile_noc_cycles(t, o, NocDirection::Write));
        finish(r, launch(), std::max({core, unpack, pack / m_pack}), bw);
    }

    // Tilize / untilize: every tile goes through the unpacker and the packer once; interleaved tensors are read and
    // written over the NoC page by page (rows when row-major).
    void cost_layout_change(const DeviceOp& op, PerfOp& r) const {
        const TensorPlacement& in = in0(op);
        const TensorPlacement& o = out(op);
        const TensorPlacement& tiled = in.row_major ? o : in;
        const double t = tiles_per_core(tiled);
        const double compute = std::max(unpack_cycles(t * static_cast<double>(m_hw.tile_bytes(in.row_major ? DataFormat::BFloat16 : in.dtype))),
                                        t * static_cast<double>(m_hw.tile_bytes(o.row_major ? DataFormat::BFloat16 : o.dtype)) / m_pack);
        double bw = 0;
        if (in.kind != BufferKind::L1Sharded || o.kind != BufferKind::L1Sharded) {
            const double rows_per_core = std::ceil(static_cast<double>(tiled.rows) / std::max(1, r.cores));
            const double row_bytes = static_cast<double>(tiled.cols * m_hw.row_major_element_bytes(DataFormat::BFloat16));
            const double tile_b = static_cast<double>(m_hw.tile_bytes(tiled.dtype));
            const double rm = noc_cycles(rows_per_core, row_bytes, std::min(m_l1_read, m_l1_write), m_hw.data_movement.l1_read_latency_cycles);
            const double tl = noc_cycles(t, tile_b, std::min(m_l1_read, m_l1_write), m_hw.data_movement.l1_write_latency_cycles);
            bw = rm + tl;
        }
        finish(r, launch(), compute, bw);
    }

    // Pool2D: the reduction runs on the FPU (GAPOOL for avg, the max reduce for max), one eltwise pass per tile of
    // the values it reduces. A global pool reduces its input in place (read over the NoC when interleaved) and writes
    // its [N, C] output. A windowed pool reduces each output stick's window, gathered from the halo by the pool's two
    // readers (ttnn's pool factory always splits the sticks over both data-movement RISCs, neither of which streams
    // weights: each takes half), one NoC read per window row of kw contiguous sticks (per stick when dilated); its
    // output stays in the shard unless the layer writes it elsewhere.
    void cost_pool(const DeviceOp& op, PerfOp& r) const {
        const TensorPlacement& in = in0(op);
        const TensorPlacement& o = out(op);
        double t = tiles_per_core(in);
        double reduced_tile_bytes = static_cast<double>(m_hw.tile_bytes(in.dtype));
        double bw = 0, per_stick = 0;
        if (op.geometry) {
            const ConvGeometry& geo = *op.geometry;
            const ConvSharding& s = *op.conv;
            const double window = static_cast<double>(geo.kernel_h * geo.kernel_w);
            const double rows = static_cast<double>(s.out_nhw_shard);
            t = std::ceil(rows * window * static_cast<double>(s.in_c_shard) / static_cast<double>(m_hw.tile.elements()));
            reduced_tile_bytes = static_cast<double>(m_hw.tile_bytes(DataFormat::BFloat16));  // the halo's sticks, tilized on unpack
            const WindowRowReads w = window_row_reads(geo);
            // Each reader takes every other output stick and waits for its window's reads before handing the
            // stick to the compute (one barrier per stick and channel block), so a pool is bound by the read round
            // trip more than by the issue or the bytes.
            const double block_c = static_cast<double>(m_hw.conv2d.pool_tiles_per_reduction * m_tw);
            const double c_blocks = std::ceil(static_cast<double>(s.in_c_shard) / block_c);
            const double sticks = std::ceil(rows / 2.0) * c_blocks;
            const double requests = sticks * static_cast<double>(geo.kernel_h) * w.reads;
            const double bytes = w.sticks_each * std::min(static_cast<double>(s.in_c_shard), block_c) *
                                 static_cast<double>(m_hw.row_major_element_bytes(in.dtype));
            bw = noc_cycles(requests, bytes, m_l1_read, m_hw.data_movement.local_l1_read_latency_cycles, sticks);
            // The compute takes one output stick at a time: tilize its window, reduce, untilize one row, for each
            // channel tile, at a fixed cost per tile whatever the window's size.
            per_stick = rows * static_cast<double>(div_up(s.in_c_shard, m_tw)) * static_cast<double>(m_hw.perf.pool_stick_tile_cycles);
            if (o.kind != BufferKind::L1Sharded)
                bw += noc_cycles(tiles_per_core(o), static_cast<double>(m_hw.tile_bytes(o.dtype)), m_l1_write,
                                 m_hw.data_movement.l1_write_latency_cycles);
            r.flops = static_cast<double>(geo.out_nhw() * geo.out_c) * window;
        } else {
            // A global pool (or ttnn.global_avg_pool2d's reduction) streams an interleaved input tile by tile on its
            // reader and writes its few output tiles on its writer.
            bw = std::max(tile_by_tile_noc_cycles(t, in, NocDirection::Read),
                          o.kind == BufferKind::L1Sharded ? 0.0 : tile_by_tile_noc_cycles(tiles_per_core(o), o, NocDirection::Write));
            r.flops = static_cast<double>(in.rows * in.cols);
        }
        const double fpu = std::max(t * static_cast<double>(m_hw.compute.eltwise_cycles_per_tile_per_phase), per_stick);
        const double unpack = t * reduced_tile_bytes;
        r.pm_compute_ns = r.flops / m_hw.compute.gapool_flops_per_s_tech_report * 1e9;
        finish(r, launch(), std::max(fpu, unpack_cycles(unpack)), bw);
    }

    void cost_linear(const DeviceOp& op, PerfOp& r, const Graph& g) const {
        const WormholeLayerConfig& c = op.config;
        const LinearAttrs& a = g.nodes[static_cast<size_t>(op.node)].attr<LinearAttrs>();
        const TensorPlacement& in = in0(op);
        const TensorPlacement& o = out(op);
        const MatmulBlocking& b = op.matmul;
        const int64_t n_t = div_up(a.out_features, m_tw);
        r.math_fidelity = math_fidelity_name(c.math_fidelity);
        PerfTensor w;
        w.y = a.in_features;
        w.x = a.out_features;
        w.layout = "TILE";
        w.dtype = upper(data_format_name(c.weights_dtype));
        w.memory = "DEV_0_DRAM_INTERLEAVED";
        const double w_tile = static_cast<double>(m_hw.tile_bytes(c.weights_dtype));
        const double act_tile = static_cast<double>(m_hw.tile_bytes(in.dtype));
        const double out_tile = static_cast<double>(m_hw.tile_bytes(o.dtype));
        const double weight_bytes = static_cast<double>(b.k_tiles * n_t) * w_tile;
        w.bytes = static_cast<int64_t>(weight_bytes);
        r.inputs.push_back(w);
        const double pm = static_cast<double>(b.per_core_m), pn = static_cast<double>(b.per_core_n), kt = static_cast<double>(b.k_tiles);
        const double tile_mm = pm * kt * pn;
        const double fpu = tile_mm * static_cast<double>(m_hw.compute.tile_matmul_cycles[static_cast<size_t>(c.math_fidelity)]) +
                           sfpu_cycles(pm * pn, sfpu_instructions(op.unary));
        // in0 tiles are reused across the core's N block, in1 tiles across its M block.
        const double unpack = unpack_cycles(kt * pn * w_tile, pm * kt * act_tile);
        const double pack = pm * pn * out_tile;
        // Reader: every core receives its M block of in0 (from L1, multicast along its grid row); writer: each grid
        // column reads its K x per_core_N weights from DRAM and multicasts them, then the core writes its output.
        // Tensors in DRAM are read / written at DRAM rates by every core.
        double reader = noc_cycles(pm * kt, act_tile, m_l1_write, m_hw.data_movement.l1_write_latency_cycles);
        if (in.kind == BufferKind::DramInterleaved)
            reader = std::max(reader, dram_cycles(static_cast<double>(in.total_bytes()), b.grid_y, act_tile));
        double writer = std::max(dram_cycles(weight_bytes, b.grid_x, w_tile),
                                 noc_cycles(kt * pn, w_tile, m_l1_write, m_hw.data_movement.l1_write_latency_cycles));
        writer += o.kind == BufferKind::DramInterleaved
                      ? dram_cycles(static_cast<double>(o.total_bytes()), op.cores, out_tile)
                      : noc_cycles(pm * pn, out_tile, m_l1_write, m_hw.data_movement.l1_write_latency_cycles);
        r.dram_bytes = weight_bytes;
        r.flops = 2.0 * static_cast<double>(o.rows * a.in_features * a.out_features);
        r.pm_compute_ns = ns(r.flops / (op.cores * static_cast<double>(m_hw.compute.fpu_flops_per_cycle)) *
                             static_cast<double>(phases(c.math_fidelity)));
        const double compute = std::max({fpu, unpack, pack / m_pack});
        // Both inputs stream through double-buffered CBs.
        finish(r, launch() + static_cast<double>(m_hw.perf.conv_setup_cycles), compute, std::max(reader, writer));
    }

    void cost_softmax(const DeviceOp& op, PerfOp& r) const {
        const TensorPlacement& o = out(op);
        const int64_t m_t = div_up(o.rows, m_th), n_t = div_up(o.cols, m_tw);
        const double t = static_cast<double>(div_up(m_t, std::max(1, op.cores)) * n_t);
        const double core = sfpu_cycles(t, m_hw.perf.sfpu_softmax) +
                            2 * t * static_cast<double>(m_hw.compute.eltwise_cycles_per_tile_per_phase);
        const double bw = noc_cycles(2 * t, static_cast<double>(m_hw.tile_bytes(o.dtype)), m_l1_read, m_hw.data_movement.l1_read_latency_cycles);
        finish(r, launch(), core, bw);
    }

    const Program& m_p;
    const WormholeHardware& m_hw;
    double m_dram_core = 0, m_l1_read = 0, m_l1_write = 0, m_dram_card = 0, m_unpack_each = 0, m_unpack_joint = 0, m_pack = 0;
    int64_t m_th = 0, m_tw = 0;  // the hardware tile (set in the constructor)
};

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string num(double v, int precision = 0) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", precision, v);
    return b;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out;
}

}  // namespace

Result<PerfReport> model_performance(const Graph& graph, const Program& program, const WormholeHardware& hw) {
    return status_guard("perf model", [&]() -> Result<PerfReport> {
        PerfReport r;
        r.dram_peak_bytes_per_s = hw.dram.peak_bytes_per_s;
        Model m(program, hw);
        for (size_t k = 0; k < program.ops.size(); ++k) r.ops.push_back(m.cost(k, graph));
        std::set<std::string> programs;
        for (size_t k = 0; k < r.ops.size(); ++k) {
            PerfOp& op = r.ops[k];
            op.op_to_op_ns = k == 0 ? 0 : hw.host.trace_op_to_op_ns;
            r.device_kernel_ns += op.kernel_ns;
            r.op_to_op_ns += op.op_to_op_ns;
            r.host_dispatch_ns += op.host_ns;
            // A program is compiled once per distinct op, shape and attributes (tt-metal's program cache key).
            programs.insert(op.op_code + "|" + op.attributes + "|" + op.inputs[0].memory + "|" + std::to_string(op.inputs[0].y) +
                            "x" + std::to_string(op.inputs[0].x) + "|" + op.math_fidelity);
        }
        r.unique_programs = static_cast<int>(programs.size());
        // Data parallel over the card's chips: each runs this program on its share of the batch, at the same time.
        r.chips = std::max<int64_t>(1, hw.chip.chips);
        r.batch = program.batch * r.chips;
        r.device_fps = r.device_kernel_ns > 0 ? static_cast<double>(r.batch) / (r.device_kernel_ns * 1e-9) : 0;

        // PCIe: the host image as the first op takes it (row-major, channels padded) and the graph outputs.
        double in_bytes = 0, out_bytes = 0;
        for (int t : program.input_tensors) in_bytes += static_cast<double>(program.placement(t).total_bytes());
        for (int o : graph.outputs)
            out_bytes += static_cast<double>(program.placement(program.node_value[static_cast<size_t>(o)]).total_bytes());
        // Every chip's share crosses the card's one host link; the host launches one trace per chip.
        const double chips = static_cast<double>(r.chips);
        r.pcie_in_ns = hw.host.pcie_latency_ns + chips * in_bytes / hw.host.pcie_h2d_bytes_per_s * 1e9;
        r.pcie_out_ns = hw.host.pcie_latency_ns + chips * out_bytes / hw.host.pcie_d2h_bytes_per_s * 1e9;
        r.trace_launch_ns = chips * hw.host.trace_launch_ns;
        const double device = r.device_kernel_ns + r.op_to_op_ns;
        // Eager: the host dispatches op by op while the device runs what it has; the slower side sets the pace.
        r.batch_ns_plain = r.pcie_in_ns + std::max(chips * r.host_dispatch_ns, device) + r.pcie_out_ns;
        // Trace, one queue: write input, replay, read output, in sequence.
        r.batch_ns_trace = r.pcie_in_ns + r.trace_launch_ns + device + r.pcie_out_ns;
        // Trace, two queues: the next input's write (queue 1) overlaps this batch's replay and read (queue 0).
        r.batch_ns_trace_2cq = std::max(r.pcie_in_ns, r.trace_launch_ns + device + r.pcie_out_ns);
        const double b = static_cast<double>(r.batch);
        r.e2e_fps_plain = b / (r.batch_ns_plain * 1e-9);
        r.e2e_fps_trace = b / (r.batch_ns_trace * 1e-9);
        r.e2e_fps_trace_2cq = b / (r.batch_ns_trace_2cq * 1e-9);
        r.compile_ns = static_cast<double>(r.unique_programs) * hw.host.program_compile_ns + r.batch_ns_plain;
        return r;
    });
}

std::string perf_ops_csv(const PerfReport& report) {
    std::ostringstream os;
    const char* tensor_cols[] = {"W", "Z", "Y", "X", "LAYOUT", "DATATYPE", "MEMORY"};
    std::vector<std::string> header = {"OP CODE", "OP TYPE", "GLOBAL CALL COUNT", "DEVICE ID", "ATTRIBUTES", "MATH FIDELITY",
                                       "CORE COUNT", "PARALLELIZATION STRATEGY", "HOST DURATION [ns]",
                                       "DEVICE FW DURATION [ns]", "DEVICE KERNEL DURATION [ns]", "OP TO OP LATENCY [ns]"};
    for (const char* t : {"INPUT_0", "INPUT_1", "OUTPUT_0"})
        for (const char* c : tensor_cols) header.push_back(std::string(t) + "_" + c);
    for (const char* c : {"PM IDEAL [ns]", "PM COMPUTE [ns]", "PM BANDWIDTH [ns]", "PM REQ I BW", "PM REQ O BW",
                          "PM FPU UTIL (%)", "DRAM BW UTIL (%)", "BOUND", "NODE", "MODEL COMPUTE [ns]",
                          "MODEL BANDWIDTH [ns]", "MODEL OVERHEAD [ns]", "OUTPUT TENSOR"})
        header.push_back(c);
    for (size_t k = 0; k < header.size(); ++k) os << (k ? "," : "") << csv_field(header[k]);
    os << "\n";
    auto tensor = [](const PerfTensor* t) {
        std::vector<std::string> v;
        if (!t) return std::vector<std::string>(7, "");
        return std::vector<std::string>{std::to_string(t->w), std::to_string(t->z), std::to_string(t->y), std::to_string(t->x),
                                        t->layout, t->dtype, t->memory};
    };
    int call = 0;
    for (const PerfOp& op : report.ops) {
        std::vector<std::string> row = {op.op_code, "tt_dnn_device", std::to_string(call++ * 1024), "0", op.attributes,
                                        op.math_fidelity, std::to_string(op.cores), op.parallelization, num(op.host_ns),
                                        num(op.fw_ns), num(op.kernel_ns), num(op.op_to_op_ns)};
        for (const PerfTensor* t : {op.inputs.size() > 0 ? &op.inputs[0] : nullptr, op.inputs.size() > 1 ? &op.inputs[1] : nullptr,
                                    static_cast<const PerfTensor*>(&op.output)})
            for (auto& f : tensor(t)) row.push_back(f);
        int64_t in_bytes = 0;
        for (const auto& t : op.inputs) in_bytes += t.bytes;
        const double k = std::max(1.0, op.kernel_ns);
        row.push_back(num(std::max(op.pm_compute_ns, op.pm_bandwidth_ns)));
        row.push_back(num(op.pm_compute_ns));
        row.push_back(num(op.pm_bandwidth_ns));
        row.push_back(num(static_cast<double>(in_bytes) / k, 3));     // GB/s (bytes per ns)
        row.push_back(num(static_cast<double>(op.output.bytes) / k, 3));
        row.push_back(num(100.0 * op.pm_compute_ns / k, 3));
        row.push_back(num(op.dram_bytes > 0 ? 100.0 * op.dram_bytes / k / (report.dram_peak_bytes_per_s * 1e-9) : 0.0, 3));
        row.push_back(perf_bound_name(op.bound));
        row.push_back(op.node_name);
        row.push_back(num(op.compute_ns));
        row.push_back(num(op.bandwidth_ns));
        row.push_back(num(op.overhead_ns));
        row.push_back(op.output_name);
        for (size_t c = 0; c < row.size(); ++c) os << (c ? "," : "") << csv_field(row[c]);
        os << "\n";
    }
    return os.str();
}

std::string perf_trace_json(const PerfReport& r) {
    std::ostringstream os;
    os << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    bool first = true;
    auto meta = [&](int pid, int tid, const std::string& what, const std::string& name) {
        os << (first ? "" : ",\n") << "{\"ph\":\"M\",\"pid\":" << pid << ",\"tid\":" << tid << ",\"name\":\"" << what
           << "\",\"args\":{\"name\":\"" << json_escape(name) << "\"}}";
        first = false;
    };
    auto event = [&](int pid, int tid, const std::string& name, const std::string& cat, double ts_ns, double dur_ns,
                     const std::string& args) {
        os << (first ? "" : ",\n") << "{\"ph\":\"X\",\"pid\":" << pid << ",\"tid\":" << tid << ",\"name\":\"" << json_escape(name)
           << "\",\"cat\":\"" << cat << "\",\"ts\":" << num(ts_ns / 1000.0, 3) << ",\"dur\":" << num(dur_ns / 1000.0, 3)
           << ",\"args\":{" << args << "}}";
        first = false;
    };
    // pid 1: device (trace + 2CQ replay of one batch); pid 2: host (trace launch, PCIe on both queues);
    // pid 3: the same batch eager (host dispatch per op, device ops as dispatched).
    meta(1, 0, "process_name", "Wormhole n150 (modelled): trace + 2 command queues");
    meta(1, 0, "thread_name", "device ops (CQ0)");
    meta(2, 0, "process_name", "host");
    meta(2, 0, "thread_name", "trace launch (CQ0)");
    meta(2, 1, "thread_name", "PCIe host->device input (CQ1)");
    meta(2, 2, "thread_name", "PCIe device->host output (CQ0)");
    meta(3, 0, "process_name", "eager (no trace): one batch");
    meta(3, 0, "thread_name", "host dispatch");
    meta(3, 1, "thread_name", "device ops");
    double t = 0;
    event(2, 1, "write input (batch k)", "pcie", 0, r.pcie_in_ns, "");
    t = r.pcie_in_ns;
    event(2, 0, "execute_trace", "host", t, r.trace_launch_ns, "");
    t += r.trace_launch_ns;
    event(2, 1, "write input (batch k+1)", "pcie", t, r.pcie_in_ns, "");
    for (const PerfOp& op : r.ops) {
        t += op.op_to_op_ns;
        event(1, 0, op.op_code + " " + op.node_name, "device", t, op.kernel_ns,
              "\"node\":\"" + json_escape(op.node_name) + "\",\"bound\":\"" + perf_bound_name(op.bound) + "\",\"cores\":" +
                  std::to_string(op.cores) + ",\"compute_ns\":" + num(op.compute_ns) + ",\"bandwidth_ns\":" +
                  num(op.bandwidth_ns) + ",\"overhead_ns\":" + num(op.overhead_ns));
        t += op.kernel_ns;
    }
    event(2, 2, "read output", "pcie", t, r.pcie_out_ns, "");
    // Eager: the host dispatches each op; the device starts an op when it is dispatched and the previous one ended.
    double host = 0, dev = 0;
    const double start = t + r.pcie_out_ns + 10000.0;
    for (const PerfOp& op : r.ops) {
        event(3, 0, "dispatch " + op.op_code, "host", start + host, op.host_ns, "\"node\":\"" + json_escape(op.node_name) + "\"");
        host += op.host_ns;
        dev = std::max(dev + op.op_to_op_ns, host);
        event(3, 1, op.op_code + " " + op.node_name, "device", start + dev, op.kernel_ns, "");
        dev += op.kernel_ns;
    }
    os << "\n]}\n";
    return os.str();
}

}  // namespace zoo::wormhole
