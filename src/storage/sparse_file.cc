#include "storage/sparse_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/unique_fd.h"

namespace scsipub::storage {
namespace {

constexpr size_t kChunk = 1 << 20;

std::string errno_text(const std::string& what, const std::filesystem::path& p, int err) {
  return what + " " + p.string() + ": " + std::strerror(err);
}

bool all_zero(const uint8_t* p, size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

bool pread_full(int fd, uint8_t* buf, size_t n, off_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;  // shorter than its size said: it changed under us
      return false;
    }
    buf += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return true;
}

bool pwrite_full(int fd, const uint8_t* buf, size_t n, off_t off) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, buf, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return true;
}

// The next extent [start, end) holding data at or after `off`, per
// SEEK_DATA/SEEK_HOLE; {size, size} when none. Without SEEK_DATA support the
// whole rest of the file is one extent.
struct Extent {
  off_t start, end;
};
Extent next_data(int fd, off_t off, off_t size) {
  off_t d = ::lseek(fd, off, SEEK_DATA);
  if (d < 0) {
    if (errno == ENXIO) return {size, size};
    return {off, size};  // EINVAL: no sparse support; copy everything
  }
  off_t h = ::lseek(fd, d, SEEK_HOLE);
  if (h < 0) h = size;
  return {d, std::min(h, size)};
}

struct MdFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

Result<SparseCopied> copy_sparse(const std::filesystem::path& src, const std::filesystem::path& dst) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) return fail(errno_text("cannot open", src, errno));
  struct stat st{};
  if (::fstat(in.get(), &st) != 0) return fail(errno_text("cannot stat", src, errno));
  if (!S_ISREG(st.st_mode)) return fail(src.string() + " is not a regular file");
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out.valid()) return fail(errno_text("cannot create", dst, errno));
  const off_t size = st.st_size;
  if (::ftruncate(out.get(), size) != 0) return fail(errno_text("cannot size", dst, errno));
  SparseCopied copied;
  copied.size = static_cast<uint64_t>(size);
  std::vector<uint8_t> buf(kChunk);
  off_t off = 0;
  while (off < size) {
    Extent e = next_data(in.get(), off, size);
    for (off_t p = e.start; p < e.end;) {
      const size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(kChunk), e.end - p));
      if (!pread_full(in.get(), buf.data(), n, p)) return fail(errno_text("cannot read", src, errno));
      copied.data_bytes += n;
      // Zeros inside an extent (preallocated or written zeros) stay holes too.
      if (!all_zero(buf.data(), n) && !pwrite_full(out.get(), buf.data(), n, p)) {
        return fail(errno_text("cannot write", dst, errno));
      }
      p += static_cast<off_t>(n);
    }
    off = std::max(e.end, off + 1);
    if (e.start >= size) break;
  }
  if (::fsync(out.get()) != 0) return fail(errno_text("cannot sync", dst, errno));
  return copied;
}

Result<FileDigest> sha256_file(const std::filesystem::path& path) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) return fail(errno_text("cannot open", path, errno));
  struct stat st{};
  if (::fstat(in.get(), &st) != 0) return fail(errno_text("cannot stat", path, errno));
  if (!S_ISREG(st.st_mode)) return fail(path.string() + " is not a regular file");
  std::unique_ptr<EVP_MD_CTX, MdFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return fail("SHA-256 unavailable");
  const off_t size = st.st_size;
  std::vector<uint8_t> buf(kChunk);
  static const std::vector<uint8_t> zeros(kChunk, 0);
  auto hash_zeros = [&](off_t n) {
    while (n > 0) {
      const size_t k = static_cast<size_t>(std::min<off_t>(n, static_cast<off_t>(kChunk)));
      EVP_DigestUpdate(ctx.get(), zeros.data(), k);
      n -= static_cast<off_t>(k);
    }
  };
  off_t off = 0;
  while (off < size) {
    Extent e = next_data(in.get(), off, size);
    hash_zeros(e.start - off);
    for (off_t p = e.start; p < e.end;) {
      const size_t n = static_cast<size_t>(std::min<off_t>(static_cast<off_t>(kChunk), e.end - p));
      if (!pread_full(in.get(), buf.data(), n, p)) return fail(errno_text("cannot read", path, errno));
      EVP_DigestUpdate(ctx.get(), buf.data(), n);
      p += static_cast<off_t>(n);
    }
    off = e.end;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) return fail("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  FileDigest d;
  d.size = static_cast<uint64_t>(size);
  for (unsigned i = 0; i < len; ++i) {
    d.sha256 += kHex[md[i] >> 4];
    d.sha256 += kHex[md[i] & 15];
  }
  return d;
}

}  // namespace scsipub::storage
