#include "core/json_assert.hpp"

#include <stdexcept>

namespace zoo::runner {

void throw_json_field_missing() { throw std::out_of_range("a JSON field the reader needs is missing"); }

}  // namespace zoo::runner
