// The README's model-plugin example, built from examples/tinynet, loads from --plugin-dir and runs.
#include <gtest/gtest.h>

#include "cli_harness.hpp"

TEST(ExamplePlugin, TinynetLoadsFromPluginDirAndRuns) {
    const std::string dir = std::string(ZOO_BUILD_DIR) + "/examples";
    CommandResult list = run_runner("--plugin-dir " + dir + " list");
    ASSERT_EQ(list.exit_code, 0) << list.output;
    EXPECT_TRUE(contains(list.output, "tinynet")) << list.output;
    CommandResult r = run_runner("--plugin-dir " + dir + " run --model tinynet --device cpu --input random --batch 2 --iterations 2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "input 64x64")) << r.output;
    EXPECT_TRUE(contains(r.output, "class ")) << r.output;  // 10 classes: no ImageNet names
    // Without the folder the plugin is not found, and the error says where the runner looked.
    CommandResult missing = run_runner("run --model tinynet --device cpu --input random");
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_TRUE(contains(missing.output, "unknown model 'tinynet'")) << missing.output;
}
