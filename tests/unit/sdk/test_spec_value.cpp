#include <gtest/gtest.h>

#include "zoo/spec_value.hpp"

using zoo::SpecValue;

TEST(SpecValue, ConversionsCheckTheTextAndNameTheSource) {
    EXPECT_EQ(*SpecValue::scalar("42", "f.yaml:1:5").as_int(), 42);
    EXPECT_DOUBLE_EQ(*SpecValue::scalar("0.75", "f.yaml:1:5").as_double(), 0.75);
    EXPECT_TRUE(*SpecValue::scalar("yes", "s").as_bool());
    EXPECT_FALSE(*SpecValue::scalar("False", "s").as_bool());
    auto bad = SpecValue::scalar("4x", "f.yaml:3:9").as_int();
    ASSERT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().message(), "f.yaml:3:9: expected an integer, found '4x'");
    EXPECT_FALSE(SpecValue::scalar("nan", "s").as_double().is_ok());
    EXPECT_FALSE(SpecValue::list("s").as_string().is_ok());
}

TEST(SpecValue, MapsKeepOrderRejectUnknownKeysAndReportMissingOnes) {
    SpecValue m = SpecValue::map("f.yaml:1:1");
    m.set("b", SpecValue::scalar("1", "f.yaml:1:4"));
    m.set("a", SpecValue::scalar("2", "f.yaml:2:4"));
    m.set("b", SpecValue::scalar("3", "--set b=3"));
    ASSERT_EQ(m.entries().size(), 2u);
    EXPECT_EQ(m.entries()[0].first, "b");
    EXPECT_EQ(m.entries()[0].second.text(), "3");
    EXPECT_TRUE(m.check_keys({"a", "b"}).is_ok());
    auto s = m.check_keys({"a"});
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.message(), "--set b=3: unknown key 'b' (accepted: a)");
    auto missing = m.get("c");
    ASSERT_FALSE(missing.is_ok());
    EXPECT_EQ(missing.status().message(), "f.yaml:1:1: missing key 'c'");
}
