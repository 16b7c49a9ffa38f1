// CHAP (RFC 7143 12.1.3 / RFC 1994) as an Authenticator, its factory through
// the LoginNegotiator, and the per-address failure throttle. Expected
// responses are computed here with OpenSSL's one-shot EVP_Digest over the
// RFC 1994 concatenation, independently of the code under test.
#include "iscsi/chap.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "login_test_util.h"

namespace scsipub::iscsi {
namespace {

using testing::FakeTargets;
using testing::Keys;
using testing::RequestFactory;
using testing::reply_keys;
namespace ls = login_status;
using Outcome = Authenticator::Outcome;

constexpr char kTarget[] = "iqn.2025-01.pub.scsipub:disk.42";
constexpr char kUser[] = "alice";
constexpr char kSecret[] = "alice-secret-123";      // 16 bytes
constexpr char kTargetSecret[] = "target-secret-456";  // 17 bytes
constexpr char kTargetUser[] = "scsipub-target";

// ---------------------------------------------------------------- helpers

std::vector<uint8_t> md5_reference(uint8_t id, std::string_view secret, std::span<const uint8_t> challenge) {
  std::vector<uint8_t> msg;
  msg.push_back(id);
  msg.insert(msg.end(), secret.begin(), secret.end());
  msg.insert(msg.end(), challenge.begin(), challenge.end());
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(msg.data(), msg.size(), out.data(), &len, EVP_md5(), nullptr), 1);
  out.resize(len);
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes, bool upper = false) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string s = upper ? "0X" : "0x";
  for (uint8_t b : bytes) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

std::string to_base64(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return "0b" + out;
}

std::vector<uint8_t> from_hex(std::string_view s) {
  EXPECT_TRUE(s.starts_with("0x"));
  std::vector<uint8_t> out;
  for (size_t i = 2; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::vector<KeyValue> kvs(const Keys& keys) {
  std::vector<KeyValue> out;
  for (const auto& [k, v] : keys) out.push_back({k, v});
  return out;
}

std::map<std::string, std::string> as_map(const TextWriter& w) { return reply_keys(w.bytes()); }

// Deterministic randomness: 0x40, 0x41, ... per call; counts calls.
struct CountingRandom {
  uint8_t next = 0x40;
  int calls = 0;
  bool ok = true;
};

class ChapTest : public ::testing::Test {
 protected:
  ChapTest() {
    ChapCredentials c;
    c.secret = kSecret;
    c.target_secret = kTargetSecret;
    c.target_user = kTargetUser;
    creds_[{kTarget, kUser}] = c;
    ChapCredentials one_way;
    one_way.secret = "bob-secret-0123";
    creds_[{kTarget, "bob"}] = one_way;
  }

  ChapCredentialLookup lookup() {
    return [this](std::string_view target, std::string_view user) -> std::optional<ChapCredentials> {
      ++lookups_;
      auto it = creds_.find({std::string(target), std::string(user)});
      if (it == creds_.end()) return std::nullopt;
      return it->second;
    };
  }
  ChapRandomSource random() {
    return [this](std::span<uint8_t> out) {
      ++rnd_.calls;
      if (!rnd_.ok) return false;
      for (auto& b : out) b = rnd_.next++;
      return true;
    };
  }
  ChapAuthenticator make() { return ChapAuthenticator(kTarget, lookup(), random()); }

  // Runs the CHAP_A step; records the id and challenge we were sent.
  void start(ChapAuthenticator& a, const std::string& algorithms = "5") {
    TextWriter w;
    ASSERT_EQ(a.step(kvs({{"CHAP_A", algorithms}}), w), Outcome::in_progress);
    auto k = as_map(w);
    ASSERT_EQ(k["CHAP_A"], "5");
    id_ = static_cast<uint8_t>(std::stoi(k["CHAP_I"]));
    challenge_ = from_hex(k["CHAP_C"]);
    ASSERT_EQ(challenge_.size(), kChapChallengeLength);
  }
  std::string good_response(std::string_view secret = kSecret) {
    return to_hex(md5_reference(id_, secret, challenge_));
  }
  Outcome answer(ChapAuthenticator& a, const Keys& keys, TextWriter* reply = nullptr) {
    TextWriter w;
    Outcome o = a.step(kvs(keys), reply ? *reply : w);
    if (!reply) {
      EXPECT_TRUE(w.empty());
    }
    return o;
  }

  std::map<std::pair<std::string, std::string>, ChapCredentials> creds_;
  CountingRandom rnd_;
  int lookups_ = 0;
  uint8_t id_ = 0;
  std::vector<uint8_t> challenge_;
};

// ---------------------------------------------------------------- primitives

TEST_F(ChapTest, Md5MatchesRfc1994Construction) {
  const std::vector<uint8_t> challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                          0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
  for (int id : {0, 1, 0x7f, 0xff}) {
    auto ours = chap_md5_response(static_cast<uint8_t>(id), kSecret, challenge);
    ASSERT_TRUE(ours);
    auto ref = md5_reference(static_cast<uint8_t>(id), kSecret, challenge);
    ASSERT_EQ(ref.size(), kChapMd5Length);
    EXPECT_TRUE(std::equal(ours->begin(), ours->end(), ref.begin())) << id;
  }
  // The well-known MD5 of the empty-id/secret/challenge edge: MD5("\0").
  auto zero = chap_md5_response(0, "", {});
  ASSERT_TRUE(zero);
  EXPECT_EQ(encode_chap_hex(*zero), "0x93b885adfe0da089cdf634904fd59f71");
}

TEST_F(ChapTest, BinaryDecoding) {
  EXPECT_EQ(decode_chap_binary("0x00ff10", 16), (std::vector<uint8_t>{0x00, 0xff, 0x10}));
  EXPECT_EQ(decode_chap_binary("0XABcd", 16), (std::vector<uint8_t>{0xab, 0xcd}));
  EXPECT_EQ(decode_chap_binary("0bAAEC", 16), (std::vector<uint8_t>{0x00, 0x01, 0x02}));
  EXPECT_EQ(decode_chap_binary("0BAAE=", 16), (std::vector<uint8_t>{0x00, 0x01}));
  EXPECT_EQ(decode_chap_binary("0bAA==", 16), (std::vector<uint8_t>{0x00}));
  EXPECT_EQ(decode_chap_binary("0x0102", 2)->size(), 2u);
  for (const char* bad : {"", "0", "0x", "0b", "0x1", "0x123", "0xgg", "0x 1", "ff", "x12", "0y12", "0bAAE",
                          "0bA===", "0bAA=A", "0b=AAA", "0bAA!A", "0x010203"}) {
    EXPECT_FALSE(decode_chap_binary(bad, 2)) << bad;
  }
  EXPECT_EQ(encode_chap_hex(std::vector<uint8_t>{0x0a, 0xb0}), "0x0ab0");
}

TEST_F(ChapTest, SecretRules) {
  ChapCredentials c;
  c.secret = "12345678901";  // 11
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::secret_too_short);
  c.secret = "123456789012";  // 12
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::none);
  c.secret = std::string(256, 's');
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::secret_too_long);
  c.secret = "1234567890123456";
  c.target_secret = "short";
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::target_secret_too_short);
  c.target_secret = std::string(256, 't');
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::target_secret_too_long);
  c.target_secret = c.secret;
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::same_secrets);
  c.target_secret = "abcdefghijklmnop";
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::none);
  c.target_user = std::string("bad\x01name");
  EXPECT_EQ(check_chap_credentials(c), ChapCredentialError::bad_target_user);
  EXPECT_STREQ(to_string(ChapCredentialError::same_secrets), "initiator and target secrets are identical");
}

