// Include from exactly one .cpp of a plugin and invoke one of the macros at namespace scope:
//   ZOO_MODEL_PLUGIN(MyModelClass, "mymodel", "1.0.0", "one line description")
//   ZOO_DEVICE_PLUGIN(MyDeviceClass, "mydevice", "1.0.0", "one line description")
// They export the C entry point (BOOST_DLL_ALIAS) and make sure no exception escapes object creation.
#pragma once

#include <boost/dll/alias.hpp>
#include <cstring>
#include <exception>

#include "zoo/abi.h"
#include "zoo/device_plugin.hpp"
#include "zoo/model_plugin.hpp"

namespace zoo::detail {

inline void copy_error(const char* text, char* error, size_t error_size) noexcept {
    if (error == nullptr || error_size == 0) return;
    std::strncpy(error, text, error_size - 1);
    error[error_size - 1] = '\0';
}

template <class Interface, class Impl>
int create_plugin_object(void** out, char* error, size_t error_size) noexcept {
    try {
        *out = static_cast<Interface*>(new Impl());
        return 0;
    } catch (const std::exception& e) {
        copy_error(e.what(), error, error_size);
    } catch (...) {
        copy_error("unknown exception while creating the plugin object", error, error_size);
    }
    return 1;
}

template <class Interface>
void destroy_plugin_object(void* object) noexcept {
    delete static_cast<Interface*>(object);
}

}  // namespace zoo::detail

#define ZOO_PLUGIN_DEFINE__(Interface, Impl, kind_value, name_text, version_text, description_text)              \
    namespace {                                                                                                   \
    const ZooPluginInfo zoo_plugin_info__ = {sizeof(ZooPluginInfo),                                               \
                                             ZOO_ABI_MAJOR,                                                       \
                                             ZOO_ABI_MINOR,                                                       \
                                             kind_value,                                                          \
                                             name_text,                                                           \
                                             version_text,                                                        \
                                             ZOO_BUILD_ID,                                                        \
                                             description_text,                                                    \
                                             &::zoo::detail::create_plugin_object<Interface, Impl>,               \
                                             &::zoo::detail::destroy_plugin_object<Interface>};                   \
    }                                                                                                             \
    extern "C" const ZooPluginInfo* zoo_plugin_entry_impl() noexcept { return &zoo_plugin_info__; }              \
    BOOST_DLL_ALIAS(zoo_plugin_entry_impl, zoo_plugin_entry)

#define ZOO_MODEL_PLUGIN(Impl, name_text, version_text, description_text) \
    ZOO_PLUGIN_DEFINE__(::zoo::ModelPlugin, Impl, ZOO_PLUGIN_MODEL, name_text, version_text, description_text)
#define ZOO_DEVICE_PLUGIN(Impl, name_text, version_text, description_text) \
    ZOO_PLUGIN_DEFINE__(::zoo::DevicePlugin, Impl, ZOO_PLUGIN_DEVICE, name_text, version_text, description_text)
