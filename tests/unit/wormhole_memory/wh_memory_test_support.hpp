// Shared helpers for the wormhole memory tests: the shipped hardware description and a MobileNetV2 graph built from
// the shared model blocks exactly as the mobilenetv2 plugin builds it (BatchNorm folded, batch set).
#pragma once

#include <string>

#include "memory/hardware.hpp"
#include "zoo/graph.hpp"

namespace zoo::wormhole::test {

std::string source_dir();
std::string read_text(const std::string& path);
// yaml/devices/wormhole_n150.yaml, parsed; aborts the test on failure.
const WormholeHardware& n150();
// torchvision's mobilenet_v2 at 224x224, BatchNorm folded into the convs, batch set and shapes inferred.
Graph mobilenetv2_graph(int64_t batch);

}  // namespace zoo::wormhole::test
