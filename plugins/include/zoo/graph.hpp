// The graph IR: the op set is declared once here (ZOO_OP_LIST) with a typed attribute struct per op.
// Shape inference and verification live beside it in plugins/src/graph.cpp.
//
// Semantics are PyTorch's: activations are NCHW float tensors, conv weights [out, in/groups, kh, kw], linear [out, in].
// A device may keep any internal layout; what it returns for a node must be that node's NCHW (or [N, F]) value.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "zoo/activation.hpp"
#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo {

struct NoAttrs {};
struct InputAttrs {
    Shape shape;  // [N, C, H, W]; N is set by the runner (batch) before shapes are inferred
};
struct Conv2dAttrs {
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    std::array<int64_t, 2> kernel{1, 1};    // kh, kw
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};   // symmetric, per spatial dim
    std::array<int64_t, 2> dilation{1, 1};
    int64_t groups = 1;
    bool has_bias = false;
};
struct BatchNormAttrs {
    int64_t channels = 0;
    double eps = 1e-5;
};
struct LinearAttrs {
    int64_t in_features = 0;
    int64_t out_features = 0;
    bool has_bias = true;
};
struct FlattenAttrs {
    int64_t start_dim = 1;
};
struct DropoutAttrs {
    double p = 0.0;  // identity at inference; kept so the graph mirrors torchvision's modules
};
struct SoftmaxAttrs {
    int64_t axis = -1;
};
// Windowed pools, torch.nn.MaxPool2d / AvgPool2d exactly (per spatial dim [h, w]). Padding is implicit (-inf for max,
// zeros for avg) and at most half the kernel (torch refuses more). ceil_mode rounds the output size up, but a last
// window must start inside the input or its left padding (torch drops one that would start in the right padding).
struct MaxPool2dAttrs {
    std::array<int64_t, 2> kernel{1, 1};
    std::array<int64_t, 2> stride{1, 1};    // torch's default stride is the kernel: builders pass it explicitly
    std::array<int64_t, 2> padding{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    bool ceil_mode = false;
};
struct AvgPool2dAttrs {
    std::array<int64_t, 2> kernel{1, 1};
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};
    bool ceil_mode = false;
    bool count_include_pad = true;  // divide by the window including its padding (torch's default)
};

// Every activation (zoo/activation.hpp) is a one-input op without attributes.
#define ZOO_ACTIVATION_AS_OP__(X, name, text, category) X(name, NoAttrs, text, 1)

// X(enum name, attribute struct, printable name, number of inputs)
#define ZOO_OP_LIST(X)                                  \
    X(Input, InputAttrs, "input", 0)                    \
    X(Conv2d, Conv2dAttrs, "conv2d", 1)                 \
    X(BatchNorm, BatchNormAttrs, "batchnorm", 1)        \
    ZOO_ACTIVATION_TABLE(ZOO_ACTIVATION_AS_OP__, X)     \
    X(Add, NoAttrs, "add", 2)                           \
    X(Mul, NoAttrs, "mul", 2)                           \
    X(GlobalAvgPool, NoAttrs, "global_avg_pool", 1)     \
    X(MaxPool2d, MaxPool2dAttrs, "max_pool2d", 1)       \
    X(AvgPool2d, AvgPool2dAttrs, "avg_pool2d", 1)       \
    X(Flatten, FlattenAttrs, "flatten", 1)              \
    X(Linear, LinearAttrs, "linear", 1)                 \
    X(Dropout, DropoutAttrs, "dropout", 1)              \
    X(Softmax, SoftmaxAttrs, "softmax", 1)

enum class OpKind : uint8_t {
#define ZOO_OP_ENUM__(name, attrs, text, arity) name,
    ZOO_OP_LIST(ZOO_OP_ENUM__)
#undef ZOO_OP_ENUM__
};

using OpAttrs = std::variant<NoAttrs, InputAttrs, Conv2dAttrs, BatchNormAttrs, LinearAttrs, FlattenAttrs, DropoutAttrs,
                             SoftmaxAttrs, MaxPool2dAttrs, AvgPool2dAttrs>;

// torch's pooling_output_shape for one spatial dim: floor (or ceil with ceil_mode) of the window count, minus the last
// window when ceil_mode would start it in the right padding. May be < 1 (the input is smaller than the window): shape
// inference reports that.
int64_t pool_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode);