// ---------------------------------------------------------------- exchange

TEST_F(ChapTest, ChallengeComesFromInjectedRandom) {
  auto a = make();
  EXPECT_TRUE(a.owns_key("CHAP_A"));
  EXPECT_TRUE(a.owns_key("CHAP_R"));
  EXPECT_FALSE(a.owns_key("AuthMethod"));
  EXPECT_FALSE(a.owns_key("SRP_U"));
  TextWriter w;
  ASSERT_EQ(a.step(kvs({{"CHAP_A", "5"}}), w), Outcome::in_progress);
  auto k = as_map(w);
  EXPECT_EQ(k.size(), 3u);
  EXPECT_EQ(k["CHAP_A"], "5");
  EXPECT_EQ(k["CHAP_I"], "64");  // 0x40
  EXPECT_EQ(k["CHAP_C"], "0x4142434445464748494a4b4c4d4e4f50");
  EXPECT_EQ(rnd_.calls, 1);
}

TEST_F(ChapTest, GoodResponse) {
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", good_response()}}), Outcome::success);
  EXPECT_EQ(a.user(), kUser);
  EXPECT_FALSE(a.mutual());
  EXPECT_EQ(lookups_, 1);
  // Done: an empty later step still says success, more CHAP keys do not.
  EXPECT_EQ(answer(a, {}), Outcome::success);
  EXPECT_EQ(answer(a, {{"CHAP_A", "5"}}), Outcome::failure);
}

