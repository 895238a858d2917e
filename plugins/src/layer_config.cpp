#include "zoo/layer_config.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace zoo {
namespace {

constexpr std::array<std::pair<DataFormat, const char*>, 4> k_formats{{
    {DataFormat::Float32, "float32"},
    {DataFormat::BFloat16, "bfloat16"},
    {DataFormat::BFloat8_b, "bfloat8_b"},
    {DataFormat::BFloat4_b, "bfloat4_b"},
}};

std::string joined(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : separator) + s;
    return out;
}

bool is_choice(const LayerOptionSpec& spec, const SpecValue& v) {
    return v.kind() == SpecValue::Kind::Scalar &&
           std::find(spec.choices.begin(), spec.choices.end(), v.text()) != spec.choices.end();
}

// [x, y] or "XxY" as two integers (no range check); "auto" is {0, 0}.
bool read_grid(const SpecValue& v, int64_t& x, int64_t& y) {
    if (v.kind() == SpecValue::Kind::List && v.items().size() == 2) {
        auto a = v.items()[0].as_int(), b = v.items()[1].as_int();
        if (!a || !b) return false;
        x = *a, y = *b;
        return true;
    }
    if (v.kind() != SpecValue::Kind::Scalar) return false;
    if (v.text() == "auto") {
        x = y = 0;
        return true;
    }
    // "XxY": two decimal integers around one 'x', nothing else (from_chars: no locale, no overflow UB).
    const std::string& t = v.text();
    const size_t cross = t.find('x');
    if (cross == std::string::npos) return false;
    const char* end = t.data() + t.size();
    auto first = std::from_chars(t.data(), t.data() + cross, x);
    auto second = std::from_chars(t.data() + cross + 1, end, y);
    return first.ec == std::errc() && first.ptr == t.data() + cross && second.ec == std::errc() && second.ptr == end;
}

}  // namespace

const char* data_format_name(DataFormat f) {
    for (const auto& [e, text] : k_formats)
        if (e == f) return text;
    return "unknown";
}

bool data_format_from_name(const std::string& text, DataFormat& out) {
    for (const auto& [e, name] : k_formats) {
        if (text == name) {
            out = e;
            return true;
        }
    }
    return false;
}

const std::vector<std::string>& common_layer_keys() {
    static const std::vector<std::string> keys{"dtype", "weights_dtype"};
    return keys;
}

std::string describe_expected(const LayerOptionSpec& spec) {
    using Type = LayerOptionSpec::Type;
    const std::string choices = joined(spec.choices, ", ");
    switch (spec.type) {
        case Type::Flag:
            return "true or false";
        case Type::Integer: {
            std::string out = "an integer in [" + std::to_string(spec.min) + ", " + std::to_string(spec.max) + "]";
            if (spec.multiple_of > 1) out += ", a multiple of " + std::to_string(spec.multiple_of);
            return out;
        }
        case Type::Choice:
            return "one of " + choices;
        case Type::ChoiceList:
            return "a list of " + choices;
        case Type::Grid:
            return "auto, [x, y] or XxY with counts in [" + std::to_string(spec.min) + ", " + std::to_string(spec.max) + "]";
    }
    return "?";
}

Status check_layer_option(const LayerOptionSpec& spec, const SpecValue& v) {
    using Type = LayerOptionSpec::Type;
    bool ok = false;
    switch (spec.type) {
        case Type::Flag:
            ok = v.kind() == SpecValue::Kind::Scalar && v.as_bool().is_ok();
            break;
        case Type::Integer: {
            auto n = v.kind() == SpecValue::Kind::Scalar ? v.as_int() : Result<int64_t>(Status::error(""));
            ok = n && *n >= spec.min && *n <= spec.max && (spec.multiple_of <= 1 || *n % spec.multiple_of == 0);
            break;
        }
        case Type::Choice:
            ok = is_choice(spec, v);
            break;
        case Type::ChoiceList:
            if (v.kind() == SpecValue::Kind::List) {
                // The first wrong item is named with its own line and column.
                for (const SpecValue& item : v.items())
                    if (!is_choice(spec, item))
                        return Status::error(StatusCode::InvalidArgument,
                                             item.source() + ": '" + spec.name + "' must be " + describe_expected(spec) +
                                                 ", found " + item.describe());
                ok = true;
            } else {
                ok = is_choice(spec, v);
            }
            break;
        case Type::Grid: {
            int64_t x = 0, y = 0;
            ok = read_grid(v, x, y) &&
                 ((x == 0 && y == 0 && v.kind() == SpecValue::Kind::Scalar && v.text() == "auto") ||
                  (x >= spec.min && x <= spec.max && y >= spec.min && y <= spec.max && x > 0 && y > 0));
            break;
        }
    }
    if (ok) return Status::ok();
    return Status::error(StatusCode::InvalidArgument,
                         v.source() + ": '" + spec.name + "' must be " + describe_expected(spec) + ", found " + v.describe());
}

