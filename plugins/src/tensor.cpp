#include "zoo/tensor.hpp"

#include <sstream>

namespace zoo {

const char* element_type_name(ElementType t) {
    switch (t) {
        case ElementType::Float32: return "float32";
        case ElementType::Float16: return "float16";
        case ElementType::BFloat16: return "bfloat16";
        case ElementType::Float64: return "float64";
        case ElementType::Int64: return "int64";
        case ElementType::Int32: return "int32";
        case ElementType::Int8: return "int8";
        case ElementType::UInt8: return "uint8";
        case ElementType::Bool: return "bool";
    }
    return "unknown";
}

std::string shape_to_string(const Shape& shape) {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

}  // namespace zoo
