#pragma once
// The catalog of images anyone may mount: every `*.img` (raw) and `*.iso` file
// in one directory. The file name without its extension becomes the target
// name suffix (`iqn...:image.<name>`), so it must be safe both in an IQN and
// as a path component (open-iscsi turns the IQN into a directory name).
// Titles, checksums and the presentation come from the MetaStore
// (db::CatalogImage); the directory decides what exists. The catalog changes
// while the server runs (rescan() on a directory event), so readers get copies
// taken under a lock, never references into it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::db {
class MetaStore;
}

namespace scsipub::control {

enum class ImageKind : uint8_t { raw, iso };

// How initiators see an entry: a direct-access disk (SBC, 512-byte blocks)
// or a DVD-ROM drive (MMC, peripheral type 05h, 2048-byte blocks, read-only).
// ISO files default to dvd; the catalog metadata can serve one as a disk.
enum class Presentation : uint8_t { disk, dvd };

// Which file an entry was read from: a base opened earlier is reused only
// while the name still points at the same file (a replaced image is a new
// inode; sessions on the old one keep it open).
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t mtime_ns = 0;

  bool operator==(const FileIdentity&) const = default;
};

struct CatalogEntry {
  std::string name;             // target name suffix, e.g. "debian-12.5"
  std::filesystem::path path;
  uint64_t size_bytes = 0;
  ImageKind kind = ImageKind::raw;
  Presentation presentation = Presentation::disk;
  FileIdentity file;
  // From the MetaStore row, empty when there is none.
  std::string title;
  std::string description;
  std::string sha256;
  std::string source_format;
  int64_t added_at = 0;  // unix seconds

  bool operator==(const CatalogEntry&) const = default;
};

inline constexpr size_t kMaxImageNameLength = 64;

// Strict on purpose: 1..64 chars of [a-z0-9.-], starting with a letter or
// digit (a leading '-' reads as a command-line option, a leading '.' as a
// hidden file), not ending in '.', and without "..". No uppercase: IQNs
// compare case-insensitively, so "Foo" and "foo" would collide.
bool valid_image_name(std::string_view name);

// The catalog entry a directory entry file name would produce, or nullopt if
// it is not an image (wrong extension) or its name is invalid. Pure.
struct ParsedImageName {
  std::string name;
  ImageKind kind;
};
std::optional<ParsedImageName> parse_image_file_name(std::string_view file_name);

// The presentation a metadata value asks for ("auto", "disk", "dvd"; anything
// else counts as auto) for a file of `kind`.
Presentation presentation_for(ImageKind kind, std::string_view setting);

class Catalog {
 public:
  using Snapshot = std::shared_ptr<const std::vector<CatalogEntry>>;

  // `meta` (may be null) supplies titles and settings; it must outlive this.
  explicit Catalog(std::filesystem::path dir, db::MetaStore* meta = nullptr);

  // Re-reads the directory and the metadata; on error the previous entries
  // are kept. Skipped files (bad names, duplicates, non-regular files) are
  // logged. Safe to call from any thread while others read.
  Status rescan();

  Snapshot snapshot() const;                       // sorted by name; never null
  std::vector<CatalogEntry> entries() const { return *snapshot(); }
  std::optional<CatalogEntry> find(std::string_view name) const;
  const std::filesystem::path& dir() const { return dir_; }
  // Bumped by every rescan that changed the entries.
  uint64_t generation() const;

 private:
  std::filesystem::path dir_;
  db::MetaStore* meta_;
  mutable std::mutex mu_;
  Snapshot entries_;
  uint64_t generation_ = 0;
  std::mutex rescan_mu_;  // one rescan at a time
};

}  // namespace scsipub::control
