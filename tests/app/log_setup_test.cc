// Log settings: the [log] table and log_level, validation, and `auto`
// choosing journal only when stderr is the stream JOURNAL_STREAM names.
#include "app/log_setup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/config.h"
#include "common/unique_fd.h"

namespace scsipub::app {
namespace {

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
}

std::string journal_stream_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(LogSetup, JournalStreamMatchesOnlyTheSameDeviceAndInode) {
  const auto file = temp_path("journal-stream");
  const auto other = temp_path("journal-stream-other");
  std::ofstream(file) << "";
  std::ofstream(other) << "";
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  UniqueFd other_fd(::open(other.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid() && other_fd.valid());
  const std::string mine = journal_stream_of(fd.get());
  EXPECT_TRUE(is_journal_stream(fd.get(), mine.c_str()));
  EXPECT_FALSE(is_journal_stream(other_fd.get(), mine.c_str()));
  EXPECT_FALSE(is_journal_stream(fd.get(), nullptr));
  const std::string dev = mine.substr(0, mine.find(':'));
  for (const std::string& bad : {std::string(), std::string(":"), dev, dev + ":", ":" + mine.substr(mine.find(':') + 1),
                                 mine + ":1", " " + mine, mine + " ", "-" + mine, "0x" + mine, mine + "0"}) {
    EXPECT_FALSE(is_journal_stream(fd.get(), bad.c_str())) << "'" << bad << "'";
  }
  EXPECT_EQ(resolve_log_format("auto", fd.get(), mine.c_str()), LogFormat::journal);
  EXPECT_EQ(resolve_log_format("auto", other_fd.get(), mine.c_str()), LogFormat::text);
  EXPECT_EQ(resolve_log_format("auto", fd.get(), nullptr), LogFormat::text);
  // An explicit format wins over the environment.
  EXPECT_EQ(resolve_log_format("json", fd.get(), mine.c_str()), LogFormat::json);
  EXPECT_EQ(resolve_log_format("text", fd.get(), mine.c_str()), LogFormat::text);
  EXPECT_EQ(resolve_log_format("journal", other_fd.get(), nullptr), LogFormat::journal);
  std::filesystem::remove(file);
  std::filesystem::remove(other);
}

TEST(LogSetup, ValidatesLevelAndFormat) {
  for (const char* level : {"trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"}) {
    EXPECT_TRUE(validate_log_settings(level, "auto").ok()) << level;
  }
  for (const char* format : {"auto", "text", "journal", "json"}) EXPECT_TRUE(validate_log_settings("info", format).ok());
  EXPECT_FALSE(validate_log_settings("verbose", "auto").ok());  // spdlog would have read this as "off"
  EXPECT_FALSE(validate_log_settings("", "auto").ok());
  EXPECT_FALSE(validate_log_settings("info", "syslog").ok());
  EXPECT_FALSE(validate_log_settings("info", "").ok());
}

Result<Config> load(const std::string& toml) {
  const auto p = temp_path("log-config.toml");
  std::ofstream(p) << toml;
  Config cfg;
  cfg.data_dir = "/tmp";
  auto s = load_toml(p, cfg);
  std::filesystem::remove(p);
  if (!s) return Unexpected<Error>{s.error()};
  if (auto v = validate(cfg); !v) return Unexpected<Error>{v.error()};
  return cfg;
}

TEST(LogSetup, ConfigurationKeys) {
  auto d = load("");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->log_level, "info");
  EXPECT_EQ(d->log_format, "auto");
  auto a = load("[log]\nlevel = \"debug\"\nformat = \"json\"\n");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->log_level, "debug");
  EXPECT_EQ(a->log_format, "json");
  auto b = load("log_level = \"warn\"\n[log]\nformat = \"journal\"\n");  // the older key still works
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->log_level, "warn");
  EXPECT_EQ(b->log_format, "journal");
  EXPECT_FALSE(load("log_level = \"warn\"\n[log]\nlevel = \"info\"\n").ok());  // two places for one setting
  EXPECT_FALSE(load("[log]\nformat = \"xml\"\n").ok());
  EXPECT_FALSE(load("log_level = \"verbose\"\n").ok());
  EXPECT_FALSE(load("[log]\ndestination = \"syslog\"\n").ok());
}

// The whole path as `scsipub serve` takes it under systemd: stderr is a stream
// JOURNAL_STREAM names, so `auto` writes "<N>" prefixes and no timestamps.
TEST(LogSetup, AutoUnderAFakeJournalStream) {
  const auto file = temp_path("fake-journal");
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  const std::string stream = journal_stream_of(fd.get());
  std::fflush(stderr);
  UniqueFd saved_stderr(::dup(STDERR_FILENO));
  ASSERT_EQ(::dup2(fd.get(), STDERR_FILENO), STDERR_FILENO);
  const auto previous = spdlog::default_logger();
  ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
  setup_logging("info", "auto");
  spdlog::debug("not at info");
  spdlog::info("started");
  spdlog::warn("limit x reached by {}", "198.51.100.7\n<2>critical forged");
  spdlog::error("e");
  ::unsetenv("JOURNAL_STREAM");
  setup_logging("info", "auto");  // not the journal any more: text
  spdlog::warn("plain");
  spdlog::set_default_logger(previous);
  std::fflush(stderr);
  ::dup2(saved_stderr.get(), STDERR_FILENO);
  std::ifstream in(file);
  std::stringstream all;
  all << in.rdbuf();
  std::filesystem::remove(file);
  const std::string text = all.str();
  const std::string journal_part =
      "<6>info started\n<4>warning limit x reached by 198.51.100.7\\n<2>critical forged\n<3>error e\n";
  ASSERT_TRUE(text.starts_with(journal_part)) << text;
  const std::string rest = text.substr(journal_part.size());
  EXPECT_TRUE(rest.ends_with(" warning plain\n")) << rest;
  EXPECT_EQ(rest.size(), std::string("2026-12-07T23:16:07.123 warning plain\n").size()) << rest;
}

}  // namespace
}  // namespace scsipub::app
