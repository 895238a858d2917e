// Where the runner finds its bundled data (yaml/, data/) and plugins, in the build tree and in an install.
#pragma once

#include <string>
#include <vector>

namespace zoo::runner {

// Folder holding yaml/ and data/: <exe>/../share/zoo when installed, else the source tree the binary was built from.
std::string data_dir();

// Folders searched for plugins, in order: explicit ones (--plugin-dir), $ZOO_PLUGIN_PATH (colon separated),
// <exe>/../lib/zoo (install and build tree alike).
std::vector<std::string> plugin_search_dirs(const std::vector<std::string>& explicit_dirs);

// Path of the running executable's folder ("" when unknown).
std::string executable_dir();

}  // namespace zoo::runner
