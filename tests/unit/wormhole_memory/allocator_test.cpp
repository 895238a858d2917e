#include <gtest/gtest.h>

#include "memory/l1_allocator.hpp"

namespace zoo::wormhole {
namespace {

TEST(BankAllocator, TopDownAllocationAlignsAndFrees) {
    BankAllocator a("L1", 1000, 10000, 32, true);
    auto x = a.allocate("x", 100, 64);
    ASSERT_TRUE(x);
    EXPECT_EQ(a.find(*x)->address, 11000 - 128);  // rounded up to 32 B, placed at the top
    EXPECT_EQ(a.find(*x)->bytes_per_bank, 128);
    auto y = a.allocate("y", 1000, 8);
    ASSERT_TRUE(y);
    EXPECT_EQ(a.find(*y)->address, 11000 - 128 - 1024);
    EXPECT_EQ(a.allocated_bytes(), 1152);
    EXPECT_EQ(a.lowest_address(), 11000 - 1152);
    EXPECT_TRUE(a.free(*x));
    EXPECT_FALSE(a.free(*x));
    EXPECT_EQ(a.allocated_bytes(), 1024);
    EXPECT_EQ(a.largest_free_block(), 11000 - 1152 - 1000);  // the hole at the top (128 B) is smaller
    EXPECT_EQ(a.free_bytes(), 10000 - 1024);
}

TEST(BankAllocator, BottomUpForDram) {
    BankAllocator a("DRAM", 0, 4096, 32, false);
    auto x = a.allocate("w", 64, 12);
    ASSERT_TRUE(x);
    EXPECT_EQ(a.find(*x)->address, 0);
    auto y = a.allocate("w2", 64, 12);
    EXPECT_EQ(a.find(*y)->address, 64);
}

TEST(BankAllocator, FragmentationFailsWithTheCardsMessage) {
    BankAllocator a("L1", 0, 6144, 32, true);
    auto p = a.allocate("a", 2048, 64);
    auto q = a.allocate("b", 2048, 64);
    auto r = a.allocate("c", 2048, 64);
    ASSERT_TRUE(p && q && r);
    EXPECT_EQ(a.free_bytes(), 0);
    a.free(*q);  // a 2 KiB hole in the middle
    auto big = a.allocate("d", 3072, 2);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.status().message(),
              "Out of Memory: Not enough space to allocate 6144 B L1 buffer across 2 banks, where each bank needs to store "
              "3072 B, but bank size is 6144 B (allocated: 4096 B, free: 2048 B, largest free block: 2048 B)");
    auto fits = a.allocate("e", 2048, 64);
    ASSERT_TRUE(fits);
    EXPECT_EQ(a.find(*fits)->address, 2048);  // reuses the hole
    a.free(*p);
    a.free(*r);
    EXPECT_EQ(a.largest_free_block(), 2048);  // [0, 2048) and [4096, 6144) are not adjacent
}

TEST(CircularBuffers, BeyondL1AndClashMessages) {
    const CoreRange grid{0, 0, 7, 7};
    EXPECT_TRUE(check_circular_buffers(97248, 100000, 1499136, 1400000, grid));
    Status beyond = check_circular_buffers(97248, 1500000, 1499136, 1466368, grid);
    ASSERT_FALSE(beyond);
    EXPECT_EQ(beyond.message(),
              "Statically allocated circular buffers on core range [(x=0,y=0) - (x=7,y=7)] grow to 1597248 B which is "
              "beyond max L1 size of 1499136 B");
    Status clash = check_circular_buffers(97248, 1000000, 1499136, 1000000, CoreRange{0, 0, 3, 0});
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.message(),
              "Statically allocated circular buffers in program clash with L1 buffers on core range [(x=0,y=0) - "
              "(x=3,y=0)]. L1 buffer allocated at 1000000 and static circular buffer region ends at 1097248");
}

}  // namespace
}  // namespace zoo::wormhole
