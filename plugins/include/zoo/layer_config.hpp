// The resolved per-layer configuration a device receives (the runner alone reads YAML). One LayerConfig per graph
// node, resolved as: device defaults < run-config defaults < --set defaults < ordered layer overrides.
//
// It has two parts. The common keys (`dtype`, `weights_dtype`) mean the same on every device. Everything else is a
// device's own option (a Tenstorrent card's math fidelity, sharding, program config...): the device declares each one
// (DevicePlugin::layer_options: name, type, default, doc), the runner checks every setting against that declaration
// and shows it in --dump-config, and the device reads the checked values into its own typed struct.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "zoo/spec_value.hpp"
#include "zoo/status.hpp"

namespace zoo {

// Number formats a layer may hold its activations or weights in. Float32 is the host's; the others are the formats
// accelerators keep (bfloat16; the block floats share one exponent per 16 values).
enum class DataFormat : uint8_t { Float32, BFloat16, BFloat8_b, BFloat4_b };
const char* data_format_name(DataFormat f);  // "bfloat16", "bfloat8_b", ...
bool data_format_from_name(const std::string& text, DataFormat& out);

// One option a device accepts per layer. The runner validates values with nothing but this, so a device never sees a
// setting of the wrong type or out of range.
struct LayerOptionSpec {
    enum class Type : uint8_t {
        Flag,        // true/false (on/off, yes/no)
        Integer,     // in [min, max], a multiple of `multiple_of`
        Choice,      // one of `choices`
        ChoiceList,  // a list of `choices` (or one of them), in order; [] for none
        Grid,        // [x, y] or "XxY", each in [min, max]; or "auto"
    };
    std::string name;           // snake_case key, as written in YAML and --set
    Type type = Type::Flag;
    std::string default_value;  // as YAML text: "off", "0", "HiFi4", "auto"; a list's items comma-separated ("" = none)
    std::vector<std::string> choices;
    int64_t min = 0;
    int64_t max = std::numeric_limits<int32_t>::max();
    int64_t multiple_of = 1;
    std::string doc;            // one line: what it does on the device
};

// What a value of `spec` must look like, for errors and --dump-config ("one of LoFi, HiFi2, HiFi3, HiFi4").
std::string describe_expected(const LayerOptionSpec& spec);
// Checks `value` against `spec`; the error names the value's source, the key, what was expected and what was found.
Status check_layer_option(const LayerOptionSpec& spec, const SpecValue& value);
// A checked value in its canonical text: on/off, the choice, "a>b" for lists ("-" when empty), "XxY" or auto.
std::string layer_option_text(const LayerOptionSpec& spec, const SpecValue& value);
// The spec of `name` in `specs`, or null.
const LayerOptionSpec* find_layer_option(const std::vector<LayerOptionSpec>& specs, const std::string& name);
// A pointer into a temporary list would dangle (an ASan find): name the list first.
const LayerOptionSpec* find_layer_option(std::vector<LayerOptionSpec>&& specs, const std::string& name) = delete;

// A device's options for one layer: every declared name with its checked value (defaults filled in), in declaration
// order. Values keep their source, so a device's own refusal can name the file and line that asked for it.
class LayerOptions {
public:
    static LayerOptions defaults(const std::vector<LayerOptionSpec>& specs);  // each spec's default_value

    const std::vector<std::pair<std::string, SpecValue>>& entries() const { return m_values.entries(); }
    const SpecValue* find(const std::string& name) const { return m_values.find(name); }
    void set(const std::string& name, SpecValue value) { m_values.set(name, std::move(value)); }  // in place, or appended

    // Typed reads of checked values; a name that is missing or of another type is an error naming it (a device bug:
    // it reads what it declared).
    Result<bool> flag(const std::string& name) const;
    Result<int64_t> integer(const std::string& name) const;
    Result<std::string> choice(const std::string& name) const;
    Result<std::vector<std::string>> choice_list(const std::string& name) const;
    Result<std::pair<int64_t, int64_t>> grid(const std::string& name) const;  // {0, 0} for auto

private:
    Result<const SpecValue*> get(const std::string& name) const;
    SpecValue m_values = SpecValue::map("layer options");  // an ordered map, keyed by option name
};

struct LayerConfig {
    DataFormat dtype = DataFormat::Float32;  // activations written by the layer
    DataFormat weights_dtype = DataFormat::Float32;
    LayerOptions options;  // the device's own keys (DevicePlugin::layer_options)
};

// The keys every device receives as fields of LayerConfig.
const std::vector<std::string>& common_layer_keys();

}  // namespace zoo
