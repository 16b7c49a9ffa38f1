// The feed's JSON writer, checked by nlohmann::json's strict parser.
#include "web/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace scsipub::web {
namespace {

using nlohmann::json;

std::string as_json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string ascii_only(std::string_view s) {
  std::string out;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x80) out += c;
  return out;
}

TEST(JsonWriter, HostileTextRoundTrips) {
  for (std::string_view s : {std::string_view("<script>alert(1)</script>\"'&"), std::string_view("a\\b\"c"),
                             std::string_view("line\nbreak\ttab\r\b\f"), std::string_view("\x01\x1f\x7f", 3),
                             std::string_view("nul\0inside", 10), std::string_view("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                             std::string_view("")}) {
    json parsed = json::parse(as_json_string(s), nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << as_json_string(s);
    EXPECT_EQ(parsed.get<std::string>(), std::string(s));
  }
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
  for (std::string_view s : {std::string_view("\xff", 1), std::string_view("a\xc3", 2), std::string_view("\xc0\xaf", 2),
                             std::string_view("\xed\xa0\x80", 3), std::string_view("\xf4\x90\x80\x80", 4),
                             std::string_view("\xe2\x82", 2), std::string_view("\x80zz", 3)}) {
    json parsed = json::parse(as_json_string(s), nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << as_json_string(s);
    const std::string back = parsed.get<std::string>();
    EXPECT_NE(back.find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD marks the bad bytes";
    EXPECT_EQ(ascii_only(back), ascii_only(s));
  }
}

// Any bytes give a JSON document nlohmann::json accepts (it checks UTF-8),
// with every ASCII character kept in order.
TEST(JsonWriter, RandomBytesAlwaysGiveValidJson) {
  std::mt19937 rng(12);  // fixed seed: reproducible
  std::uniform_int_distribution<int> byte(0, 255), length(0, 24);
  for (int round = 0; round < 5000; ++round) {
    std::string s(static_cast<size_t>(length(rng)), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    json parsed = json::parse(as_json_string(s), nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << round;
    ASSERT_EQ(ascii_only(parsed.get<std::string>()), ascii_only(s)) << round;
  }
}

TEST(JsonWriter, ObjectsArraysNumbersAndNulls) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.member("a", uint64_t{18446744073709551615u});
  w.member("b", int64_t{-5});
  w.member("c", 2.5);
  w.member("d", std::numeric_limits<double>::quiet_NaN());
  w.member("e", std::optional<uint64_t>());
  w.member("f", std::optional<uint64_t>(7));
  w.key("g");
  w.begin_array();
  w.begin_object();
  w.end_object();
  w.value(true);
  w.begin_array();
  w.end_array();
  w.value("x");
  w.end_array();
  w.end_object();
  EXPECT_EQ(out, R"({"a":18446744073709551615,"b":-5,"c":2.5,"d":null,"e":null,"f":7,"g":[{},true,[],"x"]})");
  EXPECT_FALSE(json::parse(out, nullptr, false).is_discarded());
}

}  // namespace
}  // namespace scsipub::web
