// Text key=value parsing and building (RFC 7143 6.1, 6.2).
#include "iscsi/text_keys.h"

#include <gtest/gtest.h>

#include <string>

namespace scsipub::iscsi {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(TextKeys, ParsesPairsInOrder) {
  std::string in("InitiatorName=iqn.a\0SessionType=Normal\0Empty=\0", 46);
  auto r = parse_text(bytes(in));
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  ASSERT_EQ(r.pairs.size(), 3u);
  EXPECT_EQ(r.pairs[0], (KeyValue{"InitiatorName", "iqn.a"}));
  EXPECT_EQ(r.pairs[1], (KeyValue{"SessionType", "Normal"}));
  EXPECT_EQ(r.pairs[2], (KeyValue{"Empty", ""}));
}

TEST(TextKeys, ValueMayContainEquals) {
  std::string in("X-a=b=c\0", 8);
  auto r = parse_text(bytes(in));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pairs[0].value, "b=c");
}

TEST(TextKeys, EmptyInputAndStrayNuls) {
  EXPECT_TRUE(parse_text({}).ok());
  std::string in("\0\0A=1\0\0\0", 8);
  auto r = parse_text(bytes(in));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.pairs.size(), 1u);
}

TEST(TextKeys, Malformed) {
  EXPECT_EQ(parse_text(bytes(std::string("NoEquals\0", 9))).error, TextError::missing_equals);
  EXPECT_EQ(parse_text(bytes(std::string("=v\0", 3))).error, TextError::empty_key);
  EXPECT_EQ(parse_text(bytes(std::string("Bad Key=v\0", 10))).error, TextError::bad_key_char);
  EXPECT_EQ(parse_text(bytes(std::string("A=\x01\0", 4))).error, TextError::bad_value_char);
  auto r = parse_text(bytes(std::string("A=1\0B\0", 6)));
  EXPECT_EQ(r.error, TextError::missing_equals);
  EXPECT_EQ(r.error_offset, 4u);
  EXPECT_TRUE(r.pairs.empty());
}

TEST(TextKeys, KeyAndValueLimits) {
  std::string key63(63, 'K');
  std::string ok = key63 + "=v" + std::string(1, '\0');
  EXPECT_TRUE(parse_text(bytes(ok)).ok());
  std::string too_long = key63 + "K=v" + std::string(1, '\0');
  EXPECT_EQ(parse_text(bytes(too_long)).error, TextError::key_too_long);

  std::string v255 = "A=" + std::string(255, 'v') + std::string(1, '\0');
  EXPECT_TRUE(parse_text(bytes(v255)).ok());
  std::string v256 = "A=" + std::string(256, 'v') + std::string(1, '\0');
  EXPECT_EQ(parse_text(bytes(v256)).error, TextError::value_too_long);
  // CHAP responses may be longer (large-binary-value), up to our cap.
  std::string chap = "CHAP_R=0x" + std::string(1000, 'a') + std::string(1, '\0');
  EXPECT_TRUE(parse_text(bytes(chap)).ok());
  std::string chap_huge = "CHAP_R=" + std::string(kMaxLongValueLength + 1, 'a') + std::string(1, '\0');
  EXPECT_EQ(parse_text(bytes(chap_huge)).error, TextError::value_too_long);
}

TEST(TextKeys, UnterminatedLastPair) {
  std::string in("A=1\0B=2", 7);
  EXPECT_EQ(parse_text(bytes(in)).error, TextError::unterminated);
  auto r = parse_text(bytes(in), TextParseOptions{.tolerate_unterminated_last = true});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.pairs[1].value, "2");
}

TEST(TextKeys, Duplicates) {
  std::vector<KeyValue> kv{{"A", "1"}, {"B", "2"}};
  EXPECT_FALSE(find_duplicate_key(kv));
  kv.push_back({"A", "3"});
  EXPECT_EQ(find_duplicate_key(kv), "A");
}

