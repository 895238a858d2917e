// Per-bank memory allocators as the card has them (tt-metal bank_manager): one address space shared by all banks of
// a kind, so a buffer spread over C banks occupies the same address range on each of them ("across C banks, each
// bank needs B bytes"). L1 buffers of the worker grid, L1_SMALL and DRAM all use this class.
//
// Thread safety: none (one planner owns one allocator). Ownership: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "memory/sharding.hpp"
#include "zoo/status.hpp"

namespace zoo::wormhole {

class BankAllocator {
public:
    struct Allocation {
        int id = 0;
        std::string name;        // the tensor or buffer, for reports
        int64_t address = 0;     // the same on every bank
        int64_t bytes_per_bank = 0;  // aligned
        int banks = 0;           // banks actually holding data (the range is reserved on all of them)
    };

    // kind: "L1", "L1_SMALL" or "DRAM" (printed in errors). Each bank spans [base, base + bank_size).
    // top_down: L1 buffers are placed from the top so that circular buffers can grow up from the base.
    BankAllocator(std::string kind, int64_t base, int64_t bank_size, int64_t alignment, bool top_down);

    // First fit (from the top when top_down). Fails like the card:
    // "Out of Memory: Not enough space to allocate {total} B {kind} buffer across {banks} banks, where each bank needs
    //  to store {per_bank} B, but bank size is {bank_size} B (allocated: {a} B, free: {f} B, largest free block: {l} B)"
    // with per_bank = bytes_per_bank rounded up to the alignment and total = per_bank * banks.
    Result<int> allocate(const std::string& name, int64_t bytes_per_bank, int banks);
    // Frees an allocation; unknown ids are ignored (returns false).
    bool free(int id);

    const std::string& kind() const { return m_kind; }
    int64_t base() const { return m_base; }
    int64_t bank_size() const { return m_bank_size; }
    int64_t allocated_bytes() const { return m_allocated; }  // per bank
    int64_t free_bytes() const { return m_bank_size - m_allocated; }
    int64_t largest_free_block() const;
    // Lowest address in use (base + bank_size when empty): where a region growing up from the base must stop.
    int64_t lowest_address() const;
    const Allocation* find(int id) const;
    // Live allocations, lowest address first.
    std::vector<Allocation> allocations() const;

private:
    struct Gap {
        int64_t begin, end;
    };
    std::vector<Gap> gaps() const;  // free ranges, ascending

    std::string m_kind;
    int64_t m_base;
    int64_t m_bank_size;
    int64_t m_alignment;
    bool m_top_down;
    int64_t m_allocated = 0;
    int m_next_id = 1;
    std::map<int64_t, Allocation> m_by_address;
    std::map<int, int64_t> m_address_of;
};

// The static circular-buffer region of one program: it starts at `cb_base` and grows up by `cb_bytes`. Fails like
// the card when it passes the end of L1 ("Statically allocated circular buffers on core range {range} grow to {end} B
// which is beyond max L1 size of {l1_size} B"; {end} = cb_base + cb_bytes, the region's end address) or runs into
// the lowest L1 buffer ("Statically allocated circular buffers in program clash with L1 buffers on core range
// {range}. L1 buffer allocated at {addr} and static circular buffer region ends at {end}").
Status check_circular_buffers(int64_t cb_base, int64_t cb_bytes, int64_t l1_size, int64_t lowest_buffer_address,
                              const CoreRange& range);

}  // namespace zoo::wormhole