TEST_F(ChapTest, UpperCaseHexResponse) {
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", to_hex(md5_reference(id_, kSecret, challenge_), true)}}),
            Outcome::success);
}

TEST_F(ChapTest, Base64Response) {
  auto a = make();
  start(a);
  const std::string b64 = to_base64(md5_reference(id_, kSecret, challenge_));
  ASSERT_EQ(b64.size(), 2u + 24u);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", b64}}), Outcome::success);
}

TEST_F(ChapTest, WrongSecret) {
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", good_response("not-the-secret!")}}), Outcome::failure);
  // Sticky.
  EXPECT_EQ(answer(a, {}), Outcome::failure);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", good_response()}}), Outcome::failure);
}

TEST_F(ChapTest, ResponseToWrongIdOrChallenge) {
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", to_hex(md5_reference(uint8_t(id_ + 1), kSecret, challenge_))}}),
            Outcome::failure);
}

TEST_F(ChapTest, UnknownUser) {
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", "mallory"}, {"CHAP_R", good_response()}}), Outcome::failure);
  EXPECT_EQ(lookups_, 1);
}

TEST_F(ChapTest, UserOfAnotherTarget) {
  auto a = ChapAuthenticator("iqn.2025-01.pub.scsipub:other", lookup(), random());
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", good_response()}}), Outcome::failure);
}

TEST_F(ChapTest, ShortSecretRefusedAtLookup) {
  creds_[{kTarget, "carol"}] = ChapCredentials{"shortsecret", std::nullopt, ""};  // 11 bytes
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", "carol"}, {"CHAP_R", good_response("shortsecret")}}), Outcome::failure);
}

TEST_F(ChapTest, SecretEqualToTargetSecretRefused) {
  creds_[{kTarget, "dave"}] = ChapCredentials{"same-secret-1234", "same-secret-1234", ""};
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", "dave"}, {"CHAP_R", good_response("same-secret-1234")}}), Outcome::failure);
}

TEST_F(ChapTest, BadEncodings) {
  const std::string too_long = to_hex(std::vector<uint8_t>(17, 0xaa));
  const std::string too_short = to_hex(std::vector<uint8_t>(15, 0xaa));
  const std::string b64_long = to_base64(std::vector<uint8_t>(17, 0xaa));
  for (const std::string& bad : std::vector<std::string>{
           "", "0x", "0x0", "0x" + std::string(31, 'a'), "0x" + std::string(32, 'g'), std::string(32, 'a'),
           "0z" + std::string(32, 'a'), too_long, too_short, b64_long, "0b" + std::string(23, 'A'),
           "0b" + std::string(22, 'A') + "=A", "0x" + std::string(4096, 'a')}) {
    auto a = make();
    start(a);
    EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", bad}}), Outcome::failure) << bad.substr(0, 40);
  }
  EXPECT_EQ(lookups_, 0);  // malformed values never reach the secrets
}

