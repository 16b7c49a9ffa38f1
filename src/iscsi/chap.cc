#include "iscsi/chap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <utility>

namespace scsipub::iscsi {

namespace {

// A login needs two requests with CHAP keys; allow a few empty ones (the
// initiator asking to transit early) but not an endless ping-pong.
constexpr unsigned kMaxSteps = 8;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::vector<uint8_t>> decode_hex(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() % 2 != 0 || s.size() / 2 > max_bytes) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(s.size() / 2);
  for (size_t i = 0; i < s.size(); i += 2) {
    const int hi = hex_digit(s[i]);
    const int lo = hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return out;
}

// RFC 4648 4 with padding, no whitespace.
std::optional<std::vector<uint8_t>> decode_base64(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (s.back() == '=') ++pad;
  if (s.size() >= 2 && s[s.size() - 2] == '=') ++pad;
  if (pad == 1 && s.back() != '=') return std::nullopt;
  const size_t decoded = s.size() / 4 * 3 - pad;
  if (decoded == 0 || decoded > max_bytes) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(decoded);
  const size_t body = s.size() - pad;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < body; ++i) {
    const int d = base64_digit(s[i]);
    if (d < 0) return std::nullopt;  // also catches '=' in the middle
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (out.size() != decoded) return std::nullopt;
  return out;
}

bool valid_value_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

const std::string* find_key(std::span<const KeyValue> keys, std::string_view key) {
  for (const auto& kv : keys) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

}  // namespace

const char* to_string(ChapCredentialError e) {
  switch (e) {
    case ChapCredentialError::none: return "none";
    case ChapCredentialError::secret_too_short: return "secret shorter than 12 bytes";
    case ChapCredentialError::secret_too_long: return "secret longer than 255 bytes";
    case ChapCredentialError::target_secret_too_short: return "target secret shorter than 12 bytes";
    case ChapCredentialError::target_secret_too_long: return "target secret longer than 255 bytes";
    case ChapCredentialError::same_secrets: return "initiator and target secrets are identical";
    case ChapCredentialError::bad_target_user: return "invalid target user name";
  }
  return "unknown";
}

ChapCredentialError check_chap_credentials(const ChapCredentials& creds) {
  if (creds.secret.size() < kChapMinSecretLength) return ChapCredentialError::secret_too_short;
  if (creds.secret.size() > kChapMaxSecretLength) return ChapCredentialError::secret_too_long;
  if (creds.target_secret) {
    if (creds.target_secret->size() < kChapMinSecretLength) return ChapCredentialError::target_secret_too_short;
    if (creds.target_secret->size() > kChapMaxSecretLength) return ChapCredentialError::target_secret_too_long;
    if (*creds.target_secret == creds.secret) return ChapCredentialError::same_secrets;
  }
  if (creds.target_user.size() > kChapMaxNameLength || !valid_value_text(creds.target_user)) {
    return ChapCredentialError::bad_target_user;
  }
  return ChapCredentialError::none;
}

bool openssl_random_bytes(std::span<uint8_t> out) {
  if (out.empty()) return true;
  if (out.size() > static_cast<size_t>(INT_MAX)) return false;
  return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

std::optional<std::array<uint8_t, kChapMd5Length>> chap_md5_response(uint8_t id, std::string_view secret,
                                                                     std::span<const uint8_t> challenge) {
  std::array<uint8_t, kChapMd5Length> out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned int len = 0;
  const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, &id, 1) == 1 &&
                  EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
                  EVP_DigestUpdate(ctx, challenge.data(), challenge.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, out.data(), &len) == 1 && len == out.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) return std::nullopt;  // MD5 unavailable, e.g. a FIPS-only provider
  return out;
}

std::optional<std::vector<uint8_t>> decode_chap_binary(std::string_view value, size_t max_bytes) {
  if (value.size() < 3 || value[0] != '0') return std::nullopt;
  const std::string_view body = value.substr(2);
  if (value[1] == 'x' || value[1] == 'X') return decode_hex(body, max_bytes);
  if (value[1] == 'b' || value[1] == 'B') return decode_base64(body, max_bytes);
  return std::nullopt;
}

std::string encode_chap_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  out.reserve(2 + bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

// ---------------------------------------------------------------- authenticator

ChapAuthenticator::ChapAuthenticator(std::string target_name, ChapCredentialLookup lookup, ChapRandomSource random)
    : target_name_(std::move(target_name)), lookup_(std::move(lookup)), random_(std::move(random)) {}

bool ChapAuthenticator::owns_key(std::string_view key) const {
  // All of the CHAP_ family: the five RFC 7143 12.1.3 keys are used, any
  // other CHAP_x fails the exchange (rather than being ignored).
  return key.starts_with("CHAP_");
}

Authenticator::Outcome ChapAuthenticator::fail() {
  state_ = State::failure;
  return Outcome::failure;
}

Authenticator::Outcome ChapAuthenticator::step(std::span<const KeyValue> keys, TextWriter& reply) {
  if (state_ == State::failure) return Outcome::failure;
  if (state_ == State::success) return keys.empty() ? Outcome::success : fail();
  if (++steps_ > kMaxSteps) return fail();
  if (keys.empty()) return Outcome::in_progress;
  for (const auto& kv : keys) {
    if (kv.key != "CHAP_A" && kv.key != "CHAP_I" && kv.key != "CHAP_C" && kv.key != "CHAP_N" &&
        kv.key != "CHAP_R") {
      return fail();
    }
  }
  if (state_ == State::await_algorithm) return choose_algorithm(keys, reply);
  return check_response(keys, reply);
}

// RFC 7143 12.1.3: the initiator opens with CHAP_A=<list>; we pick MD5.
Authenticator::Outcome ChapAuthenticator::choose_algorithm(std::span<const KeyValue> keys, TextWriter& reply) {
  if (keys.size() != 1 || keys[0].key != "CHAP_A") return fail();
  auto list = split_list(keys[0].value);
  if (!list) return fail();
  const bool md5 = std::any_of(list->begin(), list->end(), [](std::string_view v) {
    auto n = parse_number(v, 0, 255);
    return n && *n == kChapAlgorithmMd5;
  });
  if (!md5) return fail();

  std::array<uint8_t, 1 + kChapChallengeLength> rnd{};
  if (!random_ || !random_(rnd)) return fail();
  id_ = rnd[0];
  std::copy(rnd.begin() + 1, rnd.end(), challenge_.begin());

  reply.add("CHAP_A", uint64_t{kChapAlgorithmMd5});
  reply.add("CHAP_I", uint64_t{id_});
  reply.add("CHAP_C", encode_chap_hex(challenge_));
  state_ = State::await_response;
  return Outcome::in_progress;
}

// RFC 7143 12.1.3: CHAP_N and CHAP_R, optionally CHAP_I and CHAP_C asking us
// to authenticate ourselves in turn.
Authenticator::Outcome ChapAuthenticator::check_response(std::span<const KeyValue> keys, TextWriter& reply) {
  if (find_key(keys, "CHAP_A") != nullptr) return fail();
  const std::string* name = find_key(keys, "CHAP_N");
  const std::string* resp = find_key(keys, "CHAP_R");
  const std::string* peer_id = find_key(keys, "CHAP_I");
  const std::string* peer_challenge = find_key(keys, "CHAP_C");
  if (name == nullptr || resp == nullptr) return fail();
  if ((peer_id == nullptr) != (peer_challenge == nullptr)) return fail();
  if (name->empty() || name->size() > kChapMaxNameLength) return fail();

  auto response = decode_chap_binary(*resp, kChapMd5Length);
  if (!response || response->size() != kChapMd5Length) return fail();

  // Validate the mutual request before consulting any secret.
  std::optional<uint8_t> mutual_id;
  std::vector<uint8_t> mutual_challenge;
  if (peer_id != nullptr) {
    auto n = parse_number(*peer_id, 0, 255);
    if (!n) return fail();
    mutual_id = static_cast<uint8_t>(*n);
    auto c = decode_chap_binary(*peer_challenge, kChapMaxChallengeLength);
    if (!c || c->empty()) return fail();
    // RFC 7143 12.1.3: a challenge equal to ours is a reflection attack.
    if (c->size() == challenge_.size() && std::equal(c->begin(), c->end(), challenge_.begin())) return fail();
    mutual_challenge = std::move(*c);
  }

  if (!lookup_) return fail();
  std::optional<ChapCredentials> creds = lookup_(target_name_, *name);
  const bool usable = creds && check_chap_credentials(*creds) == ChapCredentialError::none;
  // Unknown users and unusable secrets still cost one digest and compare, so
  // the reply time does not tell which user names exist.
  const std::string_view secret = usable ? std::string_view(creds->secret) : std::string_view(target_name_);
  const auto expected = chap_md5_response(id_, secret, challenge_);
  const bool match = expected && CRYPTO_memcmp(expected->data(), response->data(), kChapMd5Length) == 0;
  if (!usable || !match) return fail();

  if (mutual_id) {
    if (!creds->target_secret) return fail();
    const auto answer = chap_md5_response(*mutual_id, *creds->target_secret, mutual_challenge);
    if (!answer) return fail();
    reply.add("CHAP_N", creds->target_user.empty() ? std::string_view(target_name_)
                                                    : std::string_view(creds->target_user));
    reply.add("CHAP_R", encode_chap_hex(*answer));
    mutual_ = true;
  }
  user_ = *name;
  state_ = State::success;
  return Outcome::success;
}

// ---------------------------------------------------------------- factory

ChapAuthenticatorFactory::ChapAuthenticatorFactory(ChapCredentialLookup lookup, ChapRandomSource random)
    : lookup_(std::move(lookup)), random_(std::move(random)) {}

std::unique_ptr<Authenticator> ChapAuthenticatorFactory::create(std::string_view method, const LoginTarget& target,
                                                                std::string_view /*initiator_name*/) {
  if (method != "CHAP" || !lookup_ || !random_) return nullptr;
  return std::make_unique<ChapAuthenticator>(target.name, lookup_, random_);
}

}  // namespace scsipub::iscsi
