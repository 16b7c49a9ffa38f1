// LogLineFormatter and append_log_text: the three line shapes, the journald
// priority prefixes, and that bytes a peer chose can neither break a record
// into two lines nor produce invalid JSON or invalid UTF-8.
#include "common/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "common/utf8.h"

namespace scsipub {
namespace {

using namespace std::chrono_literals;
using spdlog::level::level_enum;

constexpr level_enum kLevels[] = {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                                  spdlog::level::warn,  spdlog::level::err,   spdlog::level::critical};

// 2026-12-07T23:16:07.123Z
const spdlog::log_clock::time_point kWhen = spdlog::log_clock::time_point(1796685367s + 123ms);

std::string format_one(LogFormat format, level_enum level, std::string_view message,
                       std::string_view logger = "") {
  LogLineFormatter f(format);
  spdlog::details::log_msg msg(kWhen, spdlog::source_loc{}, spdlog::string_view_t(logger.data(), logger.size()), level,
                               spdlog::string_view_t(message.data(), message.size()));
  spdlog::memory_buf_t buf;
  f.format(msg, buf);
  return std::string(buf.data(), buf.size());
}

// Sets TZ for one test, so "local time" is a known offset.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

// One record is one line: a single '\n', at the end.
bool is_one_line(const std::string& line) {
  return !line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1;
}

// Printable, well-formed UTF-8 (the trailing newline excepted).
bool is_clean(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    const uint32_t cp = utf8_decode(s, i, len);
    if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e)) return false;
    i += len;
  }
  return true;
}