TEST_F(ChapTest, MissingOrUnexpectedKeys) {
  const std::vector<Keys> cases = {
      {{"CHAP_R", "0x00"}},
      {{"CHAP_N", kUser}},
      {{"CHAP_N", ""}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}},
      {{"CHAP_N", kUser}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}, {"CHAP_I", "1"}},
      {{"CHAP_N", kUser}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}, {"CHAP_C", "0x01"}},
      {{"CHAP_N", kUser}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}, {"CHAP_A", "5"}},
      {{"CHAP_N", kUser}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}, {"CHAP_X", "1"}},
      {{"CHAP_N", std::string(256, 'n')}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}},
  };
  for (const auto& keys : cases) {
    auto a = make();
    start(a);
    EXPECT_EQ(answer(a, keys), Outcome::failure) << keys.front().first << " +" << keys.size();
  }
  // Response keys before the algorithm was chosen.
  auto a = make();
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}}), Outcome::failure);
  auto b = make();
  EXPECT_EQ(answer(b, {{"CHAP_A", "5"}, {"CHAP_N", kUser}}), Outcome::failure);
}

TEST_F(ChapTest, AlgorithmLists) {
  struct Case {
    const char* list;
    bool ok;
  };
  for (const Case& c : {Case{"5", true}, Case{"7,5", true}, Case{"7,6,5", true}, Case{"0x5", true},
                        Case{"6", false}, Case{"7", false}, Case{"6,7", false}, Case{"", false},
                        Case{"7,,5", false}, Case{"None", false}, Case{"05", false}}) {
    auto a = make();
    TextWriter w;
    const Outcome o = a.step(kvs({{"CHAP_A", c.list}}), w);
    if (c.ok) {
      EXPECT_EQ(o, Outcome::in_progress) << c.list;
      EXPECT_EQ(as_map(w)["CHAP_A"], "5") << c.list;
    } else {
      EXPECT_EQ(o, Outcome::failure) << c.list;
      EXPECT_TRUE(w.empty()) << c.list;
    }
  }
}

TEST_F(ChapTest, NoRandomnessFails) {
  rnd_.ok = false;
  auto a = make();
  TextWriter w;
  EXPECT_EQ(a.step(kvs({{"CHAP_A", "5"}}), w), Outcome::failure);
  EXPECT_TRUE(w.empty());
}

TEST_F(ChapTest, EmptyStepsAreBounded) {
  auto a = make();
  int in_progress = 0;
  Outcome o = Outcome::in_progress;
  for (int i = 0; i < 20 && o == Outcome::in_progress; ++i) {
    o = answer(a, {});
    if (o == Outcome::in_progress) ++in_progress;
  }
  EXPECT_EQ(o, Outcome::failure);
  EXPECT_GE(in_progress, 2);
  EXPECT_LE(in_progress, 10);
}

TEST_F(ChapTest, ProductionRandomSource) {
  std::array<uint8_t, 32> a{}, b{};
  ASSERT_TRUE(openssl_random_bytes(a));
  ASSERT_TRUE(openssl_random_bytes(b));
  EXPECT_NE(a, b);
  EXPECT_TRUE(openssl_random_bytes({}));
}

// ---------------------------------------------------------------- mutual

TEST_F(ChapTest, MutualSuccess) {
  auto a = make();
  start(a);
  const std::vector<uint8_t> their_challenge = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33,
                                                0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
  TextWriter w;
  EXPECT_EQ(answer(a,
                   {{"CHAP_N", kUser},
                    {"CHAP_R", good_response()},
                    {"CHAP_I", "77"},
                    {"CHAP_C", to_hex(their_challenge)}},
                   &w),
            Outcome::success);
  auto k = as_map(w);
  EXPECT_EQ(k.size(), 2u);
  EXPECT_EQ(k["CHAP_N"], kTargetUser);
  EXPECT_EQ(k["CHAP_R"], to_hex(md5_reference(77, kTargetSecret, their_challenge)));
  EXPECT_TRUE(a.mutual());
}

TEST_F(ChapTest, MutualChallengeSizesAndEncodings) {
  for (size_t len : {size_t{1}, size_t{16}, size_t{1024}}) {
    std::vector<uint8_t> c(len);
    for (size_t i = 0; i < len; ++i) c[i] = static_cast<uint8_t>(i * 7 + 3);
    for (bool b64 : {false, true}) {
      auto a = make();
      start(a);
      TextWriter w;
      EXPECT_EQ(answer(a,
                       {{"CHAP_N", kUser},
                        {"CHAP_R", good_response()},
                        {"CHAP_I", "0x10"},
                        {"CHAP_C", b64 ? to_base64(c) : to_hex(c)}},
                       &w),
                Outcome::success)
          << len << " " << b64;
      EXPECT_EQ(as_map(w)["CHAP_R"], to_hex(md5_reference(0x10, kTargetSecret, c)));
    }
  }
  auto a = make();
  start(a);
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser},
                       {"CHAP_R", good_response()},
                       {"CHAP_I", "1"},
                       {"CHAP_C", to_hex(std::vector<uint8_t>(1025, 1))}}),
            Outcome::failure);
}

