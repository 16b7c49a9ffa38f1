#pragma once
// The file an ingest writes: created under a hidden name in the images
// directory (".NAME.ingest-XXXXXX", never *.img / *.iso, so the catalog
// ignores it), removed by its destructor on every error path, and turned into
// a catalog entry only by commit(): fsync the file, rename it into place,
// fsync the directory. Readers see the old image or the complete new one.
#include <filesystem>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace scsipub::ingest {

class TempFile {
 public:
  // `dir` must exist; `name` is a valid catalog name.
  static Result<TempFile> create(const std::filesystem::path& dir, const std::string& name);

  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&& other) noexcept;  // removes this one's file first
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();  // unlinks the file unless committed

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  Status sync() const;
  // Renames to `target` (in the same directory) and fsyncs the directory.
  // Without `replace`, an existing `target` is refused atomically
  // (renameat2 RENAME_NOREPLACE); with it, the old inode stays with whoever
  // has it open (running sessions keep reading the old image).
  Status commit(const std::filesystem::path& target, bool replace);
  bool committed() const { return committed_; }

 private:
  TempFile(std::filesystem::path path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::filesystem::path path_;
  UniqueFd fd_;
  bool committed_ = false;
};

// The temporary-name prefix for catalog name `name`, e.g. ".debian.ingest-".
std::string temp_name_prefix(const std::string& name);

// fsync of a directory, so a rename in it survives a crash.
Status sync_directory(const std::filesystem::path& dir);

}  // namespace scsipub::ingest
