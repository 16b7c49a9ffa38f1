#include "ingest/temp_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace scsipub::ingest {
namespace {
std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }
}  // namespace

std::string temp_name_prefix(const std::string& name) { return "." + name + ".ingest-"; }

Result<TempFile> TempFile::create(const std::filesystem::path& dir, const std::string& name) {
  std::string pattern = (dir / (temp_name_prefix(name) + "XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) return fail(errno_text("creating a temporary file in " + dir.string()));
  return TempFile(std::filesystem::path(buffer.data()), UniqueFd(fd));
}

TempFile::TempFile(TempFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::move(other.fd_)), committed_(std::exchange(other.committed_, true)) {}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
    committed_ = std::exchange(other.committed_, true);
  }
  return *this;
}

TempFile::~TempFile() {
  if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
}

Status TempFile::sync() const {
  if (::fsync(fd_.get()) != 0) return fail(errno_text("fsync " + path_.string()));
  return ok_status();
}

Status sync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return fail(errno_text("open " + dir.string()));
  if (::fsync(fd.get()) != 0) return fail(errno_text("fsync " + dir.string()));
  return ok_status();
}

Status TempFile::commit(const std::filesystem::path& target, bool replace) {
  if (committed_) return fail("already committed");
  if (auto s = sync(); !s) return s;
  const int rc = replace ? ::rename(path_.c_str(), target.c_str())
                         : ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
  if (rc != 0) {
    if (errno == EEXIST) return fail(target.filename().string() + " already exists (use --replace to replace it)");
    return fail(errno_text("rename to " + target.string()));
  }
  committed_ = true;
  return sync_directory(target.parent_path());
}

}  // namespace scsipub::ingest
