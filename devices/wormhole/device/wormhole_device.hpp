// The Wormhole n150 emulator as a device plugin: reads its hardware description (yaml/devices/wormhole_n150.yaml),
// plans L1 memory like the card (and refuses what the card could not hold), and runs graphs on the card's numerics.
#pragma once

#include <optional>

#include "config/layer_config.hpp"
#include "memory/hardware.hpp"
#include "zoo/device_plugin.hpp"

namespace zoo::wormhole {

class WormholeDevice final : public DevicePlugin {
public:
    DeviceInfo info() const noexcept override;
    std::string hardware_table() const noexcept override { return "wormhole_n150"; }
    Status configure(const SpecValue& hardware) noexcept override;
    Status probe() const noexcept override;
    std::vector<LayerOptionSpec> layer_options() const noexcept override { return layer_option_specs(); }
    LayerConfig default_layer_config() const noexcept override { return layer_config_defaults(); }
    Status supports(const Node& node, const LayerConfig& config) const noexcept override;
    Result<std::unique_ptr<CompiledModel>> compile(const Graph& graph, const WeightMap& weights,
                                                   const std::vector<LayerConfig>& configs,
                                                   const CompileOptions& options) const noexcept override;

private:
    std::optional<WormholeHardware> m_hardware;
};

}  // namespace zoo::wormhole
