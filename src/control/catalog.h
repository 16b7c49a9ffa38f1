#pragma once
// The catalog of images anyone may mount: every `*.img` (raw) and `*.iso` file
// in one directory. The file name without its extension becomes the target
// name suffix (`iqn...:image.<name>`), so it must be safe both in an IQN and
// as a path component (open-iscsi turns the IQN into a directory name).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::control {

enum class ImageKind : uint8_t { raw, iso };

// How initiators see an entry: a direct-access disk (SBC, 512-byte blocks)
// or a DVD-ROM drive (MMC, peripheral type 05h, 2048-byte blocks, read-only).
// ISO files default to dvd; the catalog metadata can serve one as a disk.
enum class Presentation : uint8_t { disk, dvd };

struct CatalogEntry {
  std::string name;             // target name suffix, e.g. "debian-12.5"
  std::filesystem::path path;
  uint64_t size_bytes = 0;
  ImageKind kind = ImageKind::raw;
  Presentation presentation = Presentation::disk;

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

class Catalog {
 public:
  explicit Catalog(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Re-reads the directory; on error the previous entries are kept. Skipped
  // files (bad names, duplicates, non-regular files) are logged.
  Status rescan();

  const std::vector<CatalogEntry>& entries() const { return entries_; }  // sorted by name
  const CatalogEntry* find(std::string_view name) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::vector<CatalogEntry> entries_;
};

}  // namespace scsipub::control
