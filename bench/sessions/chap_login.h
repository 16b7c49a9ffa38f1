#pragma once
// One-way CHAP on the initiator side of the security stage (RFC 7143 12.1.3
// over RFC 1994), as the paid disk targets require it:
//
//   initiator (us)                         target
//   AuthMethod=CHAP             (T=0)  ->
//                                      <-  AuthMethod=CHAP
//   CHAP_A=5                    (T=0)  ->
//                                      <-  CHAP_A=5 CHAP_I=<id> CHAP_C=<challenge>
//   CHAP_N=<user> CHAP_R=MD5(id || secret || challenge)
//                               (T=1, NSG=operational) ->
//                                      <-  T=1 NSG=operational (or 02/01)
//
// Everything the target sends is parsed with the project's bounded text-key
// parser; a reply that is not the next step above ends the login.
#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace scsipub::bench {

struct ChapSecret {
  std::string user;    // CHAP_N
  std::string secret;  // RFC 7143 12.1.3: at least 12 bytes for the target to accept it
};

// Where a CHAP exchange stands: what the next security-stage request sends.
enum class ChapStep : uint8_t {
  offer,      // AuthMethod=CHAP
  algorithm,  // CHAP_A=5
  answer,     // CHAP_N, CHAP_R (and T=1)
};

struct ChapProgress {
  ChapStep step = ChapStep::offer;
  std::array<uint8_t, 16> response{};  // CHAP_R, computed when the challenge arrives
};

// Longest CHAP_N and secret we send (the target's own bounds, RFC 7143 6.1).
inline constexpr size_t kMaxChapField = 255;

// A usable pair: non-empty, within kMaxChapField, no NUL in the user name.
bool valid_chap_secret(const ChapSecret& chap);

// Reads the target's answer to the request of `at.step` (a Login Response
// data segment that stayed in the security stage) and moves to the next
// step; false when it is not what that step expects (the login then ends).
bool advance_chap(ChapProgress& at, std::span<const uint8_t> data, const ChapSecret& chap);

// Appends the keys ("k=v\0") of the request `at.step` sends.
void append_chap_keys(std::string& keys, const ChapProgress& at, const ChapSecret& chap);

}  // namespace scsipub::bench