// The inverse of append_log_text(), written independently: proves the
// escaping loses nothing and is unambiguous.
std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    switch (s[i]) {
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'x': {
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      case 'u': {
        if (i + 4 >= s.size()) return std::nullopt;
        uint32_t cp = 0;
        for (size_t k = 1; k <= 4; ++k) {
          int d = hex(s[i + k]);
          if (d < 0) return std::nullopt;
          cp = cp * 16 + static_cast<uint32_t>(d);
        }
        if (cp < 0x800) {
          out += static_cast<char>(0xc0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
          out += static_cast<char>(0xe0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
          out += static_cast<char>(0x80 | (cp & 0x3f));
        }
        i += 4;
        break;
      }
      default: return std::nullopt;
    }
  }
  return out;
}

TEST(LogText, EscapesControlsInvalidUtf8AndDisguisingCodePoints) {
  using namespace std::string_literals;
  const std::string hostile = "a\0b\nX\r\t\x1b[31m\x7f\\q\"\xff\xc3(\xc2\x9b\xe2\x80\xa8\xe2\x80\xae\xed\xa0\x80z"s;
  EXPECT_EQ(log_text(hostile),
            R"(a\x00b\nX\r\t\x1b[31m\x7f\\q"\xff\xc3(\u009b\u2028\u202e\xed\xa0\x80z)");
  // Ordinary text, UTF-8 included, passes untouched.
  EXPECT_EQ(log_text("login of iqn.1993-08.org.debian:01:ab to iqn.x:image.démo 🙂"),
            "login of iqn.1993-08.org.debian:01:ab to iqn.x:image.démo 🙂");
  // A truncated sequence at the end is bytes, not a read past the end.
  EXPECT_EQ(log_text("x\xe2\x80"), R"(x\xe2\x80)");
}

TEST(LogFormat, TextIsLocalTimeLevelMessage) {
  ScopedTimeZone tz("EST5");  // UTC-5, no DST rules
  const char* names[] = {"trace", "debug", "info", "warning", "error", "critical"};
  for (size_t i = 0; i < std::size(kLevels); ++i) {
    EXPECT_EQ(format_one(LogFormat::text, kLevels[i], "hello"),
              std::string("2026-12-07T18:16:07.123 ") + names[i] + " hello\n");
  }
}

TEST(LogFormat, TextMarksTheLevelForTheColourSink) {
  LogLineFormatter f(LogFormat::text);
  spdlog::details::log_msg msg(kWhen, spdlog::source_loc{}, "", spdlog::level::warn, "x");
  spdlog::memory_buf_t buf;
  f.format(msg, buf);
  const std::string line(buf.data(), buf.size());
  EXPECT_EQ(line.substr(msg.color_range_start, msg.color_range_end - msg.color_range_start), "warning");
}

TEST(LogFormat, JournalHasThePriorityPrefixAndNoTimestamp) {
  const std::pair<level_enum, std::string> expected[] = {
      {spdlog::level::trace, "<7>trace"}, {spdlog::level::debug, "<7>debug"},
      {spdlog::level::info, "<6>info"},   {spdlog::level::warn, "<4>warning"},
      {spdlog::level::err, "<3>error"},   {spdlog::level::critical, "<2>critical"}};
  for (const auto& [level, prefix] : expected) {
    EXPECT_EQ(format_one(LogFormat::journal, level, "limit x reached"), prefix + " limit x reached\n");
  }
  EXPECT_EQ(journal_priority(spdlog::level::warn), 4);
  EXPECT_EQ(journal_priority(spdlog::level::critical), 2);
}

TEST(LogFormat, JsonIsOneObjectPerLine) {
  const char* names[] = {"trace", "debug", "info", "warn", "error", "critical"};
  for (size_t i = 0; i < std::size(kLevels); ++i) {
    const std::string line = format_one(LogFormat::json, kLevels[i], "disk 7: \"quoted\" \\ path");
    ASSERT_TRUE(is_one_line(line)) << line;
    auto j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.size(), 3u) << line;  // no "logger" for the unnamed default logger
    EXPECT_EQ(j["ts"], "2026-12-07T23:16:07.123Z");
    EXPECT_EQ(j["level"], names[i]);
    EXPECT_EQ(j["msg"], "disk 7: \"quoted\" \\\\ path");  // the backslash as the text format shows it
  }
  auto named = nlohmann::json::parse(format_one(LogFormat::json, spdlog::level::info, "m", "fleet"));
  EXPECT_EQ(named["logger"], "fleet");
}

TEST(LogFormat, HostileMessagesStayOneValidLineInEveryFormat) {
  using namespace std::string_literals;
  const std::string hostile[] = {
      "\0"s,
      "x\n2026-12-07T23:16:07.123 error forged record"s,
      "\n<2>critical forged"s,
      "\x1b]0;owned\x07\x1b[2J"s,
      "\xff\xfe\xc0\xaf\xe0\x80\xaf\xf8\x88\x80\x80\x80"s,
      "\"}\n{\"ts\":\"x\",\"level\":\"critical\",\"msg\":\"forged\"}"s,
      "\\\\\\\"\\u0000\\n"s,
      "\xc2\x85\xe2\x80\xa9\xe2\x81\xa6"s,
      std::string(300, '\0') + "\r"s,
  };
  for (const std::string& m : hostile) {
    for (LogFormat format : {LogFormat::text, LogFormat::journal, LogFormat::json}) {
      const std::string line = format_one(format, spdlog::level::warn, m);
      EXPECT_TRUE(is_one_line(line)) << log_format_name(format) << ": " << line;
      EXPECT_TRUE(is_clean(line)) << log_format_name(format) << ": " << line;
      if (format == LogFormat::journal) {
        EXPECT_TRUE(line.starts_with("<4>warning ")) << line;
      }
      if (format == LogFormat::json) {
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
        EXPECT_EQ(j.size(), 3u);
        EXPECT_EQ(unescape(j["msg"].get<std::string>()), m);
      } else {
        const std::string body = line.substr(line.find(' ', format == LogFormat::text ? 24 : 0) + 1);
        EXPECT_EQ(unescape(body.substr(0, body.size() - 1)), m) << line;
      }
    }
  }
}

// Random bytes, biased toward the interesting ones: every output is one clean
// line, JSON parses (nlohmann rejects invalid UTF-8), and decoding gives the
// input back. No libFuzzer target: there is no parser here, only an encoder
// whose whole input space this walks.
TEST(LogFormat, RandomBytesRoundTrip) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::string alphabet = std::string("\0\n\r\t\x1b\x7f\\\"{}<>%xu09", 18) + "\xc2\x9b\xe2\x80\xa8\xae\xed\xf4\x8f\xbf\xff\xc0\xe0\xf0";
  for (int round = 0; round < 5000; ++round) {
    std::string m(rng() % 40, '\0');
    for (char& c : m) {
      c = rng() % 2 == 0 ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() & 0xff);
    }
    const std::string text = log_text(m);
    ASSERT_TRUE(is_clean(text)) << text;
    ASSERT_EQ(unescape(text), m) << text;
    const std::string line = format_one(LogFormat::json, spdlog::level::err, m);
    ASSERT_TRUE(is_one_line(line)) << line;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    ASSERT_EQ(j["msg"].get<std::string>(), text);
  }
}

TEST(LogFormat, ThroughALoggerAndSink) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  sink->set_formatter(std::make_unique<LogLineFormatter>(LogFormat::journal));
  spdlog::logger logger("", sink);
  logger.set_level(spdlog::level::info);
  logger.debug("not shown");
  logger.info("login of {} to {}", "iqn.a\nforged", "iqn.b");
  logger.error("e");
  EXPECT_EQ(out.str(), "<6>info login of iqn.a\\nforged to iqn.b\n<3>error e\n");
}

TEST(LogFormat, Names) {
  for (LogFormat f : {LogFormat::text, LogFormat::journal, LogFormat::json}) {
    EXPECT_EQ(parse_log_format(log_format_name(f)), f);
  }
  EXPECT_FALSE(parse_log_format("auto"));
  EXPECT_FALSE(parse_log_format("JSON"));
  EXPECT_EQ(short_level_name(spdlog::level::warn), "warn");
  EXPECT_EQ(short_level_name(spdlog::level::err), "error");
}

}  // namespace
}  // namespace scsipub
