// Text Request/Response (RFC 7143 11.10, 11.11): SendTargets, unknown keys,
// request continuation and long responses split with a Target Transfer Tag.
#include "iscsi/text_exchange.h"

#include <gtest/gtest.h>

#include "iscsi/text_keys.h"
#include "login_test_util.h"

namespace scsipub::iscsi {
namespace {

using testing::encode;
using testing::Keys;
using testing::reply_keys;

class FakeSource : public SendTargetsSource {
 public:
  std::vector<SendTargetsEntry> send_targets(std::string_view which) override {
    last_which = std::string(which);
    if (which == "All") return entries;
    std::vector<SendTargetsEntry> out;
    for (const auto& e : entries) {
      if (e.name == which || (which.empty() && e.name == entries.front().name)) out.push_back(e);
    }
    return out;
  }
  std::vector<SendTargetsEntry> entries;
  std::string last_which;
};

class TextExchangeTest : public ::testing::Test {
 protected:
  TextExchangeTest() {
    src_.entries.push_back({"iqn.2025-01.pub.scsipub:blank", {"192.0.2.1:3260,1", "[2001:db8::1]:3260,1"}});
    src_.entries.push_back({"iqn.2025-01.pub.scsipub:multi", {"192.0.2.1:3260,1"}});
  }
  TextRequest req(const std::vector<uint8_t>& data, uint32_t ttt = 0xffffffff, bool final_bit = true,
                  bool cont = false) {
    TextRequest r;
    r.itt = 7;
    r.ttt = ttt;
    r.final_bit = final_bit;
    r.cont = cont;
    r.data = data;
    return r;
  }
  std::vector<KeyValue> pairs(const TextReply& r) {
    auto p = parse_text(r.data);
    EXPECT_TRUE(p.ok());
    return p.pairs;
  }
  FakeSource src_;
};

TEST_F(TextExchangeTest, SendTargetsAll) {
  TextExchange x(src_, 8192);
  auto data = encode(Keys{{"SendTargets", "All"}});
  auto r = x.step(req(data));
  EXPECT_FALSE(r.reject);
  EXPECT_TRUE(r.final_bit);
  EXPECT_FALSE(r.cont);
  EXPECT_EQ(r.ttt, 0xffffffffu);
  auto p = pairs(r);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0], (KeyValue{"TargetName", "iqn.2025-01.pub.scsipub:blank"}));
  EXPECT_EQ(p[1], (KeyValue{"TargetAddress", "192.0.2.1:3260,1"}));
  EXPECT_EQ(p[2], (KeyValue{"TargetAddress", "[2001:db8::1]:3260,1"}));
  EXPECT_EQ(p[3], (KeyValue{"TargetName", "iqn.2025-01.pub.scsipub:multi"}));
  EXPECT_EQ(src_.last_which, "All");
}

TEST_F(TextExchangeTest, SendTargetsByNameAndEmpty) {
  TextExchange x(src_, 8192);
  auto named = encode(Keys{{"SendTargets", "iqn.2025-01.pub.scsipub:multi"}});
  auto p = pairs(x.step(req(named)));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].value, "iqn.2025-01.pub.scsipub:multi");
  auto empty = encode(Keys{{"SendTargets", ""}});
  p = pairs(x.step(req(empty)));
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(src_.last_which, "");
  auto unknown = encode(Keys{{"SendTargets", "iqn.nope"}});
  auto r = x.step(req(unknown));
  EXPECT_FALSE(r.reject);
  EXPECT_TRUE(r.data.empty());
}

TEST_F(TextExchangeTest, UnknownKeysNotUnderstood) {
  TextExchange x(src_, 8192);
  auto data = encode(Keys{{"X-com.example.q", "1"}, {"MaxBurstLength", "4096"}});
  auto k = reply_keys(x.step(req(data)).data);
  EXPECT_EQ(k["X-com.example.q"], "NotUnderstood");
  EXPECT_EQ(k["MaxBurstLength"], "NotUnderstood");
}

TEST_F(TextExchangeTest, MalformedOrDuplicateRejected) {
  TextExchange x(src_, 8192);
  std::string bad("SendTargets\0", 12);
  EXPECT_TRUE(x.step(req(std::vector<uint8_t>(bad.begin(), bad.end()))).reject);
  auto dup = encode(Keys{{"SendTargets", "All"}, {"SendTargets", "All"}});
  EXPECT_TRUE(x.step(req(dup)).reject);
  // C=1 with F=1 is a protocol error.
  auto ok = encode(Keys{{"SendTargets", "All"}});
  EXPECT_TRUE(x.step(req(ok, 0xffffffff, true, true)).reject);
}

