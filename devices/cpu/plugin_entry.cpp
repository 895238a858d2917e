// The plugin's one exported entry point; the device itself lives in zoo_cpu_kernels.
#include "cpu_device.hpp"
#include "zoo/plugin_export.hpp"

using zoo::cpu::CpuDevice;

ZOO_DEVICE_PLUGIN(CpuDevice, "cpu", "1.0.0", "fp32 reference on the host CPU (TBB)")
