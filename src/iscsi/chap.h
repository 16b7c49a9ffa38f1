#pragma once
// CHAP for the iSCSI security stage (RFC 7143 12.1.3 over RFC 1994), as a
// pure Authenticator: no I/O, randomness and credentials are injected. The
// login negotiator hands it the CHAP_* keys of each security-stage request.
//
//   initiator                          target (us)
//   CHAP_A=<list>                 ->
//                                 <-   CHAP_A=5 CHAP_I=<id> CHAP_C=0x<challenge>
//   CHAP_N=<user> CHAP_R=<resp>
//     [CHAP_I=<id2> CHAP_C=<c2>]  ->   verify resp == MD5(id || secret || challenge)
//                                 <-   [CHAP_N=<target user> CHAP_R=MD5(id2 || target secret || c2)]
//
// Every failure (unknown user, wrong response, malformed or missing keys,
// reflected challenge, no target secret for mutual CHAP) is reported as
// Outcome::failure, which the negotiator turns into login status 02/01.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iscsi/login_negotiator.h"
#include "iscsi/text_keys.h"

namespace scsipub::iscsi {

// RFC 1994 / RFC 7143 12.1.3 CHAP_A value for MD5, the only one we accept.
inline constexpr uint8_t kChapAlgorithmMd5 = 5;
inline constexpr size_t kChapMd5Length = 16;
// The challenge we send (RFC 7143 12.1.3 asks for unpredictable challenges;
// 16 bytes is what every initiator we know of accepts).
inline constexpr size_t kChapChallengeLength = 16;
// Longest challenge we accept from the initiator in mutual CHAP (RFC 7143
// 12.1.3 bounds CHAP_C at 1024 bytes).
inline constexpr size_t kChapMaxChallengeLength = 1024;
// Secrets: at least 12 bytes (96 bits, RFC 7143 12.1.3 / Windows initiator's
// 12..16), and a sane upper bound.
inline constexpr size_t kChapMinSecretLength = 12;
inline constexpr size_t kChapMaxSecretLength = 255;
// CHAP_N bound (RFC 7143 6.1 simple value).
inline constexpr size_t kChapMaxNameLength = 255;

// What a credential lookup returns for (target name, CHAP_N).
struct ChapCredentials {
  std::string secret;                        // the initiator's secret
  std::optional<std::string> target_secret;  // for mutual CHAP; none = refuse mutual
  std::string target_user;                   // CHAP_N we answer with; empty = the target name
};

enum class ChapCredentialError : uint8_t {
  none,
  secret_too_short,         // < kChapMinSecretLength
  secret_too_long,          // > kChapMaxSecretLength
  target_secret_too_short,
  target_secret_too_long,
  same_secrets,             // initiator secret == target secret (RFC 7143 12.1.3)
  bad_target_user,          // too long or contains bytes not allowed in a value
};
const char* to_string(ChapCredentialError e);

// The secret rules, for configuration time and again at lookup time.
ChapCredentialError check_chap_credentials(const ChapCredentials& creds);

// (target name, CHAP_N) -> credentials, or nullopt for an unknown user.
using ChapCredentialLookup =
    std::function<std::optional<ChapCredentials>(std::string_view target_name, std::string_view user)>;

// Fills the span with unpredictable bytes; false when no randomness is
// available (the authentication then fails).
using ChapRandomSource = std::function<bool(std::span<uint8_t>)>;

// Production randomness: OpenSSL RAND_bytes.
bool openssl_random_bytes(std::span<uint8_t> out);

// RFC 1994 4.1: MD5(identifier || secret || challenge); nullopt when MD5 is
// unavailable (e.g. a FIPS-only OpenSSL provider).
std::optional<std::array<uint8_t, kChapMd5Length>> chap_md5_response(uint8_t id, std::string_view secret,
                                                                     std::span<const uint8_t> challenge);

// RFC 7143 6.1 binary-value: "0x"/"0X" + an even number of hex digits, or
// "0b"/"0B" + padded base64. nullopt when malformed, empty, or when the
// decoded value would exceed max_bytes.
std::optional<std::vector<uint8_t>> decode_chap_binary(std::string_view value, size_t max_bytes);
// "0x" + lower-case hex.
std::string encode_chap_hex(std::span<const uint8_t> bytes);

// One CHAP exchange for one login.
class ChapAuthenticator : public Authenticator {
 public:
  ChapAuthenticator(std::string target_name, ChapCredentialLookup lookup, ChapRandomSource random);

  bool owns_key(std::string_view key) const override;
  Outcome step(std::span<const KeyValue> keys, TextWriter& reply) override;

  // After success: the CHAP_N that authenticated, and whether we also
  // answered the initiator's challenge.
  const std::string& user() const { return user_; }
  std::string identity() const override { return state_ == State::success ? user_ : std::string(); }
  bool mutual() const { return mutual_; }

 private:
  enum class State : uint8_t { await_algorithm, await_response, success, failure };
  Outcome choose_algorithm(std::span<const KeyValue> keys, TextWriter& reply);
  Outcome check_response(std::span<const KeyValue> keys, TextWriter& reply);
  Outcome fail();

  std::string target_name_;
  ChapCredentialLookup lookup_;
  ChapRandomSource random_;
  State state_ = State::await_algorithm;
  unsigned steps_ = 0;  // bounds empty round trips
  uint8_t id_ = 0;
  std::array<uint8_t, kChapChallengeLength> challenge_{};
  std::string user_;
  bool mutual_ = false;
};

// The factory the LoginNegotiator is given: CHAP for every target, with
// credentials from `lookup`.
class ChapAuthenticatorFactory : public AuthenticatorFactory {
 public:
  explicit ChapAuthenticatorFactory(ChapCredentialLookup lookup, ChapRandomSource random = openssl_random_bytes);

  std::unique_ptr<Authenticator> create(std::string_view method, const LoginTarget& target,
                                        std::string_view initiator_name) override;

 private:
  ChapCredentialLookup lookup_;
  ChapRandomSource random_;
};

}  // namespace scsipub::iscsi
