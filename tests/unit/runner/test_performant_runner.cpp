// PerformantRunner on the CPU device with MobileNetV3-Small: order, padding, equality with a plain run, release and
// errors. Needs the plugins libzoo_model_mobilenetv3.so and libzoo_device_cpu.so in <build>/lib/zoo, which the
// default `cmake --build` makes; the tests skip (saying so) when they are missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "image/preprocess.hpp"
#include "session/inputs.hpp"
#include "session/performant_runner.hpp"

namespace zoo::runner {
namespace {

std::string build_dir() {
    if (const char* env = std::getenv("ZOO_BUILD_DIR"); env && *env) return env;
    return ZOO_BUILD_DIR;
}

std::string source_dir() {
    if (const char* env = std::getenv("ZOO_SOURCE_DIR"); env && *env) return env;
    return ZOO_SOURCE_DIR;
}

bool plugins_built() {
    const std::filesystem::path dir = std::filesystem::path(build_dir()) / "lib" / "zoo";
    return std::filesystem::exists(dir / "libzoo_model_mobilenetv3.so") && std::filesystem::exists(dir / "libzoo_device_cpu.so");
}

#define REQUIRE_PLUGINS()                                                                                             \
    if (!plugins_built())                                                                                             \
    GTEST_SKIP() << "build the plugins first (`cmake --build` builds zoo_model_mobilenetv3 and zoo_device_cpu into " \
                 << build_dir() << "/lib/zoo)"

SessionOptions small_on_cpu(int64_t batch) {
    SessionOptions o;
    o.model = "mobilenetv3";
    o.variant = "small";
    o.device = "cpu";
    o.batch = batch;
    o.threads = 2;
    o.seed = 7;
    return o;
}

// The 4 bundled images repeated to `n` paths.
std::vector<std::string> image_stream(size_t n) {
    auto files = list_images(source_dir() + "/data/images");
    EXPECT_TRUE(files.is_ok()) << files.status().message();
    std::vector<std::string> out;
    for (size_t i = 0; files.is_ok() && !files->empty() && out.size() < n; ++i) out.push_back((*files)[i % files->size()]);
    return out;
}

struct Collected {
    std::vector<int64_t> indices;
    std::vector<std::vector<float>> rows;
    ResultCallback callback() {
        return [this](int64_t index, std::span<const float> logits) {
            indices.push_back(index);
            rows.emplace_back(logits.begin(), logits.end());
        };
    }
};

TEST(PerformantRunner, InitialiseReportsBothValidatedRuns) {
    REQUIRE_PLUGINS();
    PluginRegistry registry = PluginRegistry::discover({build_dir() + "/lib/zoo"});
    auto runner = PerformantRunner::initialise(registry, small_on_cpu(3));
    ASSERT_TRUE(runner.is_ok()) << runner.status().message();
    EXPECT_EQ((*runner)->input_shape(), (Shape{3, 3, 224, 224}));
    EXPECT_EQ((*runner)->classes(), 1000);
    EXPECT_GT((*runner)->timings().compile_run_ms, 0);
    EXPECT_GT((*runner)->timings().optimised_run_ms, 0);
}

TEST(PerformantRunner, StreamOfSevenAtBatchThreeMatchesPlainRunsInOrder) {
    REQUIRE_PLUGINS();
    PluginRegistry registry = PluginRegistry::discover({build_dir() + "/lib/zoo"});
    auto runner = PerformantRunner::initialise(registry, small_on_cpu(3));
    ASSERT_TRUE(runner.is_ok()) << runner.status().message();
    PerformantRunner& pr = **runner;
    const std::vector<std::string> images = image_stream(7);
    ASSERT_EQ(images.size(), 7u);

    for (int in_flight : {1, 2, 4}) {
        Collected got;
        auto stats = pr.run(images, got.callback(), in_flight);
        ASSERT_TRUE(stats.is_ok()) << stats.status().message();
        EXPECT_EQ(stats->items, 7);
        EXPECT_EQ(stats->batches, 3);
        EXPECT_EQ(stats->padded_items, 2);
        EXPECT_EQ(stats->in_flight, in_flight);
        EXPECT_GT(stats->wall_ms, 0);
        EXPECT_GT(stats->samples_per_s, 0);
        EXPECT_GT(stats->device_busy_ms, 0);
        EXPECT_GT(stats->preprocess_busy_ms, 0);
        ASSERT_EQ(got.indices.size(), 7u);
        for (int64_t i = 0; i < 7; ++i) EXPECT_EQ(got.indices[static_cast<size_t>(i)], i);

        // The same batches through a plain CompiledModel::run: exactly the same logits.
        const PreprocessSpec spec = preprocess_for(224, 224);
        auto model = pr.compiled();
        ASSERT_TRUE(model);
        for (int64_t first = 0; first < 7; first += 3) {
            Tensor batch(pr.input_shape());
            const int64_t per_item = 3 * 224 * 224;
            for (int64_t b = 0; b < 3; ++b) {
                auto img = load_image(images[static_cast<size_t>(std::min<int64_t>(first + b, 6))], spec);
                ASSERT_TRUE(img.is_ok()) << img.status().message();
                std::copy(img->data.begin(), img->data.end(), batch.data.begin() + b * per_item);
            }
            std::vector<Tensor> outputs;
            ASSERT_TRUE(model->run({batch}, outputs).is_ok());
            for (int64_t b = 0; b < 3 && first + b < 7; ++b) {
                const std::vector<float>& row = got.rows[static_cast<size_t>(first + b)];
                ASSERT_EQ(row.size(), 1000u);
                for (size_t c = 0; c < row.size(); ++c)
                    ASSERT_EQ(row[c], outputs[0].data[static_cast<size_t>(b) * 1000 + c]) << "item " << first + b << " class " << c;
            }
        }
    }
}

TEST(PerformantRunner, ProducerStreamAndProducerErrors) {
    REQUIRE_PLUGINS();
    PluginRegistry registry = PluginRegistry::discover({build_dir() + "/lib/zoo"});
    auto runner = PerformantRunner::initialise(registry, small_on_cpu(2));
    ASSERT_TRUE(runner.is_ok()) << runner.status().message();
    PerformantRunner& pr = **runner;

    ItemProducer constant = [](int64_t index) { return Tensor(Shape{1, 3, 224, 224}, std::vector<float>(3 * 224 * 224, 0.01f * static_cast<float>(index))); };
    Collected got;
    auto stats = pr.run(5, constant, got.callback(), 3);
    ASSERT_TRUE(stats.is_ok()) << stats.status().message();
    EXPECT_EQ(stats->items, 5);
    EXPECT_EQ(stats->batches, 3);
    EXPECT_EQ(got.indices, (std::vector<int64_t>{0, 1, 2, 3, 4}));

    Collected none;
    auto empty = pr.run(0, constant, none.callback());
    ASSERT_TRUE(empty.is_ok()) << empty.status().message();
    EXPECT_EQ(empty->items, 0);
    EXPECT_TRUE(none.indices.empty());

    ItemProducer failing = [&](int64_t index) -> Result<Tensor> {
        if (index == 3) return Status::error("no such item");
        return constant(index);
    };
    Collected partial;
    auto bad = pr.run(6, failing, partial.callback());
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.status().message().find("item 3: no such item"), std::string::npos) << bad.status().message();
    EXPECT_LE(partial.indices.size(), 2u);  // only the batch before the failing one can have been delivered

