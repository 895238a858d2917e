#include "core/data_paths.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/filesystem.hpp>
#include <cstdlib>
#include <sstream>

namespace zoo::runner {

namespace fs = boost::filesystem;

std::string executable_dir() {
    boost::system::error_code ec;
    fs::path exe = boost::dll::program_location(ec);
    if (ec) return "";
    return exe.parent_path().string();
}

std::string data_dir() {
    std::string exe_dir = executable_dir();
    if (!exe_dir.empty()) {
        fs::path installed = fs::path(exe_dir) / ".." / "share" / "zoo";
        if (fs::exists(installed / "yaml")) return fs::canonical(installed).string();
    }
    return ZOO_SOURCE_DIR;
}

std::vector<std::string> plugin_search_dirs(const std::vector<std::string>& explicit_dirs) {
    std::vector<std::string> dirs = explicit_dirs;
    if (const char* env = std::getenv("ZOO_PLUGIN_PATH")) {
        std::stringstream ss(env);
        std::string item;
        while (std::getline(ss, item, ':'))
            if (!item.empty()) dirs.push_back(item);
    }
    std::string exe_dir = executable_dir();
    if (!exe_dir.empty()) dirs.push_back((fs::path(exe_dir) / ".." / "lib" / "zoo").lexically_normal().string());
    return dirs;
}

}  // namespace zoo::runner
