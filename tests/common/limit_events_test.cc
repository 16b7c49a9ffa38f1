// LimitEvents: every hit counted, one warning per limit per interval carrying
// the number of hits it did not log.
#include "common/limit_events.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

namespace scsipub {
namespace {

using namespace std::chrono_literals;

// Routes the default logger into a ring buffer for one test.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)) {
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("captured", sink_);
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> lines() { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(LimitEvents, EveryHitCountsButOneLinePerIntervalIsLogged) {
  CapturedLog log;
  LimitEvents events(60s);
  auto t0 = LimitEvents::Clock::time_point(1000s);
  events.hit(Limit::connections_per_ip, "198.51.100.7", "", t0);
  events.hit(Limit::connections_per_ip, "198.51.100.7", "", t0 + 1s);
  events.hit(Limit::connections_per_ip, "198.51.100.9", "", t0 + 59s);
  EXPECT_EQ(events.count(Limit::connections_per_ip), 3u);
  EXPECT_EQ(events.count(Limit::sessions_total), 0u);
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("connections_per_ip"), std::string::npos);
  EXPECT_NE(lines[0].find("198.51.100.7"), std::string::npos);

  events.hit(Limit::connections_per_ip, "198.51.100.9", "", t0 + 60s);
  lines = log.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("2 more"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("total 4"), std::string::npos) << lines[1];
}

TEST(LimitEvents, LimitsAreThrottledIndependently) {
  CapturedLog log;
  LimitEvents events(60s);
  auto t0 = LimitEvents::Clock::time_point(1000s);
  events.hit(Limit::login_timeout, "a", "", t0);
  events.hit(Limit::nop_timeout, "a", "", t0);
  events.hit(Limit::login_timeout, "a", "", t0);
  EXPECT_EQ(log.lines().size(), 2u);
}

TEST(LimitEvents, ConcurrentHitsAreAllCounted) {
  CapturedLog log;
  LimitEvents events(3600s);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) events.hit(Limit::command_window, "x");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(events.count(Limit::command_window), 40000u);
  EXPECT_EQ(log.lines().size(), 1u);
}

TEST(LimitEvents, EveryLimitHasANameAndHelp) {
  for (size_t i = 0; i < LimitEvents::kCount; ++i) {
    auto l = static_cast<Limit>(i);
    EXPECT_FALSE(LimitEvents::name(l).empty());
    EXPECT_FALSE(LimitEvents::help(l).empty());
  }
}

}  // namespace
}  // namespace scsipub