TEST(TextKeys, Numbers) {
  EXPECT_EQ(parse_number("0", 0, 10), 0u);
  EXPECT_EQ(parse_number("262144", 512, 16777215), 262144u);
  EXPECT_EQ(parse_number("0x40000", 0, UINT64_MAX), 0x40000u);
  EXPECT_EQ(parse_number("0XfF", 0, UINT64_MAX), 255u);
  EXPECT_EQ(parse_number("18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
  EXPECT_FALSE(parse_number("18446744073709551616", 0, UINT64_MAX));
  EXPECT_FALSE(parse_number("0x10000000000000000", 0, UINT64_MAX));
  EXPECT_FALSE(parse_number("", 0, 10));
  EXPECT_FALSE(parse_number("0x", 0, 10));
  EXPECT_FALSE(parse_number("-1", 0, 10));
  EXPECT_FALSE(parse_number("+1", 0, 10));
  EXPECT_FALSE(parse_number("012", 0, 100));
  EXPECT_FALSE(parse_number("1a", 0, 100));
  EXPECT_FALSE(parse_number("511", 512, 1024));
  EXPECT_FALSE(parse_number("1025", 512, 1024));
}

TEST(TextKeys, Booleans) {
  EXPECT_EQ(parse_bool("Yes"), true);
  EXPECT_EQ(parse_bool("No"), false);
  EXPECT_FALSE(parse_bool("yes"));
  EXPECT_FALSE(parse_bool(""));
  EXPECT_EQ(bool_value(true), "Yes");
}

TEST(TextKeys, Lists) {
  auto l = split_list("CRC32C,None");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0], "CRC32C");
  EXPECT_EQ((*l)[1], "None");
  EXPECT_EQ(split_list("None")->size(), 1u);
  EXPECT_FALSE(split_list(""));
  EXPECT_FALSE(split_list("a,"));
  EXPECT_FALSE(split_list(",a"));
  EXPECT_FALSE(split_list("a,,b"));
}

TEST(TextKeys, WriterRoundTrip) {
  TextWriter w;
  w.add("MaxBurstLength", uint64_t{262144});
  w.add("HeaderDigest", "None");
  auto r = parse_text(w.bytes());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.pairs[0], (KeyValue{"MaxBurstLength", "262144"}));
  EXPECT_EQ(w.bytes().back(), 0);
}

// RFC 7143 6.1: the key-name alphabet, byte by byte (the parser checks it
// with a table).
TEST(TextKeys, KeyAlphabetExactly) {
  const std::string allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-+@_#";
  for (int c = 1; c < 256; ++c) {
    if (c == '=') continue;
    std::string text = "K";
    text += static_cast<char>(c);
    text.append("=v\0", 3);
    auto r = parse_text(bytes(text));
    const bool want = allowed.find(static_cast<char>(c)) != std::string::npos;
    EXPECT_EQ(r.ok(), want) << "byte " << c;
    if (!want) {
      EXPECT_EQ(r.error, TextError::bad_key_char) << "byte " << c;
    }
  }
}

TEST(TextKeys, WriterFormatsEveryNumber) {
  TextWriter w;
  w.add("A", uint64_t{0});
  w.add("B", UINT64_MAX);
  auto r = parse_text(w.bytes());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.pairs[0].value, "0");
  EXPECT_EQ(r.pairs[1].value, "18446744073709551615");
}

TEST(TextKeys, AccumulatorCaps) {
  TextAccumulator acc(10);
  std::string six("A=123\0", 6);
  EXPECT_TRUE(acc.append(bytes(six)));
  EXPECT_FALSE(acc.append(bytes(six)));  // 12 > 10: refused whole
  EXPECT_EQ(acc.size(), 6u);
  EXPECT_TRUE(acc.append(bytes(std::string("B=\0\0", 4))));
  EXPECT_EQ(acc.size(), 10u);
  EXPECT_FALSE(acc.append(bytes(std::string("x"))));
  // A pair split across two PDUs parses once joined.
  TextAccumulator joined;
  ASSERT_TRUE(joined.append(bytes(std::string("TargetNa"))));
  ASSERT_TRUE(joined.append(bytes(std::string("me=iqn.x\0", 9))));
  auto r = parse_text(joined.data());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pairs[0], (KeyValue{"TargetName", "iqn.x"}));
  joined.clear();
  EXPECT_TRUE(joined.empty());
}

}  // namespace
}  // namespace scsipub::iscsi
