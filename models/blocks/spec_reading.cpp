#include "blocks/spec_reading.hpp"

#include <cstdlib>

namespace zoo::models {

Result<int64_t> read_int(const SpecValue& map, const std::string& key, int64_t fallback, int64_t min_value) {
    const SpecValue* v = map.find(key);
    if (v == nullptr) return fallback;
    ZOO_ASSIGN_OR_RETURN(int64_t value, v->as_int());
    if (value < min_value)
        return Status::error(v->source() + ": '" + key + "' must be at least " + std::to_string(min_value) + ", found " +
                             std::to_string(value));
    return value;
}

Result<double> read_positive_double(const SpecValue& map, const std::string& key, double fallback) {
    const SpecValue* v = map.find(key);
    if (v == nullptr) return fallback;
    ZOO_ASSIGN_OR_RETURN(double value, v->as_double());
    if (!(value > 0)) return Status::error(v->source() + ": '" + key + "' must be positive, found " + v->text());
    return value;
}

Result<double> read_probability(const SpecValue& map, const std::string& key, double fallback) {
    const SpecValue* v = map.find(key);
    if (v == nullptr) return fallback;
    ZOO_ASSIGN_OR_RETURN(double value, v->as_double());
    if (!(value >= 0 && value < 1)) return Status::error(v->source() + ": '" + key + "' must be in [0, 1), found " + v->text());
    return value;
}

Result<bool> read_bool(const SpecValue& map, const std::string& key, bool fallback) {
    const SpecValue* v = map.find(key);
    if (v == nullptr) return fallback;
    return v->as_bool();
}

Result<ClassifierSpec> read_classifier_spec(const SpecValue& map, double default_bn_eps) {
    ClassifierSpec s;
    ZOO_ASSIGN_OR_RETURN(s.resolution, read_resolution(map));
    ZOO_ASSIGN_OR_RETURN(s.in_channels, read_int(map, "in_channels", 3, 1));
    ZOO_ASSIGN_OR_RETURN(s.num_classes, read_int(map, "num_classes", 1000, 1));
    ZOO_ASSIGN_OR_RETURN(s.width_mult, read_positive_double(map, "width_mult", 1.0));
    ZOO_ASSIGN_OR_RETURN(s.dropout, read_probability(map, "dropout", 0.2));
    ZOO_ASSIGN_OR_RETURN(s.bn_eps, read_positive_double(map, "bn_eps", default_bn_eps));
    return s;
}

Result<std::array<int64_t, 2>> read_resolution(const SpecValue& map) {
    const SpecValue* v = map.find("resolution");
    if (v == nullptr) return std::array<int64_t, 2>{224, 224};
    auto bad = [&]() {
        return Status::error(v->source() + ": 'resolution' must be H, HxW or [H, W] with positive integers, found " +
                             v->describe());
    };
    std::array<int64_t, 2> hw{};
    if (v->kind() == SpecValue::Kind::List) {
        if (v->items().size() != 2) return bad();
        for (int i = 0; i < 2; ++i) {
            auto r = v->items()[i].as_int();
            if (!r) return bad();
            hw[i] = *r;
        }
    } else if (v->kind() == SpecValue::Kind::Scalar) {
        const std::string& t = v->text();
        size_t x = t.find_first_of("xX");
        char* end = nullptr;
        if (x == std::string::npos) {
            hw[0] = hw[1] = std::strtoll(t.c_str(), &end, 10);
            if (t.empty() || *end != '\0') return bad();
        } else {
            std::string h = t.substr(0, x), w = t.substr(x + 1);
            hw[0] = std::strtoll(h.c_str(), &end, 10);
            if (h.empty() || *end != '\0') return bad();
            hw[1] = std::strtoll(w.c_str(), &end, 10);
            if (w.empty() || *end != '\0') return bad();
        }
    } else {
        return bad();
    }
    if (hw[0] <= 0 || hw[1] <= 0) return bad();
    return hw;
}

Result<const SpecValue*> read_table(const SpecValue& map, const std::string& key, size_t columns) {
    ZOO_ASSIGN_OR_RETURN(const SpecValue* table, map.get(key));
    if (table->kind() != SpecValue::Kind::List || table->items().empty())
        return Status::error(table->source() + ": '" + key + "' must be a non-empty list of rows, found " + table->describe());
    for (const auto& row : table->items()) {
        if (row.kind() != SpecValue::Kind::List || row.items().size() != columns)
            return Status::error(row.source() + ": each row of '" + key + "' needs " + std::to_string(columns) +
                                 " columns, found " +
                                 (row.kind() == SpecValue::Kind::List ? std::to_string(row.items().size()) : row.describe()));
    }
    return table;
}

}  // namespace zoo::models
