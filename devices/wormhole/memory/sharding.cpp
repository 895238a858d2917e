#include "memory/sharding.hpp"

#include <algorithm>

namespace zoo::wormhole {

namespace {
int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return div_up(a, b) * b; }
}  // namespace

std::string CoreRange::to_string() const {
    return "[(x=" + std::to_string(x0) + ",y=" + std::to_string(y0) + ") - (x=" + std::to_string(x1) +
           ",y=" + std::to_string(y1) + ")]";
}

CoreRange row_major_range(int cores, int grid_x) {
    CoreRange r;
    if (cores <= grid_x) {
        r.x1 = cores - 1;
        return r;
    }
    r.x1 = grid_x - 1;
    r.y1 = (cores + grid_x - 1) / grid_x - 1;
    return r;
}

ConvGeometry ConvGeometry::from(const Conv2dAttrs& a, const Shape& in, const Shape& out) {
    ConvGeometry g;
    g.batch = in[0];
    g.in_c = in[1];
    g.in_h = in[2];
    g.in_w = in[3];
    g.out_c = out[1];
    g.out_h = out[2];
    g.out_w = out[3];
    g.kernel_h = a.kernel[0];
    g.kernel_w = a.kernel[1];
    g.stride_h = a.stride[0];
    g.stride_w = a.stride[1];
    g.pad_h = a.padding[0];
    g.pad_w = a.padding[1];
    g.dilation_h = a.dilation[0];
    g.dilation_w = a.dilation[1];
    g.groups = a.groups;
    return g;
}

int height_cores(int64_t rows, int max_cores, int64_t tile_h) {
    const int64_t tiles = std::max<int64_t>(1, div_up(rows, tile_h));
    for (int d = max_cores; d > 1; --d) {
        const int64_t per_core = div_up(tiles, d);
        if (per_core * d - tiles < per_core) return d;
    }
    return 1;
}

int largest_divisor_at_most(int64_t n, int limit) {
    for (int d = static_cast<int>(std::min<int64_t>(limit, n)); d > 1; --d)
        if (n % d == 0) return d;
    return 1;
}

ShardLayout choose_auto_layout(int64_t nhw, int64_t channels, int cores, std::string* reason) {
    auto say = [&](const std::string& text) {
        if (reason) *reason = text;
    };
    const std::string figures = "NHW " + std::to_string(nhw) + ", C " + std::to_string(channels) + ", " +
                                std::to_string(cores) + " cores";
    if (nhw >= channels * cores) {
        say("auto: HEIGHT since NHW / cores >= C (" + figures + ")");
        return ShardLayout::HeightSharded;
    }
    if (channels >= nhw * cores) {
        say("auto: WIDTH since C / cores >= NHW (" + figures + ")");
        return ShardLayout::WidthSharded;
    }
    say("auto: BLOCK since C and NHW are within a factor of the core count (" + figures + ")");
    return ShardLayout::BlockSharded;
}

int64_t input_channel_alignment(ShardLayout layout, const ConvInputState& input, const ConvGeometry& conv,
                                const WormholeHardware& hw) {
    const int64_t tile_w = hw.tile.width;
    if (conv.depthwise() || layout == ShardLayout::WidthSharded || !input.row_major) return tile_w;
    if (!input.sharded) return hw.conv2d.channel_align_row_major_interleaved;
    return conv.in_c <= hw.conv2d.channel_align_row_major_sharded ? hw.conv2d.channel_align_row_major_sharded : tile_w;
}

namespace {

// The steps of plan_conv_sharding, in order (defined below it).
Status choose_grid(ConvSharding& s, const CoreGrid& core_grid, const WormholeHardware& hw);
void choose_layout(ConvSharding& s, ShardLayout configured, const ConvGeometry& conv, int grid_cores);
void split_cores(ConvSharding& s, const ConvGeometry& conv, int grid_cores, const WormholeHardware& hw);
void keep_input_split(ConvSharding& s, const ConvInputState& input, const CoreGrid& core_grid, bool reshard_if_not_optimal,
                      int grid_cores);
void size_shards(ConvSharding& s, const ConvGeometry& conv, const ConvInputState& input, const WormholeHardware& hw);
Status choose_act_block_h(ConvSharding& s, int act_block_h, const WormholeHardware& hw);
void size_blocks(ConvSharding& s, const ConvGeometry& conv, const WormholeHardware& hw);
Status use_activation_reuse(ConvSharding& s, const ConvGeometry& conv);

}  // namespace

Result<ConvSharding> plan_conv_sharding(const ConvGeometry& conv, const WormholeLayerConfig& config, const ConvInputState& input,
                                        const WormholeHardware& hw) {
    ConvSharding s;
    ZOO_TRY(choose_grid(s, config.core_grid, hw));
    const int grid_cores = s.grid_x * s.grid_y;
    choose_layout(s, config.shard_layout, conv, grid_cores);
    split_cores(s, conv, grid_cores, hw);
    keep_input_split(s, input, config.core_grid, config.reshard_if_not_optimal, grid_cores);
    size_shards(s, conv, input, hw);
    ZOO_TRY(choose_act_block_h(s, config.act_block_h, hw));
    size_blocks(s, conv, hw);
    if (config.enable_activation_reuse) ZOO_TRY(use_activation_reuse(s, conv));
    s.split_reader = config.enable_split_reader || s.activation_reuse;
    return s;
}