TEST_F(ChapTest, MutualDefaultsToTargetName) {
  creds_[{kTarget, kUser}].target_user.clear();
  auto a = make();
  start(a);
  TextWriter w;
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", good_response()}, {"CHAP_I", "1"}, {"CHAP_C", "0x0102"}}, &w),
            Outcome::success);
  EXPECT_EQ(as_map(w)["CHAP_N"], kTarget);
}

TEST_F(ChapTest, MutualWithoutTargetSecretFails) {
  auto a = make();
  start(a);
  const std::string resp = to_hex(md5_reference(id_, "bob-secret-0123", challenge_));
  EXPECT_EQ(answer(a, {{"CHAP_N", "bob"}, {"CHAP_R", resp}, {"CHAP_I", "1"}, {"CHAP_C", "0x0102030405"}}),
            Outcome::failure);
  // The same user without asking for mutual CHAP is fine.
  auto b = make();
  start(b);
  EXPECT_EQ(answer(b, {{"CHAP_N", "bob"}, {"CHAP_R", to_hex(md5_reference(id_, "bob-secret-0123", challenge_))}}),
            Outcome::success);
}

TEST_F(ChapTest, MutualReflectedChallengeFails) {
  for (bool b64 : {false, true}) {
    auto a = make();
    start(a);
    EXPECT_EQ(answer(a, {{"CHAP_N", kUser},
                         {"CHAP_R", good_response()},
                         {"CHAP_I", std::to_string(id_)},
                         {"CHAP_C", b64 ? to_base64(challenge_) : to_hex(challenge_)}}),
              Outcome::failure);
  }
}

TEST_F(ChapTest, MutualNotAnsweredWhenInitiatorResponseIsWrong) {
  auto a = make();
  start(a);
  // answer() checks that nothing was written.
  EXPECT_EQ(answer(a, {{"CHAP_N", kUser},
                       {"CHAP_R", good_response("wrong-secret-xx")},
                       {"CHAP_I", "1"},
                       {"CHAP_C", "0x0102"}}),
            Outcome::failure);
}

TEST_F(ChapTest, MutualMalformedIdOrChallenge) {
  for (const auto& [id, c] : std::vector<std::pair<std::string, std::string>>{
           {"256", "0x0102"}, {"-1", "0x0102"}, {"x", "0x0102"}, {"1", "0x"}, {"1", "0x010"}, {"1", "0b!!!!"}}) {
    auto a = make();
    start(a);
    EXPECT_EQ(answer(a, {{"CHAP_N", kUser}, {"CHAP_R", good_response()}, {"CHAP_I", id}, {"CHAP_C", c}}),
              Outcome::failure)
        << id << " " << c;
  }
}

TEST_F(ChapTest, FactoryMakesChapOnly) {
  ChapAuthenticatorFactory f(lookup(), random());
  LoginTarget t{kTarget, "", true};
  EXPECT_NE(f.create("CHAP", t, "iqn.x"), nullptr);
  EXPECT_EQ(f.create("SRP", t, "iqn.x"), nullptr);
  EXPECT_EQ(f.create("None", t, "iqn.x"), nullptr);
  EXPECT_EQ(f.create("chap", t, "iqn.x"), nullptr);
  ChapAuthenticatorFactory no_lookup(nullptr, random());
  EXPECT_EQ(no_lookup.create("CHAP", t, "iqn.x"), nullptr);
}

// ---------------------------------------------------------------- through the negotiator

constexpr char kInitiator[] = "iqn.2004-10.com.ubuntu:01:abcdef";