// The window of output position `out` along one dim of an avg pool, as torch's avg_pool2d takes it: [begin, end) of
// input indices actually read (clipped to the input), and `padded` the length that counts padding: the window clipped
// to input + padding (a ceil_mode window hanging past the right padding counts only up to it). The divisor is
// `padded` with count_include_pad, else end - begin. Every implementation of avg_pool2d calls this.
struct PoolSpan {
    int64_t begin = 0, end = 0, padded = 0;
};
inline PoolSpan avg_pool_span(int64_t out, int64_t input, int64_t kernel, int64_t stride, int64_t padding) {
    const int64_t start = out * stride - padding;
    const int64_t stop = std::min(start + kernel, input + padding);
    return {std::max<int64_t>(start, 0), std::min(stop, input), stop - start};
}

// False for a value outside ZOO_OP_LIST (sent by a plugin built against another SDK); check before op_name().
bool is_known_op(OpKind op);
const char* op_name(OpKind op);
int op_arity(OpKind op);
// Parses "conv2d" etc.; false when unknown.
bool op_from_name(const std::string& text, OpKind& out);

// A parameter a node reads from the WeightMap. `key` is the full state_dict name ("features.0.0.weight").
// Parameters with used == false must be present in a weight file but are not read (BatchNorm's num_batches_tracked).
struct ParamSpec {
    std::string role;  // "weight", "bias", "running_mean", "running_var", "num_batches_tracked"
    std::string key;
    Shape shape;
    bool used = true;
    bool buffer = false;  // running statistics or counters (torch buffers), not learned parameters
};

struct Node {
    std::string name;          // torchvision module path ("features.4.block.2.fc1"); unique in the graph
    OpKind op = OpKind::Input;
    std::vector<int> inputs;   // indices of earlier nodes
    OpAttrs attrs;
    std::vector<ParamSpec> params;
    Shape output_shape;        // filled by Graph::infer_shapes

    template <class A>
    const A& attr() const { return std::get<A>(attrs); }
    template <class A>
    A& attr() { return std::get<A>(attrs); }
    const ParamSpec* param(const std::string& role) const;
};

class Graph {
public:
    std::string name;  // "mobilenetv3_large"

    // Nodes are kept in topological order: a node's inputs always precede it.
    std::vector<Node> nodes;
    std::vector<int> outputs;

    int add_node(Node node);
    int find(const std::string& node_name) const;  // -1 when absent
    std::vector<int> input_nodes() const;
    // Number of nodes that read each node's output (outputs of the graph count once).
    std::vector<int> use_counts() const;

    // Sets the batch (dim 0) of every Input node.
    void set_batch(int64_t batch);

    // Structural checks: unique names, topological order, arity, attribute ranges, parameter shapes agree with attributes.
    // Errors name the node and the broken rule.
    Status verify() const;
    // Fills output_shape for every node; fails naming the node when input shapes do not fit the op.
    Status infer_shapes();

    // Every parameter the graph expects in a weight file, in node order.
    std::vector<ParamSpec> expected_params() const;
    int64_t parameter_count() const;
    // Multiply-accumulates of the convolutions and linear layers (shapes inferred), the count papers publish
    // (MobileNetV3-Large 1.0 at 224: 219 M); elementwise ops, pooling and BatchNorm are not counted.
    int64_t mac_count() const;  // elements of learned parameters, buffers excluded (as torch's parameters() counts)
};

// Checks a WeightMap against graph.expected_params(): every missing, unexpected or mis-shaped tensor is reported (all of
// them, one per line), naming the tensor, the expected and the found shape.
Status check_weights(const Graph& graph, const WeightMap& weights);

// What every device checks at its boundary, with one wording:
// - check_inputs: one tensor per Input node in graph order, each with the node's shape and as many values as the
//   shape holds ("input 0 ('input'): expected shape [1, 3, 224, 224], found [1, 3, 224, 225]");
// - check_node_weights: every parameter a node reads (ParamSpec::used) is in `weights` with its declared number of
//   values; the error names the layer and the key. Unlike check_weights it allows extra tensors (a folded graph
//   leaves the BatchNorm's behind).
Status check_inputs(const Graph& graph, const std::vector<Tensor>& inputs);
Status check_node_weights(const Graph& graph, const WeightMap& weights);

// BatchNorm at inference is y = (x - running_mean) * scale + bias per channel with this scale, computed in double
// (weight / sqrt(running_var + eps)): the one definition the fold, the reference and every device use.
inline double batchnorm_scale(double weight, double running_var, double eps) { return weight / std::sqrt(running_var + eps); }

// Folds each BatchNorm whose sole input is a Conv2d read by nothing else into that conv: the conv gains a bias
// (key "<conv>.bias", added to `weights`, existing conv weights rescaled into new keys "<conv>.weight" are replaced),
// the BatchNorm node disappears and its readers read the conv. Node names of everything else are kept.
Status fold_batchnorm(Graph& graph, WeightMap& weights);

}  // namespace zoo
