// How the card lays a layer's activations out over the worker grid: the TT-NN conv2d rules of ttnn/cpp/ttnn/operations/conv/conv2d/conv2d_utils.cpp
// (tech_reports/CNNs/ttcnn.md, tensor_layouts.md, conv2d_utils.cpp), re-derived from the documented facts.
//
// A conv's activation is channels-last, flattened to [1, 1, N*H*W, C]. Sharding splits the NHW rows ("height"), the
// channels ("width") or both ("block") over cores; every shard has the same shape (the tensor is padded to fit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memory/hardware.hpp"
#include "zoo/graph.hpp"
#include "config/layer_config.hpp"

namespace zoo::wormhole {

// Inclusive bounding box of the cores an op or a buffer uses, printed like tt-metal: "[(x=0,y=0) - (x=7,y=7)]".
struct CoreRange {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    std::string to_string() const;
};
// The first `cores` cores of a grid `grid_x` wide, filled row by row (how TT-NN places 1D shards).
CoreRange row_major_range(int cores, int grid_x);

// A conv's geometry in the card's terms.
struct ConvGeometry {
    int64_t batch = 0, in_h = 0, in_w = 0, in_c = 0, out_h = 0, out_w = 0, out_c = 0;
    int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
    int64_t groups = 1;

    int64_t in_nhw() const { return batch * in_h * in_w; }
    int64_t out_nhw() const { return batch * out_h * out_w; }
    bool depthwise() const { return groups > 1 && groups == in_c; }
    // 1x1, stride 1, unpadded: the card runs it as a plain matmul (no halo, no im2col).
    bool is_matmul() const {
        return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
    }
    // in/out: NCHW shapes of the conv's input and output.
    static ConvGeometry from(const Conv2dAttrs& attrs, const Shape& in, const Shape& out);
};

// What the conv receives: decides the input channel alignment.
struct ConvInputState {
    bool sharded = false;    // already sharded in L1 (else interleaved)
    bool row_major = false;  // ROW_MAJOR (the host's image) or TILE (every conv output)
    // When sharded: its layout and core split. A conv whose layout matches keeps these core counts (TT-NN does not
    // reshard an input that is already sharded the way the conv runs, unless asked to with reshard_if_not_optimal);
    // a core_grid override always recomputes them.
    ShardLayout layout = ShardLayout::Interleaved;
    int cores_nhw = 0;
    int cores_c = 0;
};

// The layout the card would use for one conv. Rows/columns are elements; "_shard" values are per core.
struct ConvSharding {
    ShardLayout layout = ShardLayout::HeightSharded;  // resolved: Height, Width or Block
    std::string reason;                               // why this layout (the auto rule, or "configured")
    int grid_x = 0, grid_y = 0;                       // the grid considered (the hardware grid, or core_grid)
    int cores_nhw = 1, cores_c = 1, num_cores = 1;
    CoreRange range;

    int64_t in_channel_alignment = 0;
    int64_t in_channels_padded = 0;   // round_up(Cin, cores_c * alignment)
    int64_t out_channels_padded = 0;  // round_up(Cout, cores_c * tile width)
    int64_t in_nhw_shard = 0, in_c_shard = 0;
    int64_t out_nhw_shard = 0, out_c_shard = 0;

    int64_t act_block_h = 0;      // rows of one activation block (multiple of the tile height)
    int64_t act_blocks = 0;       // activation blocks per core: out_nhw_shard / act_block_h
    int64_t act_block_w = 0;      // columns of one activation block (one kernel row of one channel shard)
    int64_t k_blocks = 0;         // blocks along the reduction dimension K
    int64_t weight_block_w = 0;   // output channels one core computes
    int64_t weight_rows = 0;      // padded weight matrix [weight_rows, out_channels_padded] (K = k_blocks * act_block_w)
    bool activation_reuse = false;  // enable_activation_reuse: K in one block, the split reader on
    bool split_reader = false;      // enable_split_reader, or forced by activation_reuse (a HEIGHT-sharded conv's
                                    // gather is then split over both data-movement RISCs)

    std::vector<std::string> warnings;
};

// Largest d <= max_cores such that splitting ceil(rows / tile_h) tiles over d cores (each core
// ceil(tiles / d) tiles) pads less than one core's shard (TT-NN's HEIGHT core counts,
// ttnn/cpp/ttnn/operations/conv/conv2d/conv2d_utils.cpp).
int height_cores(int64_t rows, int max_cores, int64_t tile_h);
// Largest divisor of n that is <= limit (>= 1).
int largest_divisor_at_most(int64_t n, int limit);

// The `auto` rule (TT-NN's sharding guidance, tech_reports/CNNs/ttcnn.md: HEIGHT when NHW >> C, BLOCK when C ~ NHW, WIDTH when C >> NHW), with the
// thresholds made explicit and tied to the grid instead of a magic ratio: HEIGHT when a height shard would be at
// least as tall as it is wide (NHW / cores >= C), WIDTH when a width shard would be at least as wide as the tensor is
// tall (C / cores >= NHW), BLOCK otherwise. C is max(Cin, Cout).
ShardLayout choose_auto_layout(int64_t nhw, int64_t channels, int cores, std::string* reason = nullptr);

// Input channel alignment (ttnn/cpp/ttnn/operations/conv/conv2d/conv2d_utils.cpp): depthwise and width-sharded convs, and tiled inputs: the tile width;
// row-major input: 8 when interleaved; when already sharded 16 for C <= 16 (the padded image, s6) and the tile width
// otherwise (our reading of "16 or 32 when already sharded").
int64_t input_channel_alignment(ShardLayout layout, const ConvInputState& input, const ConvGeometry& conv,
                                const WormholeHardware& hw);

// The conv's sharding under `config` (shard_layout, core_grid, act_block_h). Errors (naming the rule) for an
// act_block_h that is not a multiple of the tile height or a core_grid larger than the hardware grid.
// INTERLEAVED asks for an interleaved output: the conv itself still computes with the `auto` sharding.
Result<ConvSharding> plan_conv_sharding(const ConvGeometry& conv, const WormholeLayerConfig& config, const ConvInputState& input,
                                        const WormholeHardware& hw);

}  // namespace zoo::wormhole
