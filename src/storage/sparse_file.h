#pragma once
// Whole-file copies that keep holes (backups of overlay files: a 100 GiB LUN
// with 1 GiB written copies 1 GiB), and the SHA-256 of a file's content.
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.h"

namespace scsipub::storage {

struct SparseCopied {
  uint64_t size = 0;       // the file's length (holes included)
  uint64_t data_bytes = 0; // bytes read and written (the allocated extents)
};

// Copies `src` to a new file `dst` (O_EXCL, mode 0600): the extents
// SEEK_DATA finds are copied, the rest stays a hole, the length is kept; dst
// is fsynced. A file system without SEEK_DATA is copied whole, with zero
// blocks left as holes.
Result<SparseCopied> copy_sparse(const std::filesystem::path& src, const std::filesystem::path& dst);

// Lowercase hex SHA-256 of the file's bytes (holes read as zeros, hashed
// without being read). Also returns the size it hashed.
struct FileDigest {
  uint64_t size = 0;
  std::string sha256;
};
Result<FileDigest> sha256_file(const std::filesystem::path& path);

}  // namespace scsipub::storage
