// A device plugin whose entry struct can be made wrong at compile time, to test the host's checks.
#include <stdexcept>

#include "zoo/plugin_export.hpp"

namespace {

class FakeDevice final : public zoo::DevicePlugin {
public:
    FakeDevice() {
#ifdef FAKE_THROW_ON_CREATE
        throw std::runtime_error("fake device refuses to start: no card in slot 0");
#endif
    }
    zoo::DeviceInfo info() const noexcept override { return {"fake device for loader tests", false}; }
    zoo::Status supports(const zoo::Node&, const zoo::LayerConfig&) const noexcept override { return zoo::Status::ok(); }
    zoo::Result<std::unique_ptr<zoo::CompiledModel>> compile(const zoo::Graph&, const zoo::WeightMap&,
                                                             const std::vector<zoo::LayerConfig>&,
                                                             const zoo::CompileOptions&) const noexcept override {
        return zoo::Status::error("fake device compiles nothing");
    }
};

zoo::DevicePlugin* fake_create() { return new FakeDevice(); }

#ifndef FAKE_ABI_MAJOR
#define FAKE_ABI_MAJOR ZOO_ABI_MAJOR
#endif
#ifndef FAKE_ABI_MINOR
#define FAKE_ABI_MINOR ZOO_ABI_MINOR
#endif
#ifndef FAKE_BUILD_ID
#define FAKE_BUILD_ID ZOO_BUILD_ID
#endif

const ZooPluginInfo info = {sizeof(ZooPluginInfo),
                            FAKE_ABI_MAJOR,
                            FAKE_ABI_MINOR,
                            ZOO_PLUGIN_DEVICE,
                            "fake",
                            "0.0.1",
                            FAKE_BUILD_ID,
                            "fake device",
                            &zoo::detail::create_plugin_object<zoo::DevicePlugin, FakeDevice>,
                            &zoo::detail::destroy_plugin_object<zoo::DevicePlugin>};

}  // namespace

extern "C" const ZooPluginInfo* zoo_plugin_entry_impl() noexcept { return &info; }
BOOST_DLL_ALIAS(zoo_plugin_entry_impl, zoo_plugin_entry)
