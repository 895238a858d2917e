// Finds plugins by file name, checks their C entry point (struct size, ABI, build id) before anything else, and hands
// out plugin objects that keep their library loaded for as long as they live.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "zoo/abi.h"
#include "zoo/device_plugin.hpp"
#include "zoo/model_plugin.hpp"
#include "zoo/status.hpp"

namespace boost::dll {
class shared_library;
}

namespace zoo::runner {

enum class PluginKind { Model, Device };

// What `runner list` shows about one plugin file, usable or not.
struct PluginRecord {
    PluginKind kind = PluginKind::Model;
    std::string name;  // from the file name: libzoo_<kind>_<name>.so
    std::string path;
    std::string version;
    std::string description;
    std::string abi;       // "1.0"
    std::string build_id;
    Status status;         // why it cannot be used, when it cannot
    bool shadowed = false; // a plugin of the same kind and name was found earlier in the search path
};

// Opens one plugin file and validates its entry point. On success `library` holds the loaded library and `info` its
// entry struct; on failure the record's status says what was expected and what was found.
struct OpenedPlugin {
    PluginRecord record;
    std::shared_ptr<boost::dll::shared_library> library;
    const ZooPluginInfo* info = nullptr;
};
OpenedPlugin open_plugin(const std::string& path, PluginKind kind, const std::string& expected_name);

class PluginRegistry {
public:
    // Scans the folders in order for libzoo_model_*.so and libzoo_device_*.so; the first of a name wins.
    static PluginRegistry discover(const std::vector<std::string>& dirs);

    const std::vector<PluginRecord>& records() const { return m_records; }
    const std::vector<std::string>& searched_dirs() const { return m_dirs; }

    // Creates the plugin object. The returned pointer keeps the library loaded; for devices, shutdown() runs before
    // the object is destroyed. Unknown names list what is available.
    Result<std::shared_ptr<ModelPlugin>> create_model(const std::string& name) const;
    Result<std::shared_ptr<DevicePlugin>> create_device(const std::string& name) const;

    std::vector<std::string> names(PluginKind kind) const;  // usable plugins only
    // The per-layer options the usable device plugins declare, every device's specs (a name may appear once per
    // device): what a run config or --set may name besides the common keys.
    std::vector<LayerOptionSpec> layer_option_catalog() const;
    // File of a usable plugin ("" when unknown).
    std::string path_of(PluginKind kind, const std::string& name) const;

private:
    Result<const OpenedPlugin*> find(PluginKind kind, const std::string& name) const;

    std::vector<std::string> m_dirs;
    std::vector<PluginRecord> m_records;
    std::vector<OpenedPlugin> m_opened;  // usable, first-of-name plugins
};

const char* plugin_kind_name(PluginKind kind);

// Wraps a compiled model so that it keeps its device (hence the device's library) alive.
std::shared_ptr<CompiledModel> hold_compiled(std::unique_ptr<CompiledModel> compiled, std::shared_ptr<DevicePlugin> device);

}  // namespace zoo::runner
