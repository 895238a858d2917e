#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/data_paths.hpp"
#include "plugins/plugin_loader.hpp"
#include "session/model_session.hpp"

namespace zoo::runner::cli {

const char* version() { return ZOO_RUNNER_VERSION; }

int run_list(const std::vector<std::string>& plugin_dirs, const ListOptions& options) {
    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));
    nlohmann::json doc;
    doc["abi"] = std::to_string(ZOO_ABI_MAJOR) + "." + std::to_string(ZOO_ABI_MINOR);
    doc["searched"] = registry.searched_dirs();
    doc["models"] = nlohmann::json::array();
    doc["devices"] = nlohmann::json::array();
    for (const auto& rec : registry.records()) {
        nlohmann::json j{{"name", rec.name}, {"path", rec.path},       {"version", rec.version},
                         {"abi", rec.abi},   {"build_id", rec.build_id}, {"description", rec.description},
                         {"usable", rec.status.is_ok()}};
        if (!rec.status.is_ok()) j["error"] = rec.status.message();
        if (rec.kind == PluginKind::Model && rec.status.is_ok()) {
            auto model = registry.create_model(rec.name);
            j["variants"] = nlohmann::json::array();
            if (model)
                for (const auto& v : (*model)->variants())
                    j["variants"].push_back({{"name", v.name}, {"table", model_table_path(registry, rec.name, v.table)}, {"description", v.description}});
        }
        if (rec.kind == PluginKind::Device && rec.status.is_ok()) {
            auto device = open_device(registry, rec.name);
            if (!device) {
                j["usable"] = false;
                j["error"] = device.status().message();
            } else {
                j["info"] = (*device)->info().description;
                Status probe = (*device)->probe();
                j["available"] = probe.is_ok();
                if (!probe) j["unavailable_because"] = probe.message();
            }
        }
        doc[rec.kind == PluginKind::Model ? "models" : "devices"].push_back(j);
    }
    if (options.json) {
        std::cout << doc.dump(2) << "\n";
        return 0;
    }
    auto section = [&](const char* title, const nlohmann::json& items, bool models) {
        std::cout << title << ":\n";
        if (items.empty()) std::cout << "  (none found)\n";
        for (const auto& j : items) {
            std::cout << "  " << std::left << std::setw(14) << j["name"].get<std::string>();
            if (!j["usable"].get<bool>()) {
                std::cout << "UNUSABLE  " << j["error"].get<std::string>() << "\n";
                continue;
            }
            std::cout << "v" << std::setw(8) << j["version"].get<std::string>() << " ABI " << j["abi"].get<std::string>() << "  "
                      << j["path"].get<std::string>() << "\n";
            if (models) {
                for (const auto& v : j["variants"]) {
                    const std::string name = v["name"].get<std::string>();
                    // Names longer than the column still get a space before the description.
                    std::cout << "      variant " << std::setw(static_cast<int>(std::max<size_t>(10, name.size() + 1))) << name
                              << v["description"].get<std::string>()
                              << "  [" << v["table"].get<std::string>() << "]\n";
                }
            } else {
                std::cout << "      " << j.value("info", std::string()) << "\n";
            }
        }
    };
    section("Models", doc["models"], true);
    section("Devices", doc["devices"], false);
    std::cout << "Plugin folders searched:";
    for (const auto& d : registry.searched_dirs()) std::cout << " " << d;
    std::cout << "\n";
    return 0;
}

}  // namespace zoo::runner::cli
