// bench_cpu [v3|v2] [threads] [batch] [runs]: builds a MobileNetV3-Large / V2 shaped graph (BatchNorm already folded,
// random weights), compiles it on the CPU device and prints the median latency and time per op type.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "cpu_device.hpp"

namespace {

struct Builder {
    zoo::Graph g;
    zoo::WeightMap w;
    std::mt19937 rng{1};
    double flops = 0;

    void tensor(zoo::Node& n, const std::string& role, zoo::Shape s, float scale) {
        std::uniform_real_distribution<float> d(-scale, scale);
        zoo::Tensor t(s);
        for (float& x : t.data) x = d(rng);
        n.params.push_back({role, n.name + "." + role, s, true});
        w[n.name + "." + role] = std::move(t);
    }
    int add(zoo::Node n) { return g.add_node(std::move(n)); }
    int conv(const std::string& name, int in, int64_t cin, int64_t cout, int64_t k, int64_t s, int64_t groups,
             int64_t hw_out) {
        zoo::Node n;
        n.name = name;
        n.op = zoo::OpKind::Conv2d;
        n.inputs = {in};
        zoo::Conv2dAttrs a;
        a.in_channels = cin;
        a.out_channels = cout;
        a.kernel = {k, k};
        a.stride = {s, s};
        a.padding = {(k - 1) / 2, (k - 1) / 2};
        a.groups = groups;
        a.has_bias = true;
        n.attrs = a;
        tensor(n, "weight", {cout, cin / groups, k, k}, 1.0f / std::sqrt(float(cin / groups * k * k)));
        tensor(n, "bias", {cout}, 0.1f);
        flops += 2.0 * double(cout) * double(cin / groups * k * k) * double(hw_out);
        return add(std::move(n));
    }
    int op(const std::string& name, zoo::OpKind k, std::vector<int> in, zoo::OpAttrs attrs = zoo::NoAttrs{}) {
        zoo::Node n;
        n.name = name;
        n.op = k;
        n.inputs = std::move(in);
        n.attrs = std::move(attrs);
        return add(std::move(n));
    }
    int act(const std::string& name, int in, bool hs) { return op(name, hs ? zoo::OpKind::Hardswish : zoo::OpKind::Relu, {in}); }
    int linear(const std::string& name, int in, int64_t fin, int64_t fout) {
        zoo::Node n;
        n.name = name;
        n.op = zoo::OpKind::Linear;
        n.inputs = {in};
        n.attrs = zoo::LinearAttrs{fin, fout, true};
        tensor(n, "weight", {fout, fin}, 1.0f / std::sqrt(float(fin)));
        tensor(n, "bias", {fout}, 0.1f);
        flops += 2.0 * double(fin) * double(fout);
        return add(std::move(n));
    }
};

int64_t make_divisible(double v, int64_t d = 8) {
    int64_t nv = std::max<int64_t>(d, int64_t(v + d / 2.0) / d * d);
    if (nv < 0.9 * v) nv += d;
    return nv;
}

void build_v3(Builder& b, int64_t batch) {
    int x = b.op("input", zoo::OpKind::Input, {}, zoo::InputAttrs{{batch, 3, 224, 224}});
    int64_t hw = 112, c = 16;
    x = b.act("features.0.2", b.conv("features.0.0", x, 3, 16, 3, 2, 1, hw * hw), true);
    struct B { int k; int64_t exp, out; bool se, hs; int s; };
    const B table[] = {{3, 16, 16, 0, 0, 1},   {3, 64, 24, 0, 0, 2},   {3, 72, 24, 0, 0, 1},  {5, 72, 40, 1, 0, 2},
                       {5, 120, 40, 1, 0, 1},  {5, 120, 40, 1, 0, 1},  {3, 240, 80, 0, 1, 2}, {3, 200, 80, 0, 1, 1},
                       {3, 184, 80, 0, 1, 1},  {3, 184, 80, 0, 1, 1},  {3, 480, 112, 1, 1, 1}, {3, 672, 112, 1, 1, 1},
                       {5, 672, 160, 1, 1, 2}, {5, 960, 160, 1, 1, 1}, {5, 960, 160, 1, 1, 1}};
    int idx = 1;
    for (const B& t : table) {
        std::string p = "features." + std::to_string(idx++) + ".block.";
        int in = x, y = x;
        int l = 0;
        if (t.exp != c) y = b.act(p + "0.2", b.conv(p + "0.0", y, c, t.exp, 1, 1, 1, hw * hw), t.hs), ++l;
        hw = t.s == 2 ? (hw + 1) / 2 : hw;
        std::string dl = p + std::to_string(l);
        y = b.act(dl + ".2", b.conv(dl + ".0", y, t.exp, t.exp, t.k, t.s, t.exp, hw * hw), t.hs);
        ++l;
        if (t.se) {
            std::string sp = p + std::to_string(l++);
            int64_t sq = make_divisible(t.exp / 4.0);
            int g = b.op(sp + ".avgpool", zoo::OpKind::GlobalAvgPool, {y});
            int f1 = b.op(sp + ".relu", zoo::OpKind::Relu, {b.conv(sp + ".fc1", g, t.exp, sq, 1, 1, 1, 1)});
            int f2 = b.op(sp + ".scale_activation", zoo::OpKind::Hardsigmoid, {b.conv(sp + ".fc2", f1, sq, t.exp, 1, 1, 1, 1)});
            y = b.op(sp + ".mul", zoo::OpKind::Mul, {y, f2});
        }
        std::string pl = p + std::to_string(l);
        y = b.conv(pl + ".0", y, t.exp, t.out, 1, 1, 1, hw * hw);
        if (t.s == 1 && c == t.out) y = b.op(p + "add", zoo::OpKind::Add, {y, in});
        x = y;
        c = t.out;
    }
    x = b.act("features.16.2", b.conv("features.16.0", x, 160, 960, 1, 1, 1, hw * hw), true);
    x = b.op("avgpool", zoo::OpKind::GlobalAvgPool, {x});
    x = b.op("flatten", zoo::OpKind::Flatten, {x}, zoo::FlattenAttrs{1});
    x = b.act("classifier.1", b.linear("classifier.0", x, 960, 1280), true);
    x = b.op("classifier.2", zoo::OpKind::Dropout, {x}, zoo::DropoutAttrs{0.2});
    x = b.linear("classifier.3", x, 1280, 1000);
    b.g.outputs = {x};
}

void build_v2(Builder& b, int64_t batch) {
    int x = b.op("input", zoo::OpKind::Input, {}, zoo::InputAttrs{{batch, 3, 224, 224}});
    int64_t hw = 112, c = 32;
    x = b.op("features.0.2", zoo::OpKind::Relu6, {b.conv("features.0.0", x, 3, 32, 3, 2, 1, hw * hw)});
    struct S { int64_t t, c; int n, s; };
    const S table[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int idx = 1;
    for (const S& st : table)
        for (int i = 0; i < st.n; ++i) {
            int s = i == 0 ? st.s : 1;
            std::string p = "features." + std::to_string(idx++) + ".conv.";
            int64_t e = c * st.t;
            int in = x, y = x, l = 0;
            if (st.t != 1) y = b.op(p + "0.2", zoo::OpKind::Relu6, {b.conv(p + "0.0", y, c, e, 1, 1, 1, hw * hw)}), ++l;
            hw = s == 2 ? (hw + 1) / 2 : hw;
            std::string dl = p + std::to_string(l++);
            y = b.op(dl + ".2", zoo::OpKind::Relu6, {b.conv(dl + ".0", y, e, e, 3, s, e, hw * hw)});
            y = b.conv(p + std::to_string(l), y, e, st.c, 1, 1, 1, hw * hw);
            if (s == 1 && c == st.c) y = b.op(p + "add", zoo::OpKind::Add, {y, in});
            x = y;
            c = st.c;
        }
    x = b.op("features.18.2", zoo::OpKind::Relu6, {b.conv("features.18.0", x, 320, 1280, 1, 1, 1, hw * hw)});
    x = b.op("avgpool", zoo::OpKind::GlobalAvgPool, {x});
    x = b.op("flatten", zoo::OpKind::Flatten, {x}, zoo::FlattenAttrs{1});
    x = b.op("classifier.0", zoo::OpKind::Dropout, {x}, zoo::DropoutAttrs{0.2});
    x = b.linear("classifier.1", x, 1280, 1000);
    b.g.outputs = {x};
}

}  // namespace

int main(int argc, char** argv) {
    const std::string which = argc > 1 ? argv[1] : "v3";
    const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
    const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 1;
    const int runs = argc > 4 ? std::atoi(argv[4]) : 30;
    Builder b;
    if (which == "v2") build_v2(b, batch); else build_v3(b, batch);
    if (auto s = b.g.infer_shapes(); !s.is_ok()) {
        std::fprintf(stderr, "%s\n", s.message().c_str());
        return 1;
    }
    zoo::cpu::CpuDevice dev;
    zoo::CompileOptions opt;
    opt.threads = threads;
    auto compiled = dev.compile(b.g, b.w, {}, opt);
    if (!compiled.is_ok()) {
        std::fprintf(stderr, "%s\n", compiled.status().message().c_str());
        return 1;
    }
    auto& model = *compiled.value();
    std::vector<zoo::Tensor> in{zoo::Tensor(b.g.nodes[0].output_shape)};
    for (size_t i = 0; i < in[0].data.size(); ++i) in[0].data[i] = float(i % 255) / 255.0f;
    std::vector<zoo::Tensor> out;
    std::vector<double> times;
    std::map<std::string, double> by_op;
    for (int r = 0; r < runs + 3; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        if (!model.run(in, out).is_ok()) return 1;
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (r < 3) continue;
        times.push_back(ms);
        for (const auto& t : model.last_timings()) {
            std::string key = t.op_type;
            if (key.rfind("conv2d", 0) == 0) {
                const zoo::Node& n = b.g.nodes[size_t(b.g.find(t.node_name))];
                const auto& a = n.attr<zoo::Conv2dAttrs>();
                key = a.groups > 1 ? "conv dw " + std::to_string(a.kernel[0]) + "x" + std::to_string(a.kernel[1])
                      : a.kernel[0] == 1 ? (n.output_shape[2] == 1 ? "conv 1x1 (SE)" : "conv 1x1") : "conv stem";
            }
            by_op[key] += t.duration_ns / 1e6;
        }
    }
    std::sort(times.begin(), times.end());
    double med = times[times.size() / 2];
    std::printf("%s batch %lld threads %d: median %.3f ms, min %.3f ms, %.1f MFLOP/img, %.1f GFLOP/s\n", which.c_str(),
                (long long)batch, threads, med, times[0], b.flops / 1e6, b.flops * double(batch) / (med * 1e6));
    for (const auto& [k, v] : by_op) std::printf("  %-22s %8.3f ms/run\n", k.c_str(), v / double(runs));
    return 0;
}
