#include "device/wormhole_device.hpp"
#include "zoo/plugin_export.hpp"

ZOO_DEVICE_PLUGIN(zoo::wormhole::WormholeDevice, "wormhole", "0.1.0",
                  "Wormhole n150 emulator: the card's number formats, math fidelity, L1 limits")