std::string layer_option_text(const LayerOptionSpec& spec, const SpecValue& v) {
    using Type = LayerOptionSpec::Type;
    switch (spec.type) {
        case Type::Flag: {
            auto b = v.as_bool();
            return b ? (*b ? "on" : "off") : v.describe();
        }
        case Type::ChoiceList: {
            if (v.kind() != SpecValue::Kind::List) return v.kind() == SpecValue::Kind::Scalar ? v.text() : v.describe();
            std::vector<std::string> items;
            for (const auto& i : v.items()) items.push_back(i.text());
            return items.empty() ? "-" : joined(items, ">");
        }
        case Type::Grid: {
            int64_t x = 0, y = 0;
            if (!read_grid(v, x, y)) return v.describe();
            return x == 0 ? "auto" : std::to_string(x) + "x" + std::to_string(y);
        }
        case Type::Integer: {
            auto n = v.as_int();
            return n ? std::to_string(*n) : v.describe();
        }
        case Type::Choice:
            break;
    }
    return v.kind() == SpecValue::Kind::Scalar ? v.text() : v.describe();
}

const LayerOptionSpec* find_layer_option(const std::vector<LayerOptionSpec>& specs, const std::string& name) {
    for (const auto& s : specs)
        if (s.name == name) return &s;
    return nullptr;
}

LayerOptions LayerOptions::defaults(const std::vector<LayerOptionSpec>& specs) {
    LayerOptions out;
    for (const auto& s : specs) {
        const std::string source = "default of '" + s.name + "'";
        SpecValue value = SpecValue::scalar(s.default_value, source);
        // A list's default is its items, comma-separated ("" for none), held as a list like the YAML it stands for.
        if (s.type == LayerOptionSpec::Type::ChoiceList) {
            value = SpecValue::list(source);
            size_t start = 0;
            while (start < s.default_value.size()) {
                const size_t end = std::min(s.default_value.find(',', start), s.default_value.size());
                std::string item = s.default_value.substr(start, end - start);
                item.erase(0, item.find_first_not_of(' '));
                item.erase(item.find_last_not_of(' ') + 1);
                if (!item.empty()) value.push_back(SpecValue::scalar(item, source));
                start = end + 1;
            }
        }
        out.set(s.name, std::move(value));
    }
    return out;
}

Result<const SpecValue*> LayerOptions::get(const std::string& name) const {
    const SpecValue* v = find(name);
    if (!v) return Status::error(StatusCode::Internal, "layer option '" + name + "' was not resolved (not declared?)");
    return v;
}

Result<bool> LayerOptions::flag(const std::string& name) const {
    ZOO_ASSIGN_OR_RETURN(const SpecValue* v, get(name));
    return v->as_bool();
}

Result<int64_t> LayerOptions::integer(const std::string& name) const {
    ZOO_ASSIGN_OR_RETURN(const SpecValue* v, get(name));
    return v->as_int();
}

Result<std::string> LayerOptions::choice(const std::string& name) const {
    ZOO_ASSIGN_OR_RETURN(const SpecValue* v, get(name));
    return v->as_string();
}

Result<std::vector<std::string>> LayerOptions::choice_list(const std::string& name) const {
    ZOO_ASSIGN_OR_RETURN(const SpecValue* v, get(name));
    std::vector<std::string> out;
    if (v->kind() == SpecValue::Kind::List) {
        for (const auto& item : v->items()) {
            ZOO_ASSIGN_OR_RETURN(std::string text, item.as_string());
            out.push_back(std::move(text));
        }
    } else {
        ZOO_ASSIGN_OR_RETURN(std::string text, v->as_string());
        out.push_back(std::move(text));
    }
    return out;
}

Result<std::pair<int64_t, int64_t>> LayerOptions::grid(const std::string& name) const {
    ZOO_ASSIGN_OR_RETURN(const SpecValue* v, get(name));
    int64_t x = 0, y = 0;
    if (!read_grid(*v, x, y)) return Status::error(v->source() + ": '" + name + "' is not a grid, found " + v->describe());
    return std::pair<int64_t, int64_t>{x, y};
}

}  // namespace zoo
