#include "app/log_setup.h"

#include <fmt/format.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <span>

namespace scsipub::app {
namespace {

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
constexpr std::string_view kLogFormats[] = {"auto", "text", "journal", "json"};

bool is_one_of(std::string_view value, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), value) != names.end();
}

// spdlog's from_str() maps anything it does not know to "off": a typo in the
// configuration must not silence the log, so names are checked first.
spdlog::level::level_enum level_from_name(std::string_view level) {
  if (level == "warning") return spdlog::level::warn;
  if (level == "err") return spdlog::level::err;
  return spdlog::level::from_str(std::string(level));
}

template <class T>
bool parse_decimal(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 10);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::vector<std::string> log_level_names() {
  return std::vector<std::string>(std::begin(kLogLevels), std::end(kLogLevels));
}
std::vector<std::string> log_format_names() {
  return std::vector<std::string>(std::begin(kLogFormats), std::end(kLogFormats));
}

Status validate_log_settings(std::string_view level, std::string_view format) {
  if (!is_one_of(level, kLogLevels) && level != "warning" && level != "err") {
    return fail(fmt::format("log level '{}' is not one of trace, debug, info, warn, error, critical, off",
                            log_text(level)));
  }
  if (!is_one_of(format, kLogFormats)) {
    return fail(fmt::format("log format '{}' is not one of auto, text, journal, json", log_text(format)));
  }
  return ok_status();
}

bool is_journal_stream(int fd, const char* journal_stream) {
  if (journal_stream == nullptr) return false;
  const std::string_view value(journal_stream);
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  uintmax_t dev = 0, ino = 0;
  if (!parse_decimal(value.substr(0, colon), dev) || !parse_decimal(value.substr(colon + 1), ino)) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<uintmax_t>(st.st_dev) == dev && static_cast<uintmax_t>(st.st_ino) == ino;
}

LogFormat resolve_log_format(std::string_view format_name, int fd, const char* journal_stream) {
  if (auto f = parse_log_format(format_name)) return *f;
  return is_journal_stream(fd, journal_stream) ? LogFormat::journal : LogFormat::text;
}

void setup_logging(std::string_view level, std::string_view format_name) {
  const LogFormat format = resolve_log_format(format_name, STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
  spdlog::sink_ptr sink;
  if (format == LogFormat::text) {
    sink = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>(spdlog::color_mode::automatic);
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  sink->set_formatter(std::make_unique<LogLineFormatter>(format));
  auto logger = std::make_shared<spdlog::logger>("", std::move(sink));
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(level_from_name(level));
}

}  // namespace scsipub::app
