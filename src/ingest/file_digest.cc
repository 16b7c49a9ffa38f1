#include "ingest/file_digest.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace scsipub::ingest {

Result<std::string> sha256_of_fd(int fd, const ProgressSink& progress, const std::string& phase) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(std::string("fstat: ") + std::strerror(errno));
  const uint64_t total = static_cast<uint64_t>(st.st_size);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return fail("sha256: OpenSSL init failed");
  std::vector<unsigned char> buffer(1 << 20);
  uint64_t done = 0;
  // Bounded by the file size fixed at the start: a file that grows meanwhile is not followed.
  while (done < total) {
    if (progress.cancelled()) return fail("cancelled");
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), total - done));
    const ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(std::string("read: ") + std::strerror(errno));
    if (got == 0) return fail("file shrank while its checksum was computed");
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(got));
    done += static_cast<uint64_t>(got);
    progress(phase, done, total);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) return fail("sha256: OpenSSL final failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

bool valid_sha256_hex(const std::string& hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    const bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit) return false;
  }
  return true;
}

}  // namespace scsipub::ingest
