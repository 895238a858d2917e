// A minimal, strict reader for the zip archives torch.save writes: STORED (uncompressed) entries only, one disk,
// sizes and offsets taken from the central directory (torch's local headers use data descriptors and carry zero
// sizes), Zip64 end records and Zip64 extra fields honoured.
//
// Everything read from the file is bounds-checked: a truncated or corrupt archive yields an error naming the file and
// what is wrong, never a read outside the buffer.
//
// Ownership: the archive does not own the bytes; the caller keeps them alive (and unchanged) while the archive and
// any span it returned are in use. Thread safety: const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zoo/status.hpp"

namespace zoo::runner {

struct ZipEntry {
    std::string name;
    uint64_t data_offset = 0;  // first byte of the entry's data within the archive
    uint64_t size = 0;         // bytes (stored, so compressed size == uncompressed size)
    uint32_t crc32 = 0;        // as recorded in the central directory
};

class ZipArchive {
public:
    // Parses the end records and the central directory and checks every local header. `display_name` (normally the
    // path) prefixes every error message.
    static Result<ZipArchive> open(std::span<const uint8_t> bytes, std::string display_name);

    const std::vector<ZipEntry>& entries() const { return m_entries; }
    // nullptr when there is no entry of that exact name.
    const ZipEntry* find(std::string_view name) const;
    // The data of entry `name`, after checking its CRC-32 (so a flipped byte in a tensor is reported, not loaded).
    Result<std::span<const uint8_t>> read(std::string_view name) const;
    const std::string& display_name() const { return m_display_name; }

private:
    std::span<const uint8_t> m_bytes;
    std::string m_display_name;
    std::vector<ZipEntry> m_entries;
};

// CRC-32 (ISO-HDLC, as zip uses), exposed for tests.
uint32_t crc32_of(std::span<const uint8_t> bytes);

}  // namespace zoo::runner