    ItemProducer wrong_shape = [](int64_t) { return Tensor(Shape{1, 3, 8, 8}); };
    auto shape_error = pr.run(2, wrong_shape, none.callback());
    ASSERT_FALSE(shape_error.is_ok());
    EXPECT_NE(shape_error.status().message().find("[1, 3, 224, 224]"), std::string::npos) << shape_error.status().message();

    auto missing = pr.run(std::vector<std::string>{source_dir() + "/data/images/no_such.png"}, none.callback());
    ASSERT_FALSE(missing.is_ok());
    EXPECT_NE(missing.status().message().find("no_such.png"), std::string::npos) << missing.status().message();
}

TEST(PerformantRunner, ReleaseMakesRunFail) {
    REQUIRE_PLUGINS();
    PluginRegistry registry = PluginRegistry::discover({build_dir() + "/lib/zoo"});
    auto runner = PerformantRunner::initialise(registry, small_on_cpu(1));
    ASSERT_TRUE(runner.is_ok()) << runner.status().message();
    PerformantRunner& pr = **runner;
    pr.release();
    EXPECT_TRUE(pr.released());
    EXPECT_FALSE(pr.compiled());
    EXPECT_TRUE(pr.device_metrics().empty());
    Collected got;
    auto stats = pr.run(image_stream(2), got.callback());
    ASSERT_FALSE(stats.is_ok());
    EXPECT_NE(stats.status().message().find("released"), std::string::npos) << stats.status().message();
    EXPECT_TRUE(got.indices.empty());
    pr.release();  // twice is fine
}

TEST(PerformantRunner, UnknownDeviceFailsWithAMessage) {
    REQUIRE_PLUGINS();
    PluginRegistry registry = PluginRegistry::discover({build_dir() + "/lib/zoo"});
    SessionOptions o = small_on_cpu(1);
    o.device = "no_such_device";
    auto runner = PerformantRunner::initialise(registry, o);
    ASSERT_FALSE(runner.is_ok());
    EXPECT_NE(runner.status().message().find("no_such_device"), std::string::npos) << runner.status().message();
}

}  // namespace
}  // namespace zoo::runner
