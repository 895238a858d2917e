#include "plugins/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <boost/filesystem.hpp>
#include <cstring>

namespace zoo::runner {

namespace fs = boost::filesystem;

const char* plugin_kind_name(PluginKind kind) { return kind == PluginKind::Model ? "model" : "device"; }

namespace {

std::string version_text(uint32_t major, uint32_t minor) { return std::to_string(major) + "." + std::to_string(minor); }

// The fields a valid entry struct must at least contain (all of ABI 1.0).
constexpr size_t k_min_info_size = offsetof(ZooPluginInfo, destroy) + sizeof(ZooPluginInfo::destroy);

}  // namespace

OpenedPlugin open_plugin(const std::string& path, PluginKind kind, const std::string& expected_name) {
    OpenedPlugin opened;
    PluginRecord& rec = opened.record;
    rec.kind = kind;
    rec.name = expected_name;
    rec.path = path;
    auto fail = [&](const std::string& why) {
        rec.status = Status::error("plugin " + path + ": " + why);
        opened.library.reset();
        opened.info = nullptr;
        return opened;
    };

    boost::system::error_code ec;
    dlerror();  // clear, so the text read below belongs to this load
    // RTLD_LOCAL (Boost's default) so two plugins never resolve each other's symbols.
    auto library = std::make_shared<boost::dll::shared_library>(path, boost::dll::load_mode::rtld_now, ec);
    if (ec || !library->is_loaded()) {
        const char* dl = dlerror();
        return fail("cannot be loaded: " + std::string(dl ? dl : ec.message()));
    }
    opened.library = library;
    if (!library->has(ZOO_PLUGIN_ENTRY_NAME))
        return fail(std::string("does not export the entry point '") + ZOO_PLUGIN_ENTRY_NAME +
                    "' (is it a zoo plugin? plugins declare it with ZOO_MODEL_PLUGIN / ZOO_DEVICE_PLUGIN)");
    const ZooPluginInfo* info = nullptr;
    try {
        info = library->get_alias<const ZooPluginInfo*()>(ZOO_PLUGIN_ENTRY_NAME)();
    } catch (const std::exception& e) {
        return fail(std::string("entry point could not be called: ") + e.what());
    }
    if (info == nullptr) return fail("entry point returned no plugin description");
    if (info->struct_size < sizeof(uint32_t) * 3) return fail("entry struct is too small to hold an ABI version");
    rec.abi = version_text(info->abi_major, info->abi_minor);
    if (info->abi_major != ZOO_ABI_MAJOR || info->abi_minor > ZOO_ABI_MINOR)
        return fail("incompatible ABI version (plugin: " + rec.abi + ", host: " + version_text(ZOO_ABI_MAJOR, ZOO_ABI_MINOR) +
                    "); rebuild the plugin against this runner's SDK");
    if (info->struct_size < k_min_info_size)
        return fail("entry struct has " + std::to_string(info->struct_size) + " B, ABI " + rec.abi + " needs at least " +
                    std::to_string(k_min_info_size) + " B");
    rec.version = info->version ? info->version : "";
    rec.description = info->description ? info->description : "";
    rec.build_id = info->build_id ? info->build_id : "";
    const uint32_t expected_kind = kind == PluginKind::Model ? ZOO_PLUGIN_MODEL : ZOO_PLUGIN_DEVICE;
    if (info->kind != expected_kind)
        return fail(std::string("declares kind ") + std::to_string(info->kind) + " but its file name says it is a " +
                    plugin_kind_name(kind) + " plugin");
    if (info->name == nullptr || expected_name != info->name)
        return fail("declares name '" + std::string(info->name ? info->name : "") + "' but its file name says '" +
                    expected_name + "'");
    if (rec.build_id != ZOO_BUILD_ID)
        return fail("was built with a different toolchain or SDK (plugin: '" + rec.build_id + "', host: '" + ZOO_BUILD_ID +
                    "'); C++ objects cannot cross between them: rebuild the plugin with this runner's toolchain and SDK");
    if (info->create == nullptr || info->destroy == nullptr) return fail("entry struct lacks create/destroy functions");
    opened.info = info;
    return opened;
}

PluginRegistry PluginRegistry::discover(const std::vector<std::string>& dirs) {
    PluginRegistry reg;
    reg.m_dirs = dirs;
    for (const auto& dir : dirs) {
        boost::system::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<fs::path> files;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) files.push_back(it->path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            const std::string fname = file.filename().string();
            PluginKind kind;
            std::string prefix;
            if (fname.rfind("libzoo_model_", 0) == 0) {
                kind = PluginKind::Model;
                prefix = "libzoo_model_";
            } else if (fname.rfind("libzoo_device_", 0) == 0) {
                kind = PluginKind::Device;
                prefix = "libzoo_device_";
            } else {
                continue;
            }
            if (file.extension() != ".so") continue;
            std::string name = fname.substr(prefix.size(), fname.size() - prefix.size() - 3);
            bool shadowed = std::any_of(reg.m_opened.begin(), reg.m_opened.end(), [&](const OpenedPlugin& o) {
                return o.record.kind == kind && o.record.name == name;
            });
            if (shadowed) {
                PluginRecord rec;
                rec.kind = kind;
                rec.name = name;
                rec.path = file.string();
                rec.shadowed = true;
                rec.status = Status::error("plugin " + rec.path + ": shadowed by an earlier plugin of the same name");
                reg.m_records.push_back(rec);
                continue;
            }
            OpenedPlugin opened = open_plugin(file.string(), kind, name);
            reg.m_records.push_back(opened.record);
            if (opened.record.status.is_ok()) reg.m_opened.push_back(std::move(opened));
        }
    }
    return reg;
}

