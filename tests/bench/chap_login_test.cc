// The load generator's one-way CHAP (bench/sessions/chap_login.h) against the
// target's own ChapAuthenticator: the exchange a provisioned disk runs, in
// both directions, and the target replies the initiator must refuse.
#include "sessions/chap_login.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iscsi/chap.h"
#include "iscsi/text_keys.h"

namespace scsipub::bench {
namespace {

constexpr char kTarget[] = "iqn.2025-01.pub.scsipub:disk.7";
const ChapSecret kChap{"disk7-user", "disk7-secret-0123"};

std::vector<uint8_t> text(std::string_view s) { return {s.begin(), s.end()}; }

// "k=v\0" text as a target sends it.
std::string pairs(std::initializer_list<std::string_view> kvs) {
  std::string out;
  for (auto kv : kvs) {
    out.append(kv);
    out.push_back('\0');
  }
  return out;
}
// The same without the final NUL RFC 7143 6.1 requires.
std::string unterminated(std::initializer_list<std::string_view> kvs) {
  std::string out = pairs(kvs);
  out.pop_back();
  return out;
}

std::vector<iscsi::KeyValue> parsed(const std::string& keys) {
  auto p = iscsi::parse_text(text(keys));
  EXPECT_TRUE(p.ok());
  return p.pairs;
}

// "CHAP_C=0x..." with `bytes` bytes of challenge (RFC 7143 12.1.3 allows 1024).
std::string hex_challenge(size_t bytes) { return "CHAP_C=0x" + std::string(2 * bytes, 'a'); }

// A target that knows `secret` for kChap.user, with a fixed challenge source.
iscsi::ChapAuthenticator target_with(std::string secret) {
  return iscsi::ChapAuthenticator(
      kTarget,
      [secret](std::string_view, std::string_view user) -> std::optional<iscsi::ChapCredentials> {
        if (user != kChap.user) return std::nullopt;
        return iscsi::ChapCredentials{secret, std::nullopt, {}};
      },
      [](std::span<uint8_t> out) {
        for (size_t k = 0; k < out.size(); ++k) out[k] = uint8_t(0xa0 + k);
        return true;
      });
}

// Runs our side against `target` up to the answer; the target's verdict on it.
iscsi::Authenticator::Outcome exchange(iscsi::ChapAuthenticator& target) {
  ChapProgress at;
  std::string keys;
  append_chap_keys(keys, at, kChap);
  EXPECT_EQ(keys, pairs({"AuthMethod=CHAP"}));
  // The negotiator answers AuthMethod itself; the authenticator owns CHAP_*.
  EXPECT_TRUE(advance_chap(at, text(pairs({"AuthMethod=CHAP", "TargetPortalGroupTag=1"})), kChap));
  EXPECT_EQ(at.step, ChapStep::algorithm);
  keys.clear();
  append_chap_keys(keys, at, kChap);
  iscsi::TextWriter challenge;
  EXPECT_EQ(target.step(parsed(keys), challenge), iscsi::Authenticator::Outcome::in_progress);
  EXPECT_TRUE(advance_chap(at, challenge.bytes(), kChap));
  EXPECT_EQ(at.step, ChapStep::answer);
  keys.clear();
  append_chap_keys(keys, at, kChap);
  iscsi::TextWriter none;
  return target.step(parsed(keys), none);
}

TEST(ChapLoginTest, TheTargetAcceptsOurAnswer) {
  auto target = target_with(kChap.secret);
  EXPECT_EQ(exchange(target), iscsi::Authenticator::Outcome::success);
  EXPECT_EQ(target.user(), kChap.user);
}

TEST(ChapLoginTest, AWrongSecretIsRefused) {
  auto target = target_with("another-secret-456");
  EXPECT_EQ(exchange(target), iscsi::Authenticator::Outcome::failure);
}

TEST(ChapLoginTest, TheAnswerIsMd5OfIdSecretChallenge) {
  ChapProgress at;
  at.step = ChapStep::algorithm;
  const std::vector<uint8_t> challenge = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(advance_chap(at, text(pairs({"CHAP_A=5", "CHAP_I=42", "CHAP_C=0x0102030405060708"})), kChap));
  EXPECT_EQ(at.response, *iscsi::chap_md5_response(42, kChap.secret, challenge));
  std::string keys;
  append_chap_keys(keys, at, kChap);
  EXPECT_EQ(keys, "CHAP_N=" + kChap.user + std::string(1, '\0') + "CHAP_R=" + iscsi::encode_chap_hex(at.response) +
                      std::string(1, '\0'));
}

TEST(ChapLoginTest, MalformedChallengesEndTheLogin) {
  const std::vector<std::string> bad = {
      pairs({"CHAP_A=7", "CHAP_I=1", "CHAP_C=0x0102"}),  // not MD5
      pairs({"CHAP_A=5", "CHAP_I=256", "CHAP_C=0x0102"}),  // id is one octet
      pairs({"CHAP_A=5", "CHAP_I=-1", "CHAP_C=0x0102"}),
      pairs({"CHAP_A=5", "CHAP_I=1", "CHAP_C=0x010"}),  // odd hex
      pairs({"CHAP_A=5", "CHAP_I=1", "CHAP_C="}),  // empty
      pairs({"CHAP_A=5", "CHAP_C=0x0102"}),  // no id
      pairs({"CHAP_A=5", "CHAP_I=1", "CHAP_C=0x01", "CHAP_C=0x02"}),  // twice
      unterminated({"CHAP_A=5", "CHAP_I=1", "CHAP_C=0x0102"}),  // no final NUL
      pairs({"CHAP_A=5", "CHAP_I=1", hex_challenge(iscsi::kChapMaxChallengeLength + 1)}),  // over 1024 bytes
  };
  for (const auto& reply : bad) {
    ChapProgress at;
    at.step = ChapStep::algorithm;
    EXPECT_FALSE(advance_chap(at, text(reply), kChap)) << reply;
    EXPECT_EQ(at.step, ChapStep::algorithm);
  }
}

TEST(ChapLoginTest, AChallengeOfTheLongestLengthIsAnswered) {
  ChapProgress at;
  at.step = ChapStep::algorithm;
  EXPECT_TRUE(advance_chap(at, text(pairs({"CHAP_A=5", "CHAP_I=1", hex_challenge(iscsi::kChapMaxChallengeLength)})),
                           kChap));
  EXPECT_EQ(at.step, ChapStep::answer);
}

TEST(ChapLoginTest, OnlyTheNextStepIsAccepted) {
  ChapProgress offer;
  EXPECT_FALSE(advance_chap(offer, text(pairs({"AuthMethod=None"})), kChap));
  EXPECT_FALSE(advance_chap(offer, text(pairs({"CHAP_A=5"})), kChap));
  ChapProgress answered;
  answered.step = ChapStep::answer;
  // Staying in the security stage after our answer (a mutual-CHAP demand, say) ends it.
  EXPECT_FALSE(advance_chap(answered, text(pairs({"CHAP_A=5", "CHAP_I=1", "CHAP_C=0x0102"})), kChap));
}

TEST(ChapLoginTest, SecretsAreChecked) {
  EXPECT_TRUE(valid_chap_secret(kChap));
  EXPECT_FALSE(valid_chap_secret({"", "secret"}));
  EXPECT_FALSE(valid_chap_secret({"user", ""}));
  EXPECT_FALSE(valid_chap_secret({unterminated({"us", "er"}), "secret"}));
  EXPECT_FALSE(valid_chap_secret({"user", std::string(kMaxChapField + 1, 's')}));
}

}  // namespace
}  // namespace scsipub::bench
