#pragma once
// Adds an image to the catalog: fetch (local file or http(s) URL), check the
// sha256, detect the format by content, refuse hostile images, decompress /
// convert to raw with confined tools, and leave a complete, fsynced file
// under a temporary name. prepare_image does all of that; commit() renames it
// into the catalog, so a caller can record metadata in between (the CLI
// writes the MetaStore row first). Every error leaves nothing behind.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "common/limit_events.h"
#include "common/result.h"
#include "ingest/progress.h"
#include "ingest/temp_file.h"

namespace scsipub::ingest {

struct IngestLimits {
  uint64_t max_virtual_size = 64ull << 30;    // refused above this (also caps decompressed output)
  uint64_t max_download_bytes = 64ull << 30;  // compressed/source bytes fetched
  std::chrono::seconds converter_timeout{1800};
  uint64_t converter_memory = 1ull << 30;    // RLIMIT_AS of qemu-img / xz / zstd / gzip
  uint64_t reserve_free_bytes = 1ull << 30;  // free space that must remain after the image
  std::chrono::seconds download_connect_timeout{30};
  std::chrono::seconds download_stall_timeout{60};  // no byte for this long: resume
};

struct IngestRequest {
  std::string name;                   // a valid catalog name (the caller checks control::valid_image_name)
  std::string source;                 // local path or http(s) URL
  std::optional<std::string> sha256;  // hex, of the SOURCE bytes as fetched
  std::filesystem::path images_dir;
  IngestLimits limits;
  bool replace = false;  // commit() may replace an existing NAME.img / NAME.iso
  std::function<void(const IngestProgress&)> progress;  // may be empty; called from the ingest thread
  const std::atomic<bool>* cancel = nullptr;            // may be null
  LimitEvents* limit_events = nullptr;  // may be null; counts refusals by a [catalog] limit (/metrics)
};

struct IngestResult {
  std::filesystem::path path;  // images_dir / (name + ".img" or ".iso"): where commit() puts it
  uint64_t size_bytes = 0;
  std::string sha256;         // of the stored file
  std::string source_format;  // "raw", "iso", "qcow2", "vmdk", "vpc", "vhdx", "xz+raw", "gzip+iso", "zstd+qcow2", ...
  std::string source;         // as given, credentials stripped (for logs and the catalog row)
  bool iso = false;           // ISO 9660 content (stored as NAME.iso)
};

// Owns the finished temporary file; its destructor removes it unless committed.
class PreparedImage {
 public:
  PreparedImage(TempFile file, IngestResult result, bool replace)
      : file_(std::move(file)), result_(std::move(result)), replace_(replace) {}
  const IngestResult& result() const { return result_; }
  // fsync + rename to result().path (+ fsync of the directory). Without
  // `replace` an existing NAME.img or NAME.iso is refused; with it the file is
  // replaced atomically and a NAME with the other extension is removed.
  Status commit();
  // The temporary file (for tests and messages).
  const std::filesystem::path& temp_path() const { return file_.path(); }

 private:
  TempFile file_;
  IngestResult result_;
  bool replace_;
};

Result<PreparedImage> prepare_image(const IngestRequest& request);

}  // namespace scsipub::ingest