std::vector<std::string> PluginRegistry::names(PluginKind kind) const {
    std::vector<std::string> out;
    for (const auto& o : m_opened)
        if (o.record.kind == kind) out.push_back(o.record.name);
    return out;
}

std::vector<LayerOptionSpec> PluginRegistry::layer_option_catalog() const {
    std::vector<LayerOptionSpec> catalog;
    for (const auto& name : names(PluginKind::Device)) {
        auto device = create_device(name);
        if (!device) continue;  // a device that cannot be created is reported when it is asked for
        // Every device's spec is kept: two devices may declare one name with other ranges, and a value either
        // accepts is valid until a device is chosen (resolve_layer_configs checks it against that one).
        for (auto& spec : (*device)->layer_options()) catalog.push_back(std::move(spec));
    }
    return catalog;
}

std::string PluginRegistry::path_of(PluginKind kind, const std::string& name) const {
    auto found = find(kind, name);
    return found ? (*found)->record.path : std::string();
}

Result<const OpenedPlugin*> PluginRegistry::find(PluginKind kind, const std::string& name) const {
    for (const auto& o : m_opened)
        if (o.record.kind == kind && o.record.name == name) return &o;
    for (const auto& r : m_records)
        if (r.kind == kind && r.name == name && !r.shadowed) return r.status;
    std::string available;
    for (const auto& n : names(kind)) available += (available.empty() ? "" : ", ") + n;
    std::string searched;
    for (const auto& d : m_dirs) searched += (searched.empty() ? "" : ", ") + d;
    return Status::error(std::string("unknown ") + plugin_kind_name(kind) + " '" + name + "' (available: " +
                         (available.empty() ? "none" : available) + "; searched: " + searched + ")");
}

namespace {
template <class Interface>
Result<std::shared_ptr<Interface>> create_object(const OpenedPlugin& plugin) {
    void* object = nullptr;
    char error[2048] = {0};
    if (plugin.info->create(&object, error, sizeof(error)) != 0 || object == nullptr)
        return Status::error("plugin " + plugin.record.path + ": could not create its object: " +
                             (error[0] ? error : "no reason given"));
    auto library = plugin.library;
    auto destroy = plugin.info->destroy;
    // The deleter owns a reference to the library: it stays mapped until the object is gone.
    return std::shared_ptr<Interface>(static_cast<Interface*>(object), [library, destroy](Interface* p) {
        if constexpr (std::is_same_v<Interface, DevicePlugin>) p->shutdown();
        destroy(p);
    });
}
}  // namespace

Result<std::shared_ptr<ModelPlugin>> PluginRegistry::create_model(const std::string& name) const {
    ZOO_ASSIGN_OR_RETURN(const OpenedPlugin* plugin, find(PluginKind::Model, name));
    return create_object<ModelPlugin>(*plugin);
}

Result<std::shared_ptr<DevicePlugin>> PluginRegistry::create_device(const std::string& name) const {
    ZOO_ASSIGN_OR_RETURN(const OpenedPlugin* plugin, find(PluginKind::Device, name));
    return create_object<DevicePlugin>(*plugin);
}

std::shared_ptr<CompiledModel> hold_compiled(std::unique_ptr<CompiledModel> compiled, std::shared_ptr<DevicePlugin> device) {
    return std::shared_ptr<CompiledModel>(compiled.release(), [device](CompiledModel* p) { delete p; });
}

}  // namespace zoo::runner
