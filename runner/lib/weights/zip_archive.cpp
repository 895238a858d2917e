#include "weights/zip_archive.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <new>
#include <stdexcept>
#include <unordered_set>

namespace zoo::runner {
namespace {

// Parse failures travel as this exception inside the component and become a Status at the public functions, so the
// many bounds checks below stay one line each.
struct ZipError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EndMinSize = 56;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr uint16_t kZip64ExtraId = 0x0001;

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

// Little-endian reads at an absolute offset, refusing to step outside the buffer.
class Reader {
public:
    explicit Reader(std::span<const uint8_t> bytes) : m_bytes(bytes) {}

    void require(uint64_t offset, uint64_t length, const char* what) const {
        if (offset > m_bytes.size() || length > m_bytes.size() - offset) {
            throw ZipError(std::string(what) + " at byte " + std::to_string(offset) + " (" + std::to_string(length) +
                           " bytes) runs past the end of the file (" + std::to_string(m_bytes.size()) +
                           " bytes): the archive is truncated or corrupt");
        }
    }
    uint16_t u16(uint64_t offset, const char* what) const {
        require(offset, 2, what);
        return static_cast<uint16_t>(m_bytes[offset] | (m_bytes[offset + 1] << 8));
    }
    uint32_t u32(uint64_t offset, const char* what) const {
        require(offset, 4, what);
        uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | m_bytes[offset + i];
        return v;
    }
    uint64_t u64(uint64_t offset, const char* what) const {
        require(offset, 8, what);
        uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | m_bytes[offset + i];
        return v;
    }
    std::string_view text(uint64_t offset, uint64_t length, const char* what) const {
        require(offset, length, what);
        return {reinterpret_cast<const char*>(m_bytes.data() + offset), static_cast<size_t>(length)};
    }
    uint64_t size() const { return m_bytes.size(); }

private:
    std::span<const uint8_t> m_bytes;
};

struct EndRecord {
    uint64_t entry_count = 0;
    uint64_t directory_size = 0;
    uint64_t directory_offset = 0;
};

// Finds the classic end-of-central-directory record (scanning back over a possible comment) and, when a Zip64
// locator precedes it, the Zip64 end record whose 64-bit fields take precedence.
EndRecord read_end_record(const Reader& r) {
    if (r.size() < kEndSize) {
        throw ZipError("file is " + std::to_string(r.size()) +
                       " bytes, too short for a zip end-of-central-directory record (22 bytes)");
    }
    const uint64_t max_comment = 0xffff;
    const uint64_t lowest = r.size() - kEndSize > max_comment ? r.size() - kEndSize - max_comment : 0;
    uint64_t end_pos = UINT64_MAX;
    for (uint64_t pos = r.size() - kEndSize + 1; pos-- > lowest;) {
        if (r.u32(pos, "end record signature") == kEndSig &&
            pos + kEndSize + r.u16(pos + 20, "comment length") == r.size()) {
            end_pos = pos;
            break;
        }
    }
    if (end_pos == UINT64_MAX) {
        throw ZipError("no zip end-of-central-directory record found (the file is truncated or not a zip archive)");
    }
    const uint16_t disk = r.u16(end_pos + 4, "end record");
    const uint16_t directory_disk = r.u16(end_pos + 6, "end record");
    EndRecord end;
    end.entry_count = r.u16(end_pos + 10, "end record");
    end.directory_size = r.u32(end_pos + 12, "end record");
    end.directory_offset = r.u32(end_pos + 16, "end record");
    const uint64_t entries_on_disk = r.u16(end_pos + 8, "end record");

    const bool has_locator =
        end_pos >= kZip64LocatorSize && r.u32(end_pos - kZip64LocatorSize, "Zip64 locator") == kZip64LocatorSig;
    if (has_locator) {
        const uint64_t loc = end_pos - kZip64LocatorSize;
        const uint32_t zip64_disk = r.u32(loc + 4, "Zip64 locator");
        const uint64_t zip64_end_pos = r.u64(loc + 8, "Zip64 locator");
        const uint32_t total_disks = r.u32(loc + 16, "Zip64 locator");
        if (zip64_disk != 0 || total_disks > 1) {
            throw ZipError("multi-disk zip archives are not supported (Zip64 locator names disk " +
                           std::to_string(zip64_disk) + " of " + std::to_string(total_disks) + ")");
        }
        if (zip64_end_pos > loc || loc - zip64_end_pos < kZip64EndMinSize) {
            throw ZipError("Zip64 locator points at byte " + std::to_string(zip64_end_pos) +
                           ", which leaves no room for a Zip64 end record before the locator at byte " +
                           std::to_string(loc));
        }
        const uint32_t sig = r.u32(zip64_end_pos, "Zip64 end record");
        if (sig != kZip64EndSig) {
            throw ZipError("Zip64 end record at byte " + std::to_string(zip64_end_pos) + " has signature " +
                           hex32(sig) + ", expected " + hex32(kZip64EndSig));
        }
        const uint32_t disk64 = r.u32(zip64_end_pos + 16, "Zip64 end record");
        const uint32_t directory_disk64 = r.u32(zip64_end_pos + 20, "Zip64 end record");
        const uint64_t on_disk64 = r.u64(zip64_end_pos + 24, "Zip64 end record");
        end.entry_count = r.u64(zip64_end_pos + 32, "Zip64 end record");
        end.directory_size = r.u64(zip64_end_pos + 40, "Zip64 end record");
        end.directory_offset = r.u64(zip64_end_pos + 48, "Zip64 end record");
        if (disk64 != 0 || directory_disk64 != 0 || on_disk64 != end.entry_count) {
            throw ZipError("multi-disk zip archives are not supported");
        }
        // The central directory must end where the Zip64 end record begins.
        if (end.directory_offset > zip64_end_pos || end.directory_size != zip64_end_pos - end.directory_offset) {
            throw ZipError("central directory (offset " + std::to_string(end.directory_offset) + ", size " +
                           std::to_string(end.directory_size) + ") does not end at the Zip64 end record (byte " +
                           std::to_string(zip64_end_pos) + ")");
        }
    } else {
        if (disk != 0 || directory_disk != 0 || entries_on_disk != end.entry_count) {
            throw ZipError("multi-disk zip archives are not supported");
        }
        if (end.directory_offset > end_pos || end.directory_size != end_pos - end.directory_offset) {
            throw ZipError("central directory (offset " + std::to_string(end.directory_offset) + ", size " +
                           std::to_string(end.directory_size) + ") does not end at the end record (byte " +
                           std::to_string(end_pos) + ")");
        }
    }
    // Each central header takes at least 46 bytes; a larger count is a lie that would make us loop for nothing.
    if (end.entry_count > end.directory_size / kCentralHeaderSize) {
        throw ZipError("end record claims " + std::to_string(end.entry_count) +
                       " entries but the central directory is only " + std::to_string(end.directory_size) + " bytes");
    }
    return end;
}

// Replaces the 0xffff... placeholders of a central header by the values of its Zip64 extra field, which lists only
// the fields that overflowed, in a fixed order.
void apply_zip64_extra(const Reader& r, uint64_t extra_pos, uint64_t extra_len, const std::string& name,
                       uint64_t& uncompressed, uint64_t& compressed, uint64_t& local_offset, uint32_t& disk_start) {
    const bool need_uncompressed = uncompressed == 0xffffffffu;
    const bool need_compressed = compressed == 0xffffffffu;
    const bool need_offset = local_offset == 0xffffffffu;
    const bool need_disk = disk_start == 0xffffu;
    uint64_t pos = extra_pos;
    const uint64_t end = extra_pos + extra_len;
    bool found = false;
    while (pos + 4 <= end) {
        const uint16_t id = r.u16(pos, "extra field");
        const uint16_t len = r.u16(pos + 2, "extra field");
        if (pos + 4 + len > end) {
            throw ZipError("entry '" + name + "': extra field runs past the end of its extra area");
        }
        if (id == kZip64ExtraId) {
            found = true;
            uint64_t p = pos + 4;
            const uint64_t field_end = pos + 4 + len;
            auto take64 = [&](uint64_t& out, const char* what) {
                if (p + 8 > field_end) {
                    throw ZipError("entry '" + name + "': Zip64 extra field is too short for the " + what);
                }
                out = r.u64(p, "Zip64 extra field");
                p += 8;
            };
            if (need_uncompressed) take64(uncompressed, "uncompressed size");
            if (need_compressed) take64(compressed, "compressed size");
            if (need_offset) take64(local_offset, "local header offset");
            if (need_disk) {
                if (p + 4 > field_end) throw ZipError("entry '" + name + "': Zip64 extra field is too short");
                disk_start = r.u32(p, "Zip64 extra field");
            }
        }
        pos += 4 + len;
    }
    if ((need_uncompressed || need_compressed || need_offset || need_disk) && !found) {
        throw ZipError("entry '" + name + "' has 32-bit size/offset placeholders but no Zip64 extra field");
    }
}

std::vector<ZipEntry> read_central_directory(const Reader& r, const EndRecord& end) {
    std::vector<ZipEntry> entries;
    entries.reserve(static_cast<size_t>(end.entry_count));
    std::unordered_set<std::string> names;
    uint64_t pos = end.directory_offset;
    const uint64_t directory_end = end.directory_offset + end.directory_size;
    for (uint64_t i = 0; i < end.entry_count; ++i) {
        const std::string where = "central directory entry " + std::to_string(i);
        if (directory_end - pos < kCentralHeaderSize) {
            throw ZipError(where + " at byte " + std::to_string(pos) + " runs past the end of the central directory");
        }
        const uint32_t sig = r.u32(pos, "central directory header");
        if (sig != kCentralHeaderSig) {
            throw ZipError(where + " at byte " + std::to_string(pos) + " has signature " + hex32(sig) +
                           ", expected " + hex32(kCentralHeaderSig));
        }
        const uint16_t flags = r.u16(pos + 8, "central directory header");
        const uint16_t method = r.u16(pos + 10, "central directory header");
        const uint32_t crc = r.u32(pos + 16, "central directory header");
        uint64_t compressed = r.u32(pos + 20, "central directory header");
        uint64_t uncompressed = r.u32(pos + 24, "central directory header");
        const uint16_t name_len = r.u16(pos + 28, "central directory header");
        const uint16_t extra_len = r.u16(pos + 30, "central directory header");
        const uint16_t comment_len = r.u16(pos + 32, "central directory header");
        uint32_t disk_start = r.u16(pos + 34, "central directory header");
        uint64_t local_offset = r.u32(pos + 42, "central directory header");
        const uint64_t record_size = kCentralHeaderSize + name_len + extra_len + comment_len;
        if (directory_end - pos < record_size) {
            throw ZipError(where + " (name, extra field and comment) runs past the end of the central directory");
        }
        std::string name(r.text(pos + kCentralHeaderSize, name_len, "entry name"));
        apply_zip64_extra(r, pos + kCentralHeaderSize + name_len, extra_len, name, uncompressed, compressed,
                          local_offset, disk_start);

        if (flags & 0x0001) throw ZipError("entry '" + name + "' is encrypted; encrypted archives are not supported");
        if (method != 0) {
            throw ZipError("entry '" + name + "' uses compression method " + std::to_string(method) +
                           "; only STORED (0) entries are supported, as torch.save writes them");
        }
        if (compressed != uncompressed) {
            throw ZipError("entry '" + name + "' is STORED but its compressed size (" + std::to_string(compressed) +
                           ") differs from its uncompressed size (" + std::to_string(uncompressed) + ")");
        }
        if (disk_start != 0) throw ZipError("entry '" + name + "' lives on another disk; multi-disk archives are not supported");
        if (!names.insert(name).second) throw ZipError("entry '" + name + "' appears twice in the central directory");

        // The local header repeats the name and may carry a different extra field (torch pads with it so data is
        // 64-byte aligned), so the data offset must be computed from the local header itself.
        const uint32_t local_sig = r.u32(local_offset, "local header");
        if (local_sig != kLocalHeaderSig) {
            throw ZipError("entry '" + name + "': local header at byte " + std::to_string(local_offset) +
                           " has signature " + hex32(local_sig) + ", expected " + hex32(kLocalHeaderSig));
        }
        const uint16_t local_name_len = r.u16(local_offset + 26, "local header");
        const uint16_t local_extra_len = r.u16(local_offset + 28, "local header");
        if (r.text(local_offset + kLocalHeaderSize, local_name_len, "local header name") != name) {
            throw ZipError("entry '" + name + "': local header at byte " + std::to_string(local_offset) +
                           " names a different file than the central directory");
        }
        ZipEntry entry;
        entry.name = std::move(name);
        entry.data_offset = local_offset + kLocalHeaderSize + local_name_len + local_extra_len;
        entry.size = uncompressed;
        entry.crc32 = crc;
        // Data must lie before the central directory, which also keeps it inside the file.
        if (entry.data_offset > end.directory_offset || entry.size > end.directory_offset - entry.data_offset) {
            throw ZipError("entry '" + entry.name + "': data (" + std::to_string(entry.size) + " bytes at byte " +
                           std::to_string(entry.data_offset) + ") overlaps the central directory at byte " +
                           std::to_string(end.directory_offset) + " or runs past the end of the file");
        }
        entries.push_back(std::move(entry));
        pos += record_size;
    }
    return entries;
}

const std::array<uint32_t, 256>& crc_table() {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    return table;
}

}  // namespace

uint32_t crc32_of(std::span<const uint8_t> bytes) {
    const auto& table = crc_table();
    uint32_t c = 0xffffffffu;
    for (uint8_t b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

Result<ZipArchive> ZipArchive::open(std::span<const uint8_t> bytes, std::string display_name) {
    try {
        Reader r(bytes);
        const EndRecord end = read_end_record(r);
        ZipArchive archive;
        archive.m_entries = read_central_directory(r, end);
        archive.m_bytes = bytes;
        archive.m_display_name = std::move(display_name);
        return archive;
    } catch (const ZipError& e) {
        return Status::error(display_name + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return Status::error(display_name + ": out of memory while reading the zip central directory");
    } catch (const std::exception& e) {
        return Status::error(display_name + ": unexpected error while reading the zip archive: " + e.what());
    }
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
    for (const ZipEntry& e : m_entries) {
        if (e.name == name) return &e;
    }
    return nullptr;
}

Result<std::span<const uint8_t>> ZipArchive::read(std::string_view name) const {
    const ZipEntry* entry = find(name);
    if (entry == nullptr) {
        return Status::error(m_display_name + ": the archive has no entry '" + std::string(name) + "'");
    }
    // open() checked that the data lies inside the buffer.
    const auto data = m_bytes.subspan(static_cast<size_t>(entry->data_offset), static_cast<size_t>(entry->size));
    const uint32_t crc = crc32_of(data);
    if (crc != entry->crc32) {
        return Status::error(m_display_name + ": entry '" + entry->name + "' is corrupt: its CRC-32 is " + hex32(crc) +
                             " but the central directory records " + hex32(entry->crc32));
    }
    return data;
}

}  // namespace zoo::runner
