#include "common/log_format.h"

#include <array>
#include <chrono>
#include <ctime>

#include "common/utf8.h"

namespace scsipub {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex_byte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0x0f];
}

// Code points that are well-formed but change how the line is shown: C1
// controls (a terminal may take U+009B as CSI), the Unicode line breaks, and
// the bidirectional controls that reorder what the reader sees.
bool is_disguising(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0x061c || cp == 0x200e ||
         cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void append_code_point_escape(std::string& out, uint32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0x0f];
}

// "2026-12-07T23:16:07.123" in local time (text) or UTC (json).
void append_timestamp(std::string& out, spdlog::log_clock::time_point t, bool utc) {
  using namespace std::chrono;
  const auto since_epoch = t.time_since_epoch();
  const auto secs = duration_cast<seconds>(since_epoch);
  auto ms = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  if (ms < 0) {  // before 1970: floor, not truncate
    ms += 1000;
    --tt;
  }
  std::tm tm{};
  if (utc) {
    ::gmtime_r(&tt, &tm);
  } else {
    ::localtime_r(&tt, &tm);
  }
  std::array<char, 40> buf{};
  size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf.data(), n);
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
}

// JSON string body of text that append_log_text() produced (printable, valid
// UTF-8): only the quote and the backslash need escaping.
void append_json_body(std::string& out, std::string_view safe) {
  for (char c : safe) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::text;
  if (name == "journal") return LogFormat::journal;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

std::string_view log_format_name(LogFormat format) {
  switch (format) {
    case LogFormat::text: return "text";
    case LogFormat::journal: return "journal";
    case LogFormat::json: return "json";
  }
  return "text";
}

int journal_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical: return 2;  // LOG_CRIT
    case spdlog::level::err: return 3;       // LOG_ERR
    case spdlog::level::warn: return 4;      // LOG_WARNING
    case spdlog::level::info: return 6;      // LOG_INFO
    default: return 7;                       // LOG_DEBUG: debug, trace
  }
}

std::string_view short_level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

void append_log_text(std::string& out, std::string_view message) {
  size_t i = 0;
  while (i < message.size()) {
    const auto c = static_cast<unsigned char>(message[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {  // C0 control or DEL
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: append_hex_byte(out, c);
      }
      ++i;
      continue;
    }
    const size_t len = utf8_sequence_length(message, i);
    if (len == 0) {
      append_hex_byte(out, c);
      ++i;
      continue;
    }
    if (uint32_t cp = utf8_decode(message, i, len); is_disguising(cp)) {
      append_code_point_escape(out, cp);
    } else {
      out.append(message.substr(i, len));
    }
    i += len;
  }
}

std::string log_text(std::string_view message) {
  std::string out;
  append_log_text(out, message);
  return out;
}

void LogLineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  std::string& line = line_;
  line.clear();
  size_t color_start = 0, color_end = 0;  // offsets of the level name in `line`
  switch (format_) {
    case LogFormat::text: {
      append_timestamp(line, msg.time, /*utc=*/false);
      line += ' ';
      color_start = line.size();
      const auto& name = spdlog::level::to_string_view(msg.level);
      line.append(name.data(), name.size());
      color_end = line.size();
      line += ' ';
      append_log_text(line, payload);
      break;
    }
    case LogFormat::journal: {
      // journald's stream reader (SyslogLevelPrefix=, on by default) turns a
      // leading "<N>" into PRIORITY=N and strips it; it adds the timestamp.
      line += '<';
      line += static_cast<char>('0' + journal_priority(msg.level));
      line += '>';
      const auto& name = spdlog::level::to_string_view(msg.level);
      line.append(name.data(), name.size());
      line += ' ';
      append_log_text(line, payload);
      break;
    }
    case LogFormat::json: {
      line += R"({"ts":")";
      append_timestamp(line, msg.time, /*utc=*/true);
      line += R"(Z","level":")";
      line += short_level_name(msg.level);
      line += '"';
      std::string& safe = scratch_;
      if (msg.logger_name.size() != 0) {
        line += R"(,"logger":")";
        safe.clear();
        append_log_text(safe, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        append_json_body(line, safe);
        line += '"';
      }
      line += R"(,"msg":")";
      safe.clear();
      append_log_text(safe, payload);
      append_json_body(line, safe);
      line += "\"}";
      break;
    }
  }
  line += '\n';
  const size_t base = dest.size();
  dest.append(line.data(), line.data() + line.size());
  if (color_end != 0) {
    msg.color_range_start = base + color_start;
    msg.color_range_end = base + color_end;
  }
}

std::unique_ptr<spdlog::formatter> LogLineFormatter::clone() const {
  return std::make_unique<LogLineFormatter>(format_);
}

}  // namespace scsipub