class ChapLoginTest : public ChapTest {
 protected:
  ChapLoginTest() : factory_(lookup(), random()) {
    targets_.add({kTarget, "disk forty-two", true});
    targets_.add({"iqn.2025-01.pub.scsipub:blank", "", false});
  }
  Keys security_keys(const char* methods) {
    return {{"InitiatorName", kInitiator},
            {"SessionType", "Normal"},
            {"TargetName", kTarget},
            {"AuthMethod", methods}};
  }
  // AuthMethod, then CHAP_A; leaves id_/challenge_ set.
  void negotiate(LoginNegotiator& n) {
    auto r1 = n.step(req_.make(0, true, 1, security_keys("CHAP,None")));
    ASSERT_EQ(r1.status_class, ls::kSuccess);
    EXPECT_FALSE(r1.transit);
    EXPECT_EQ(reply_keys(r1.data)["AuthMethod"], "CHAP");
    auto r2 = n.step(req_.make(0, false, 0, Keys{{"CHAP_A", "7,5"}}));
    ASSERT_EQ(r2.status_class, ls::kSuccess);
    EXPECT_FALSE(r2.transit);
    auto k = reply_keys(r2.data);
    EXPECT_EQ(k["CHAP_A"], "5");
    id_ = static_cast<uint8_t>(std::stoi(k["CHAP_I"]));
    challenge_ = from_hex(k["CHAP_C"]);
    ASSERT_EQ(challenge_.size(), kChapChallengeLength);
  }

  TargetLoginPolicy policy_;
  FakeTargets targets_;
  RequestFactory req_;
  ChapAuthenticatorFactory factory_;
};

TEST_F(ChapLoginTest, ChapLoginSucceeds) {
  LoginNegotiator n(policy_, targets_, &factory_);
  negotiate(n);
  auto r3 = n.step(req_.make(0, true, 1, Keys{{"CHAP_N", kUser}, {"CHAP_R", good_response()}}));
  EXPECT_EQ(r3.status_class, ls::kSuccess);
  EXPECT_FALSE(r3.close);
  EXPECT_TRUE(r3.transit);
  EXPECT_EQ(r3.nsg, 1);
  EXPECT_EQ(n.auth_method(), "CHAP");
  auto r4 = n.step(req_.make(1, true, 3, Keys{{"HeaderDigest", "None"}, {"DataDigest", "None"}}));
  EXPECT_EQ(r4.status_class, ls::kSuccess);
  EXPECT_TRUE(r4.complete);
}

// Discovery sessions may authenticate; the negotiator then knows who did.
TEST_F(ChapLoginTest, DiscoveryWithChapReportsTheUser) {
  creds_[{"", kUser}] = creds_[{kTarget, kUser}];
  LoginNegotiator n(policy_, targets_, &factory_);
  Keys keys{{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"AuthMethod", "CHAP,None"}};
  auto r1 = n.step(req_.make(0, true, 1, keys));
  ASSERT_EQ(r1.status_class, ls::kSuccess);
  EXPECT_EQ(reply_keys(r1.data)["AuthMethod"], "CHAP");
  EXPECT_FALSE(r1.transit);  // authentication still running: no transit yet
  auto r2 = n.step(req_.make(0, true, 1, Keys{{"CHAP_A", "5"}}));
  ASSERT_EQ(r2.status_class, ls::kSuccess);
  EXPECT_FALSE(r2.transit);
  auto k = reply_keys(r2.data);
  id_ = static_cast<uint8_t>(std::stoi(k["CHAP_I"]));
  challenge_ = from_hex(k["CHAP_C"]);
  auto r3 = n.step(req_.make(0, true, 1, Keys{{"CHAP_N", kUser}, {"CHAP_R", good_response()}}));
  EXPECT_EQ(r3.status_class, ls::kSuccess);
  EXPECT_TRUE(r3.transit);
  auto r4 = n.step(req_.make(1, true, 3, Keys{{"HeaderDigest", "None"}}));
  EXPECT_TRUE(r4.complete);
  EXPECT_EQ(n.authenticated_user(), kUser);
}

