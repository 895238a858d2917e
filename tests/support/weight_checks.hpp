// Shared by the weight-loader tests: two WeightMaps hold the same keys, shapes, element types and bit-identical data.
#pragma once

#include <gtest/gtest.h>

#include <cstring>

#include "zoo/tensor.hpp"

inline void expect_bit_identical(const zoo::WeightMap& a, const zoo::WeightMap& b) {
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [key, t] : a) {
        SCOPED_TRACE(key);
        auto it = b.find(key);
        ASSERT_NE(it, b.end());
        EXPECT_EQ(t.shape, it->second.shape);
        EXPECT_EQ(t.element_type, it->second.element_type);
        ASSERT_EQ(t.data.size(), it->second.data.size());
        EXPECT_TRUE(t.data.empty() || 0 == std::memcmp(t.data.data(), it->second.data.data(), t.data.size() * sizeof(float)));
    }
}
