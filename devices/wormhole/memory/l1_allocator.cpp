#include "memory/l1_allocator.hpp"

#include <algorithm>

namespace zoo::wormhole {

BankAllocator::BankAllocator(std::string kind, int64_t base, int64_t bank_size, int64_t alignment, bool top_down)
    : m_kind(std::move(kind)), m_base(base), m_bank_size(bank_size), m_alignment(std::max<int64_t>(1, alignment)),
      m_top_down(top_down) {}

std::vector<BankAllocator::Gap> BankAllocator::gaps() const {
    std::vector<Gap> out;
    int64_t cursor = m_base;
    for (const auto& [address, a] : m_by_address) {
        if (address > cursor) out.push_back({cursor, address});
        cursor = address + a.bytes_per_bank;
    }
    if (cursor < m_base + m_bank_size) out.push_back({cursor, m_base + m_bank_size});
    return out;
}

int64_t BankAllocator::largest_free_block() const {
    int64_t best = 0;
    for (const Gap& g : gaps()) best = std::max(best, g.end - g.begin);
    return best;
}

int64_t BankAllocator::lowest_address() const {
    return m_by_address.empty() ? m_base + m_bank_size : m_by_address.begin()->first;
}

Result<int> BankAllocator::allocate(const std::string& name, int64_t bytes_per_bank, int banks) {
    const int64_t need = std::max<int64_t>(m_alignment, (bytes_per_bank + m_alignment - 1) / m_alignment * m_alignment);
    const std::vector<Gap> free_ranges = gaps();
    int64_t address = -1;
    if (m_top_down) {
        for (auto it = free_ranges.rbegin(); it != free_ranges.rend(); ++it)
            if (it->end - it->begin >= need) {
                address = it->end - need;
                break;
            }
    } else {
        for (const Gap& g : free_ranges)
            if (g.end - g.begin >= need) {
                address = g.begin;
                break;
            }
    }
    if (address < 0)
        return Status::error("Out of Memory: Not enough space to allocate " + std::to_string(need * banks) + " B " +
                             m_kind + " buffer across " + std::to_string(banks) + " banks, where each bank needs to store " +
                             std::to_string(need) + " B, but bank size is " + std::to_string(m_bank_size) +
                             " B (allocated: " + std::to_string(m_allocated) + " B, free: " + std::to_string(free_bytes()) +
                             " B, largest free block: " + std::to_string(largest_free_block()) + " B)");
    Allocation a{m_next_id++, name, address, need, banks};
    m_by_address[address] = a;
    m_address_of[a.id] = address;
    m_allocated += need;
    return a.id;
}

bool BankAllocator::free(int id) {
    auto it = m_address_of.find(id);
    if (it == m_address_of.end()) return false;
    m_allocated -= m_by_address[it->second].bytes_per_bank;
    m_by_address.erase(it->second);
    m_address_of.erase(it);
    return true;
}

const BankAllocator::Allocation* BankAllocator::find(int id) const {
    auto it = m_address_of.find(id);
    return it == m_address_of.end() ? nullptr : &m_by_address.at(it->second);
}

std::vector<BankAllocator::Allocation> BankAllocator::allocations() const {
    std::vector<Allocation> out;
    for (const auto& [address, a] : m_by_address) out.push_back(a);
    return out;
}

Status check_circular_buffers(int64_t cb_base, int64_t cb_bytes, int64_t l1_size, int64_t lowest_buffer_address,
                              const CoreRange& range) {
    const int64_t end = cb_base + cb_bytes;
    if (end > l1_size)
        return Status::error("Statically allocated circular buffers on core range " + range.to_string() + " grow to " +
                             std::to_string(end) + " B which is beyond max L1 size of " + std::to_string(l1_size) + " B");
    if (end > lowest_buffer_address)
        return Status::error("Statically allocated circular buffers in program clash with L1 buffers on core range " +
                             range.to_string() + ". L1 buffer allocated at " + std::to_string(lowest_buffer_address) +
                             " and static circular buffer region ends at " + std::to_string(end));
    return Status::ok();
}

}  // namespace zoo::wormhole
