#include <gtest/gtest.h>

#include "plugins/plugin_loader.hpp"

using namespace zoo;
using namespace zoo::runner;

namespace {
std::string dir_of(const std::string& target) { return std::string(ZOO_TEST_PLUGIN_DIR) + "/" + target; }
std::string lib_in(const std::string& target, const std::string& file = "libzoo_device_fake.so") { return dir_of(target) + "/" + file; }
}  // namespace

TEST(PluginLoader, GoodPluginLoadsAndCreatesItsObject) {
    PluginRegistry reg = PluginRegistry::discover({dir_of("test_plugin_good")});
    ASSERT_EQ(reg.records().size(), 1u);
    EXPECT_TRUE(reg.records()[0].status.is_ok()) << reg.records()[0].status.message();
    EXPECT_EQ(reg.records()[0].version, "0.0.1");
    EXPECT_EQ(reg.records()[0].abi, std::to_string(ZOO_ABI_MAJOR) + "." + std::to_string(ZOO_ABI_MINOR));
    auto device = reg.create_device("fake");
    ASSERT_TRUE(device.is_ok()) << device.status().message();
    EXPECT_EQ((*device)->info().description, "fake device for loader tests");
    // An error from inside the plugin comes back as a status with its text.
    auto compiled = (*device)->compile(Graph{}, {}, {}, {});
    ASSERT_FALSE(compiled.is_ok());
    EXPECT_EQ(compiled.status().message(), "fake device compiles nothing");
}

TEST(PluginLoader, ObjectKeepsLibraryLoadedAfterRegistryIsGone) {
    std::shared_ptr<DevicePlugin> device;
    {
        PluginRegistry reg = PluginRegistry::discover({dir_of("test_plugin_good")});
        device = reg.create_device("fake").value();
    }
    // Virtual calls into plugin code after the registry (and its handles) died: the object holds the library.
    EXPECT_EQ(device->info().description, "fake device for loader tests");
    device.reset();
}

TEST(PluginLoader, AbiMajorMismatchIsRefusedWithBothVersions) {
    OpenedPlugin p = open_plugin(lib_in("test_plugin_abi_major"), PluginKind::Device, "fake");
    ASSERT_FALSE(p.record.status.is_ok());
    const std::string& msg = p.record.status.message();
    EXPECT_NE(msg.find("incompatible ABI version"), std::string::npos) << msg;
    EXPECT_NE(msg.find("plugin: 99." + std::to_string(ZOO_ABI_MINOR)), std::string::npos) << msg;
    EXPECT_NE(msg.find("host: " + std::to_string(ZOO_ABI_MAJOR) + "." + std::to_string(ZOO_ABI_MINOR)), std::string::npos) << msg;
    EXPECT_NE(msg.find(lib_in("test_plugin_abi_major")), std::string::npos) << msg;
    EXPECT_EQ(p.info, nullptr);
}

TEST(PluginLoader, NewerAbiMinorIsRefused) {
    OpenedPlugin p = open_plugin(lib_in("test_plugin_abi_minor"), PluginKind::Device, "fake");
    ASSERT_FALSE(p.record.status.is_ok());
    EXPECT_NE(p.record.status.message().find("plugin: " + std::to_string(ZOO_ABI_MAJOR) + ".7"), std::string::npos)
        << p.record.status.message();
}

TEST(PluginLoader, BuildIdMismatchIsRefusedNamingBoth) {
    OpenedPlugin p = open_plugin(lib_in("test_plugin_build_id"), PluginKind::Device, "fake");
    ASSERT_FALSE(p.record.status.is_ok());
    EXPECT_NE(p.record.status.message().find("other-compiler"), std::string::npos) << p.record.status.message();
    EXPECT_NE(p.record.status.message().find(ZOO_BUILD_ID), std::string::npos) << p.record.status.message();
}

TEST(PluginLoader, ExceptionInCreateBecomesAStatus) {
    PluginRegistry reg = PluginRegistry::discover({dir_of("test_plugin_throws")});
    auto device = reg.create_device("fake");
    ASSERT_FALSE(device.is_ok());
    EXPECT_NE(device.status().message().find("no card in slot 0"), std::string::npos) << device.status().message();
}

TEST(PluginLoader, FileNameAndDeclaredNameMustAgree) {
    PluginRegistry reg = PluginRegistry::discover({dir_of("test_plugin_wrong_name")});
    ASSERT_EQ(reg.records().size(), 1u);
    EXPECT_FALSE(reg.records()[0].status.is_ok());
    EXPECT_NE(reg.records()[0].status.message().find("declares name 'fake'"), std::string::npos);
}

TEST(PluginLoader, UnknownPluginListsAvailableAndSearchedFolders) {
    PluginRegistry reg = PluginRegistry::discover({dir_of("test_plugin_good")});
    auto device = reg.create_device("tpu");
    ASSERT_FALSE(device.is_ok());
    EXPECT_NE(device.status().message().find("unknown device 'tpu' (available: fake"), std::string::npos)
        << device.status().message();
}

TEST(PluginLoader, FirstFolderWinsAndLaterOnesAreMarkedShadowed) {
    PluginRegistry reg = PluginRegistry::discover({dir_of("test_plugin_good"), dir_of("test_plugin_abi_major")});
    ASSERT_EQ(reg.records().size(), 2u);
    EXPECT_TRUE(reg.records()[0].status.is_ok());
    EXPECT_TRUE(reg.records()[1].shadowed);
    EXPECT_TRUE(reg.create_device("fake").is_ok());
}

TEST(PluginLoader, NonPluginFileIsReported) {
    OpenedPlugin p = open_plugin("/nonexistent/libzoo_device_x.so", PluginKind::Device, "x");
    ASSERT_FALSE(p.record.status.is_ok());
    EXPECT_NE(p.record.status.message().find("cannot be loaded"), std::string::npos) << p.record.status.message();
}