namespace {

// The grid: core_grid narrows the hardware grid (0 = the hardware's extent in that direction).
Status choose_grid(ConvSharding& s, const CoreGrid& core_grid, const WormholeHardware& hw) {
    s.grid_x = core_grid.x > 0 ? core_grid.x : hw.grid.worker_x;
    s.grid_y = core_grid.y > 0 ? core_grid.y : hw.grid.worker_y;
    if (s.grid_x > hw.grid.worker_x || s.grid_y > hw.grid.worker_y || core_grid.x < 0 || core_grid.y < 0)
        return Status::error("core_grid [" + std::to_string(core_grid.x) + ", " +
                             std::to_string(core_grid.y) + "] does not fit the " +
                             std::to_string(hw.grid.worker_x) + "x" + std::to_string(hw.grid.worker_y) + " worker grid");
    return Status::ok();
}

// The layout: the configured HEIGHT, WIDTH or BLOCK, else the `auto` rule (for an INTERLEAVED output too).
void choose_layout(ConvSharding& s, ShardLayout configured, const ConvGeometry& conv, int grid_cores) {
    switch (configured) {
        case ShardLayout::HeightSharded:
        case ShardLayout::WidthSharded:
        case ShardLayout::BlockSharded:
            s.layout = configured;
            s.reason = std::string("configured ") + shard_layout_name(configured);
            break;
        case ShardLayout::Auto:
        case ShardLayout::Interleaved:
            s.layout = choose_auto_layout(conv.out_nhw(), std::max(conv.in_c, conv.out_c), grid_cores, &s.reason);
            if (configured == ShardLayout::Interleaved) s.reason += "; output written interleaved";
            break;
    }
}

// Core counts (ttnn/cpp/ttnn/operations/conv/conv2d/conv2d_utils.cpp).
void split_cores(ConvSharding& s, const ConvGeometry& conv, int grid_cores, const WormholeHardware& hw) {
    const int64_t tile_h = hw.tile.height;
    const int64_t tile_w = hw.tile.width;
    const int64_t out_nhw = conv.out_nhw();
    const int64_t out_c_tiles = div_up(conv.out_c, tile_w);
    switch (s.layout) {
        case ShardLayout::HeightSharded:
            s.cores_nhw = height_cores(out_nhw, grid_cores, tile_h);
            s.cores_c = 1;
            s.num_cores = s.cores_nhw;
            s.range = row_major_range(s.num_cores, s.grid_x);
            break;
        case ShardLayout::BlockSharded:
            // NHW over the rows of the grid, output-channel tiles over its columns.
            s.cores_nhw = height_cores(out_nhw, s.grid_y, tile_h);
            s.cores_c = largest_divisor_at_most(out_c_tiles, s.grid_x);
            s.num_cores = s.cores_nhw * s.cores_c;
            s.range = CoreRange{0, 0, s.cores_c - 1, s.cores_nhw - 1};
            break;
        default: {  // WidthSharded: input-channel tiles over the cores
            const int64_t in_c_tiles = div_up(conv.in_c, tile_w);
            s.cores_nhw = 1;
            s.cores_c = largest_divisor_at_most(in_c_tiles, grid_cores);
            s.num_cores = s.cores_c;
            s.range = row_major_range(s.num_cores, s.grid_x);
            break;
        }
    }
}

// An input already sharded this way keeps its core split (no reshard), when it fits the grid and the channels,
// unless reshard_if_not_optimal asks for the conv's own split (then the input is resharded to it).
void keep_input_split(ConvSharding& s, const ConvInputState& input, const CoreGrid& core_grid, bool reshard_if_not_optimal,
                      int grid_cores) {
    const bool grid_overridden = core_grid.x > 0 || core_grid.y > 0;
    if (input.sharded && input.layout == s.layout && !grid_overridden && !reshard_if_not_optimal && input.cores_nhw > 0 && input.cores_c > 0 &&
        input.cores_nhw * input.cores_c <= grid_cores) {
        const bool fits = s.layout == ShardLayout::HeightSharded
                              ? input.cores_c == 1
                              : s.layout == ShardLayout::BlockSharded
                                    ? input.cores_nhw <= s.grid_y && input.cores_c <= s.grid_x
                                    : input.cores_nhw == 1;
        if (fits && (s.cores_nhw != input.cores_nhw || s.cores_c != input.cores_c)) {
            s.reason += "; keeps the input's " + std::to_string(input.cores_nhw) + "x" + std::to_string(input.cores_c) +
                        " core split (already sharded, no reshard)";
            s.cores_nhw = input.cores_nhw;
            s.cores_c = input.cores_c;
            s.num_cores = s.cores_nhw * s.cores_c;
            s.range = s.layout == ShardLayout::BlockSharded ? CoreRange{0, 0, s.cores_c - 1, s.cores_nhw - 1}
                                                            : row_major_range(s.num_cores, s.grid_x);
        }
    }
}

// Channel padding and shard shapes: nhw_shard = round_up(NHW, cores_nhw * tile_h) / cores_nhw,
// c_shard = round_up(C, cores_c * align) / cores_c.
void size_shards(ConvSharding& s, const ConvGeometry& conv, const ConvInputState& input, const WormholeHardware& hw) {
    const int64_t tile_h = hw.tile.height;
    const int64_t tile_w = hw.tile.width;
    s.in_channel_alignment = input_channel_alignment(s.layout, input, conv, hw);
    s.in_channels_padded = round_up(conv.in_c, s.cores_c * s.in_channel_alignment);
    s.out_channels_padded = round_up(conv.out_c, s.cores_c * tile_w);
    s.in_nhw_shard = round_up(conv.in_nhw(), s.cores_nhw * tile_h) / s.cores_nhw;
    s.out_nhw_shard = round_up(conv.out_nhw(), s.cores_nhw * tile_h) / s.cores_nhw;
    s.in_c_shard = s.in_channels_padded / s.cores_c;
    s.out_c_shard = s.out_channels_padded / s.cores_c;
}

// Activation block height: default the whole per-core output height; an override must be a multiple of the tile
// height, and when it does not divide the per-core height the next smaller divisor is used (with a warning).
Status choose_act_block_h(ConvSharding& s, int act_block_h, const WormholeHardware& hw) {
    const int64_t tile_h = hw.tile.height;
    const int64_t shard_tiles = s.out_nhw_shard / tile_h;
    s.act_block_h = s.out_nhw_shard;
    if (act_block_h != 0) {
        if (s.layout == ShardLayout::WidthSharded) {
            s.warnings.push_back("act_block_h " + std::to_string(act_block_h) +
                                 " is ignored for WIDTH_SHARDED (the block is the whole per-core height of " +
                                 std::to_string(s.out_nhw_shard) + " rows)");
        } else {
            if (act_block_h < 0 || act_block_h % tile_h != 0)
                return Status::error("act_block_h " + std::to_string(act_block_h) +
                                     " must be a positive multiple of the tile height " + std::to_string(tile_h));
            const int64_t wanted = act_block_h / tile_h;
            int64_t d = std::min(wanted, shard_tiles);
            while (shard_tiles % d != 0) --d;
            if (d != wanted)
                s.warnings.push_back("act_block_h " + std::to_string(act_block_h) +
                                     " does not divide the per-core output height of " + std::to_string(s.out_nhw_shard) +
                                     " rows (" + std::to_string(shard_tiles) + " tiles); using " +
                                     std::to_string(d * tile_h) + ", the next smaller divisor");
            s.act_block_h = d * tile_h;
        }
    }
    s.act_blocks = s.out_nhw_shard / s.act_block_h;
    return Status::ok();
}

// Activation block width (one kernel row of the core's input channels) and the K loop. Depthwise convs are
// lowered as dense convs with a block-diagonal weight matrix, so their K is Cin * kh * kw like any conv.
void size_blocks(ConvSharding& s, const ConvGeometry& conv, const WormholeHardware& hw) {
    const int64_t tile_w = hw.tile.width;
    switch (s.layout) {
        case ShardLayout::HeightSharded:
            s.act_block_w = round_up(s.in_channels_padded * conv.kernel_w, tile_w);
            s.k_blocks = conv.kernel_h;
            s.weight_block_w = s.out_channels_padded;
            break;
        case ShardLayout::BlockSharded:
            s.act_block_w = round_up(s.in_channels_padded / s.cores_c * conv.kernel_w, tile_w);
            s.k_blocks = conv.kernel_h * s.cores_c;  // each core's channel slice is multicast along the row
            s.weight_block_w = s.out_c_shard;
            break;
        default:
            s.act_block_w = round_up(s.in_c_shard * conv.kernel_w, tile_w);
            s.k_blocks = conv.kernel_h * s.cores_c;
            s.weight_block_w = s.out_c_shard;
            break;
    }
    s.weight_rows = s.k_blocks * s.act_block_w;
}

// Activation reuse keeps the whole inner dimension in one block (tt-metal: "we already have full inner dim"), which
// only the HEIGHT-sharded im2col reader does.
Status use_activation_reuse(ConvSharding& s, const ConvGeometry& conv) {
    if (s.layout != ShardLayout::HeightSharded || conv.is_matmul())
        return Status::error(std::string("enable_activation_reuse needs a HEIGHT_SHARDED sliding-window conv; this one is ") +
                             (conv.is_matmul() ? "a 1x1 matmul conv" : shard_layout_name(s.layout)));
    s.act_block_w = s.weight_rows;
    s.k_blocks = 1;
    s.activation_reuse = true;
    return Status::ok();
}

}  // namespace

}  // namespace zoo::wormhole