TEST_F(TextExchangeTest, LargeResponseIsSplit) {
  // Enough targets for well over 32768 bytes of response.
  src_.entries.clear();
  for (int i = 0; i < 600; ++i) {
    src_.entries.push_back({"iqn.2025-01.pub.scsipub:image.some-long-image-name-" + std::to_string(i),
                            {"192.0.2.1:3260,1"}});
  }
  const uint32_t mrdsl = 8192;
  TextExchange x(src_, mrdsl);
  auto data = encode(Keys{{"SendTargets", "All"}});
  auto r = x.step(req(data));
  std::vector<uint8_t> all;
  int pieces = 0;
  uint32_t ttt = 0;
  std::vector<uint8_t> empty;
  while (true) {
    ASSERT_FALSE(r.reject);
    ASSERT_LE(r.data.size(), mrdsl);
    ++pieces;
    all.insert(all.end(), r.data.begin(), r.data.end());
    if (r.final_bit) break;
    EXPECT_TRUE(r.cont);
    EXPECT_NE(r.ttt, 0xffffffffu);
    if (pieces > 1) {
      EXPECT_EQ(r.ttt, ttt);
    }
    ttt = r.ttt;
    r = x.step(req(empty, ttt));
  }
  EXPECT_GT(all.size(), 32768u);
  EXPECT_GE(pieces, 5);
  EXPECT_FALSE(r.cont);
  EXPECT_EQ(r.ttt, 0xffffffffu);
  auto parsed = parse_text(all);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.pairs.size(), 1200u);
  EXPECT_EQ(parsed.pairs.back().value, "192.0.2.1:3260,1");
  // The exchange is over: the old tag is no longer valid.
  EXPECT_TRUE(x.step(req(empty, ttt)).reject);
}

TEST_F(TextExchangeTest, NewRequestResetsPendingResponse) {
  src_.entries.clear();
  for (int i = 0; i < 600; ++i) src_.entries.push_back({"iqn.x:" + std::to_string(i), {"192.0.2.1:3260,1"}});
  TextExchange x(src_, 512);
  auto data = encode(Keys{{"SendTargets", "All"}});
  auto r = x.step(req(data));
  ASSERT_FALSE(r.final_bit);
  const uint32_t old = r.ttt;
  auto small = encode(Keys{{"X-q", "1"}});
  auto r2 = x.step(req(small));  // TTT=0xffffffff: start over
  EXPECT_TRUE(r2.final_bit);
  EXPECT_EQ(reply_keys(r2.data)["X-q"], "NotUnderstood");
  std::vector<uint8_t> empty;
  EXPECT_TRUE(x.step(req(empty, old)).reject);
}

TEST_F(TextExchangeTest, WrongTagOrDataWhileCollectingRejected) {
  src_.entries.clear();
  for (int i = 0; i < 100; ++i) src_.entries.push_back({"iqn.x:" + std::to_string(i), {"a:3260,1"}});
  TextExchange x(src_, 512);
  auto data = encode(Keys{{"SendTargets", "All"}});
  auto r = x.step(req(data));
  ASSERT_FALSE(r.final_bit);
  std::vector<uint8_t> empty;
  EXPECT_TRUE(x.step(req(empty, r.ttt + 1)).reject);
  r = x.step(req(data));
  ASSERT_FALSE(r.final_bit);
  EXPECT_TRUE(x.step(req(data, r.ttt)).reject);  // must be empty
}

TEST_F(TextExchangeTest, RequestContinuation) {
  TextExchange x(src_, 8192);
  auto all = encode(Keys{{"SendTargets", "All"}});
  std::vector<uint8_t> a(all.begin(), all.begin() + 5), b(all.begin() + 5, all.end());
  auto r1 = x.step(req(a, 0xffffffff, false, true));
  ASSERT_FALSE(r1.reject);
  EXPECT_FALSE(r1.final_bit);
  EXPECT_TRUE(r1.data.empty());
  EXPECT_NE(r1.ttt, 0xffffffffu);
  auto r2 = x.step(req(b, r1.ttt));
  ASSERT_FALSE(r2.reject);
  EXPECT_TRUE(r2.final_bit);
  EXPECT_EQ(pairs(r2).size(), 5u);
}

TEST_F(TextExchangeTest, RequestContinuationCapped) {
  TextExchange x(src_, 8192);
  std::vector<uint8_t> chunk(8192, 'A');
  auto r = x.step(req(chunk, 0xffffffff, false, true));
  int i = 1;
  while (!r.reject && i < 20) {
    r = x.step(req(chunk, r.ttt, false, true));
    ++i;
  }
  EXPECT_TRUE(r.reject);
  EXPECT_EQ(i, 9);
}

}  // namespace
}  // namespace scsipub::iscsi
