#pragma once
// The three shapes of scsipub's log lines, as an spdlog formatter:
//
//   text     2026-12-07T23:16:07.123 warning MESSAGE   (local time; a terminal or a file)
//   journal  <4>MESSAGE                                (stderr read by systemd-journald)
//   json     {"ts":"2026-12-07T22:16:07.123Z","level":"warn","msg":"MESSAGE"}
//
// Messages carry text a stranger chose (initiator and target names, HTTP
// paths, file names), so every format writes the message through
// append_log_text(): one record is always exactly one line, a peer cannot
// forge a second record or send escape sequences to the operator's terminal,
// and the output is valid UTF-8 (journald stores anything else as a blob).
// docs/LOGGING.md describes the formats for operators.
#include <spdlog/formatter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scsipub {

enum class LogFormat : uint8_t { text, journal, json };

std::optional<LogFormat> parse_log_format(std::string_view name);  // "text", "journal", "json"
std::string_view log_format_name(LogFormat format);

// syslog(3) priority of an spdlog level, as journald's "<N>" prefix wants it:
// critical 2, error 3, warn 4, info 6, debug and trace 7.
int journal_priority(spdlog::level::level_enum level);
// The level as --log-level spells it: trace, debug, info, warn, error, critical.
std::string_view short_level_name(spdlog::level::level_enum level);

// Appends `message` so that it is one line of printable, valid UTF-8, and
// unambiguous (each output decodes to exactly one input):
//   '\\' -> \\        '\n' '\r' '\t' -> \n \r \t
//   other C0 controls, DEL, and each byte that starts no well-formed UTF-8
//     sequence -> \xHH
//   C1 controls (U+0080..U+009F), the line and paragraph separators
//     (U+2028, U+2029) and the bidirectional controls (U+061C, U+200E, U+200F,
//     U+202A..U+202E, U+2066..U+2069) -> \uHHHH
// Everything else (printable ASCII, well-formed UTF-8) is copied.
void append_log_text(std::string& out, std::string_view message);
std::string log_text(std::string_view message);

class LogLineFormatter final : public spdlog::formatter {
 public:
  explicit LogLineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  LogFormat format_;
  // Reused between records (a sink formats under its lock).
  std::string line_;
  std::string scratch_;
};

}  // namespace scsipub
