/* The one C entry point every plugin exports (via BOOST_DLL_ALIAS, name ZOO_PLUGIN_ENTRY_NAME).
 * The host calls it first and checks struct size, ABI version and build id before touching anything else.
 * Rules: ABI major must equal the host's; a plugin's minor may be older than the host's, not newer.
 * The build id (compiler, C++ standard library, language standard, SDK header digest) must match exactly, because C++ interfaces cross
 * the boundary once the checks pass. */
#ifndef ZOO_ABI_H
#define ZOO_ABI_H

#include <stddef.h>
#include <stdint.h>

#define ZOO_ABI_MAJOR 1
#define ZOO_ABI_MINOR 0
#define ZOO_PLUGIN_ENTRY_NAME "zoo_plugin_entry"

#define ZOO_STRINGIFY_INNER__(x) #x
#define ZOO_STRINGIFY__(x) ZOO_STRINGIFY_INNER__(x)
#if defined(__GLIBCXX__)
#define ZOO_STDLIB_ID__ "libstdc++-" ZOO_STRINGIFY__(__GLIBCXX__)
#elif defined(_LIBCPP_VERSION)
#define ZOO_STDLIB_ID__ "libc++-" ZOO_STRINGIFY__(_LIBCPP_VERSION)
#else
#define ZOO_STDLIB_ID__ "unknown-stdlib"
#endif
#if defined(__clang__)
#define ZOO_COMPILER_ID__ "clang-" __clang_version__
#elif defined(__GNUC__)
#define ZOO_COMPILER_ID__ "gcc-" __VERSION__
#else
#define ZOO_COMPILER_ID__ "unknown-compiler"
#endif
/* Digest of the SDK headers, set by the build (plugins/CMakeLists.txt). */
#ifndef ZOO_SDK_DIGEST
#define ZOO_SDK_DIGEST "unknown"
#endif
/* Only meaningful in C++ translation units (the host and plugins are C++). */
#define ZOO_BUILD_ID ZOO_COMPILER_ID__ "/" ZOO_STDLIB_ID__ "/c++" ZOO_STRINGIFY__(__cplusplus) "/sdk-" ZOO_SDK_DIGEST

#ifdef __cplusplus
extern "C" {
#endif

enum ZooPluginKind { ZOO_PLUGIN_MODEL = 1, ZOO_PLUGIN_DEVICE = 2 };

typedef struct ZooPluginInfo {
    uint32_t struct_size; /* sizeof(ZooPluginInfo) as the plugin was built */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t kind; /* ZooPluginKind */
    const char* name;        /* "mobilenetv3", "cpu": what users type */
    const char* version;     /* the plugin's own version, "1.0.0" */
    const char* build_id;    /* ZOO_BUILD_ID as the plugin was compiled */
    const char* description; /* one line for `runner list` */
    /* Creates the plugin object: a zoo::ModelPlugin* or zoo::DevicePlugin* according to kind. Never throws.
     * Returns 0 on success; otherwise writes a NUL-terminated message (truncated to error_size) and returns non-zero. */
    int (*create)(void** out_object, char* error, size_t error_size);
    /* Destroys an object made by create, inside the plugin. */
    void (*destroy)(void* object);
} ZooPluginInfo;

typedef const ZooPluginInfo* (*ZooPluginEntryFn)(void);

#ifdef __cplusplus
}
#endif

#endif /* ZOO_ABI_H */
