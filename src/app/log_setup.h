#pragma once
// Where scsipub's log goes and in which shape: every record on stderr (stdout
// stays for command output such as `account create --json`), formatted by
// common/log_format.h. `auto` picks journal when systemd connected stderr to
// the journal, text otherwise. docs/LOGGING.md is the operator's view.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log_format.h"
#include "common/result.h"

namespace scsipub::app {

// The spellings the flags accept (for CLI11's IsMember).
std::vector<std::string> log_level_names();   // trace, debug, info, warn, error, critical, off
std::vector<std::string> log_format_names();  // auto, text, journal, json

// Checks a level (also the spellings older configurations used: "warning",
// "err") and a format name.
Status validate_log_settings(std::string_view level, std::string_view format);

// systemd sets JOURNAL_STREAM=DEV:INO (decimal) to the stream it gave the
// service's stdout/stderr when that stream is the journal (systemd.exec(5));
// `fd` writes to the journal when its fstat(2) device and inode match.
// Anything unparsable, or no variable, is "no".
bool is_journal_stream(int fd, const char* journal_stream);

// `format_name` as validated above; `auto` resolves with is_journal_stream().
LogFormat resolve_log_format(std::string_view format_name, int fd, const char* journal_stream);

// Installs the default logger: stderr, the format resolved from the
// environment, and the level. Colours only for text on a terminal.
void setup_logging(std::string_view level, std::string_view format_name);

}  // namespace scsipub::app
