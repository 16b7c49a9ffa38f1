#include "db/tokens.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

namespace scsipub::db {
namespace {

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

Result<std::string> random_hex(std::size_t bytes) {
  if (bytes == 0 || bytes > static_cast<std::size_t>(INT_MAX)) {
    return fail("random_hex: bad length");
  }
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    return fail("RAND_bytes failed: the system random generator is unavailable");
  }
  return to_hex(buf.data(), buf.size());
}

Result<std::string> generate_token() { return random_hex(kTokenBytes); }

Result<std::string> hash_token(std::string_view token) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return fail("EVP_MD_CTX_new failed");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), token.data(), token.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    return fail("SHA-256 of the token failed");
  }
  return to_hex(digest, len);
}

}  // namespace scsipub::db
