#pragma once
// A side login on its own connection and thread, repeated while a crowd logs
// in: how long the target takes to answer one more initiator (its first
// Login Response, success or refusal) when it is busy.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sessions/session_pool.h"

namespace scsipub::bench {

struct ProbeConfig {
  Endpoint portal;
  Endpoint source;  // len 0: the kernel's choice
  std::string target;
  std::string initiator;
  bool one_round = false;
  std::chrono::milliseconds interval{250};
  std::chrono::milliseconds timeout{10000};
};

struct ProbeSummary {
  size_t attempts = 0;
  size_t answered = 0;     // a Login Response came back within the timeout
  size_t logged_in = 0;    // ... and the login reached Full Feature Phase
  double max_first_ms = 0; // slowest first answer
  double p50_first_ms = 0;
  double max_connect_ms = 0; // slowest TCP connect (part of max_first_ms)
};

class SideProbe {
 public:
  explicit SideProbe(ProbeConfig config);
  ~SideProbe();
  SideProbe(const SideProbe&) = delete;
  SideProbe& operator=(const SideProbe&) = delete;
  // Stops the thread and summarizes.
  ProbeSummary finish();

 private:
  void run();

  ProbeConfig config_;
  std::atomic<bool> stop_{false};
  std::vector<double> first_ms_;
  size_t attempts_ = 0, answered_ = 0, logged_in_ = 0;
  double max_connect_ms_ = 0;
  std::thread thread_;
};

}  // namespace scsipub::bench