TEST_F(ChapLoginTest, DiscoveryWithWrongChapFails) {
  creds_[{"", kUser}] = creds_[{kTarget, kUser}];
  LoginNegotiator n(policy_, targets_, &factory_);
  Keys keys{{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"AuthMethod", "CHAP"}};
  ASSERT_EQ(n.step(req_.make(0, false, 0, keys)).status_class, ls::kSuccess);
  auto r2 = n.step(req_.make(0, false, 0, Keys{{"CHAP_A", "5"}}));
  auto k = reply_keys(r2.data);
  id_ = static_cast<uint8_t>(std::stoi(k["CHAP_I"]));
  challenge_ = from_hex(k["CHAP_C"]);
  auto r3 = n.step(req_.make(0, true, 1, Keys{{"CHAP_N", kUser}, {"CHAP_R", good_response("not-the-secret")}}));
  EXPECT_EQ(r3.status_class, ls::kInitiatorError);
  EXPECT_EQ(r3.status_detail, ls::kAuthFailure);
}

TEST_F(ChapLoginTest, AnonymousDiscoveryStaysAnonymous) {
  LoginNegotiator n(policy_, targets_, &factory_);
  Keys keys{{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"AuthMethod", "None,CHAP"}};
  auto r1 = n.step(req_.make(0, true, 1, keys));
  EXPECT_EQ(reply_keys(r1.data)["AuthMethod"], "None");
  EXPECT_TRUE(r1.transit);
  EXPECT_EQ(n.authenticated_user(), "");
}

TEST_F(ChapLoginTest, ChapMutualLoginSucceeds) {
  LoginNegotiator n(policy_, targets_, &factory_);
  negotiate(n);
  const std::vector<uint8_t> c = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
  auto r3 = n.step(req_.make(
      0, true, 1, Keys{{"CHAP_N", kUser}, {"CHAP_R", good_response()}, {"CHAP_I", "200"}, {"CHAP_C", to_hex(c)}}));
  EXPECT_EQ(r3.status_class, ls::kSuccess);
  EXPECT_TRUE(r3.transit);
  auto k = reply_keys(r3.data);
  EXPECT_EQ(k["CHAP_N"], kTargetUser);
  EXPECT_EQ(k["CHAP_R"], to_hex(md5_reference(200, kTargetSecret, c)));
  auto r4 = n.step(req_.make(1, true, 3, Keys{}));
  EXPECT_TRUE(r4.complete);
}

TEST_F(ChapLoginTest, ChapLoginWrongSecretIsAuthFailure) {
  LoginNegotiator n(policy_, targets_, &factory_);
  negotiate(n);
  auto r3 = n.step(req_.make(0, true, 1, Keys{{"CHAP_N", kUser}, {"CHAP_R", good_response("wrong-secret-xx")}}));
  EXPECT_EQ(r3.status_class, ls::kInitiatorError);
  EXPECT_EQ(r3.status_detail, ls::kAuthFailure);
  EXPECT_TRUE(r3.close);
  EXPECT_FALSE(r3.transit);
  EXPECT_TRUE(r3.data.empty());
}

TEST_F(ChapLoginTest, ChapLoginUnsupportedAlgorithmIsAuthFailure) {
  LoginNegotiator n(policy_, targets_, &factory_);
  auto r1 = n.step(req_.make(0, false, 0, security_keys("CHAP")));
  ASSERT_EQ(r1.status_class, ls::kSuccess);
  auto r2 = n.step(req_.make(0, false, 0, Keys{{"CHAP_A", "6"}}));
  EXPECT_EQ(r2.status_class, ls::kInitiatorError);
  EXPECT_EQ(r2.status_detail, ls::kAuthFailure);
  EXPECT_TRUE(r2.close);
}

TEST_F(ChapLoginTest, ChapLoginCannotTransitBeforeResponse) {
  LoginNegotiator n(policy_, targets_, &factory_);
  negotiate(n);
  auto r = n.step(req_.make(0, true, 1, Keys{}));
  EXPECT_EQ(r.status_class, ls::kSuccess);
  EXPECT_FALSE(r.transit);  // still authenticating
  auto r3 = n.step(req_.make(0, true, 1, Keys{{"CHAP_N", kUser}, {"CHAP_R", good_response()}}));
  EXPECT_TRUE(r3.transit);
}

}  // namespace
}  // namespace scsipub::iscsi
