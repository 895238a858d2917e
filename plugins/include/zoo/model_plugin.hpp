// Model plugins turn a typed architecture spec into a Graph whose node names are torchvision's state_dict prefixes.
#pragma once

#include <string>
#include <vector>

#include "zoo/graph.hpp"
#include "zoo/spec_value.hpp"
#include "zoo/status.hpp"

namespace zoo {

struct ModelVariant {
    std::string name;         // "large"
    std::string table;        // architecture table the runner loads: yaml/models/<table>.yaml
    std::string description;  // one line for `runner list`
};

// Thread safety: all methods are const and may be called from any thread. Ownership: the host owns the object (made
// by the plugin's create, freed by its destroy) and keeps the library loaded while it lives. No method throws.
class ModelPlugin {
public:
    virtual ~ModelPlugin() = default;

    // Variants this plugin builds; the first is the default.
    virtual std::vector<ModelVariant> variants() const noexcept = 0;

    // Builds the inference graph from the spec (the variant's table with the user's overrides applied).
    // Spec errors name the spec value's source (file:line:column). The graph's Input has batch 1; the runner sets it.
    virtual Result<Graph> build(const SpecValue& spec) const noexcept = 0;
};

}  // namespace zoo
