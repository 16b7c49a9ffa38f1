#pragma once
// The budgets of the adversarial tests, measured from outside the server, for the
// adversarial programs (hostile_round2, hostile_fairness):
//   - Report: violations and notes, thread safe;
//   - ProcMonitor: the server's VmRSS / VmSize every 100 ms (peaks) and its
//     open fds (/proc/PID/fd);
//   - SideProbe: during an attack, a fresh connection + login to blank + one
//     NOP-Out, again and again, each answered within a deadline; and a NOP-Out
//     round trip on side connections opened before the attack (one of them
//     shares the attacker's event loop: connections go round robin);
//   - HonestSessions: libiscsi logins to blank doing verified write/read
//     loops; any error or wrong byte is a violation.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "iscsi_client.h"
#include "raw_iscsi.h"

namespace round2 {

using raw::Clock;
using std::chrono::milliseconds;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

inline std::string mib(long kib) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", double(kib) / 1024.0);
  return b;
}

class Report {
 public:
  explicit Report(std::string tag) : tag_(std::move(tag)) {}
  void violation(const std::string& what) {
    std::lock_guard lock(mu_);
    ++violations_;
    std::fprintf(stderr, "VIOLATION: %s\n", what.c_str());
  }
  void note(const std::string& what) {
    std::lock_guard lock(mu_);
    std::fprintf(stderr, "%s: %s\n", tag_.c_str(), what.c_str());
  }
  int violations() const {
    std::lock_guard lock(mu_);
    return violations_;
  }

 private:
  std::string tag_;
  mutable std::mutex mu_;
  int violations_ = 0;
};

// ------------------------------------------------------------ /proc/PID

struct ProcSample {
  long rss_kib = -1;
  long vm_kib = -1;
  long fds = -1;
};

inline ProcSample sample_proc(int pid) {
  ProcSample s;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
    if (line.rfind("VmSize:", 0) == 0) s.vm_kib = std::strtol(line.c_str() + 7, nullptr, 10);
  }
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    long n = 0;
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    s.fds = n;
  }
  return s;
}

// Regular files in `dir` (the free-tier overlays), -1 when unreadable.
inline long count_files(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  long n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

class ProcMonitor {
 public:
  explicit ProcMonitor(int pid) : pid_(pid) {
    th_ = std::thread([this] {
      while (!stop_) {
        ProcSample s = sample_proc(pid_);
        if (s.rss_kib < 0) gone_ = true;
        long p = peak_rss_.load();
        while (s.rss_kib > p && !peak_rss_.compare_exchange_weak(p, s.rss_kib)) {}
        long v = peak_vm_.load();
        while (s.vm_kib > v && !peak_vm_.compare_exchange_weak(v, s.vm_kib)) {}
        std::this_thread::sleep_for(milliseconds(100));
      }
    });
  }
  ~ProcMonitor() {
    stop_ = true;
    th_.join();
  }
  ProcMonitor(const ProcMonitor&) = delete;
  ProcMonitor& operator=(const ProcMonitor&) = delete;

  ProcSample now() const { return sample_proc(pid_); }
  // Starts a new peak window at the current level.
  void reset_peaks() {
    ProcSample s = now();
    peak_rss_ = s.rss_kib;
    peak_vm_ = s.vm_kib;
  }
  long peak_rss() const { return peak_rss_; }
  long peak_vm() const { return peak_vm_; }
  bool gone() const { return gone_; }

 private:
  int pid_;
  std::atomic<bool> stop_{false}, gone_{false};
  std::atomic<long> peak_rss_{0}, peak_vm_{0};
  std::thread th_;
};

// ------------------------------------------------------------ side probes

struct Target {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string blank;  // the blank target's IQN
};

// A fresh connection + login to blank + one TEST UNIT READY and one NOP-Out
// answered; returns the milliseconds it took, or -1 with *why.
inline double side_login_ms(const Target& t, int timeout_ms, uint16_t isid_q, std::string* why) {
  const auto t0 = Clock::now();
  raw::Session s;
  raw::LoginSpec spec;
  spec.host = t.host;
  spec.port = t.port;
  spec.target = t.blank;
  spec.initiator = "iqn.2025-01.test.round2:side";
  spec.isid_q = isid_q;
  spec.timeout_ms = timeout_ms;
  if (raw::LoginResult r = raw::login(s, spec, why); r != raw::LoginResult::ok) {
    *why = std::string("login ") + raw::name(r) + " (" + *why + ")";
    return -1;
  }
  const auto deadline = t0 + milliseconds(timeout_ms);
  raw::Bhs tur = raw::test_unit_ready(s, 0);
  if (!s.c.send_pdu(tur) || !s.c.send_pdu(raw::nop_out(s, 0x77))) {
    *why = "send failed after login";
    return -1;
  }
  bool tur_done = false, nop_done = false;
  while (!(tur_done && nop_done)) {
    raw::Pdu p;
    if (s.c.recv_pdu(p, deadline) != raw::Recv::pdu) {
      *why = "no answer to TEST UNIT READY / NOP-Out";
      return -1;
    }
    if (p.bhs.opcode() == raw::Opcode::scsi_response && p.bhs.itt() == tur.itt()) tur_done = true;
    if (p.bhs.opcode() == raw::Opcode::nop_in && p.bhs.itt() == 0x77) nop_done = true;
  }
  return ms_since(t0);
}

// Side connections logged in before an attack, pinged during it.
struct HeldSide {
  raw::Session s;
  uint32_t next_itt = 0x5000;
};

// NOP-Out round trip in ms on a held connection, -1 when unanswered.
inline double ping_ms(HeldSide& h, int timeout_ms) {
  const auto t0 = Clock::now();
  const uint32_t itt = h.next_itt++;
  if (!h.s.c.send_pdu(raw::nop_out(h.s, itt))) return -1;
  const auto deadline = t0 + milliseconds(timeout_ms);
  for (int i = 0; i < 64; ++i) {
    raw::Pdu p;
    if (h.s.c.recv_pdu(p, deadline) != raw::Recv::pdu) return -1;
    if (p.bhs.opcode() == raw::Opcode::nop_in && p.bhs.itt() == itt) return ms_since(t0);
    if (p.bhs.opcode() == raw::Opcode::nop_in && p.bhs.itt() == raw::kReservedTag) {
      raw::NopOutHeader b = raw::nop_out(h.s, raw::kReservedTag);  // the target's own ping (11.18)
      b.set_ttt(raw::NopInHeader(p.bhs).ttt());
      h.s.c.send_pdu(b);
    }
  }
  return -1;
}

// Runs side logins and pings on the held connections every `period` until
// stopped; keeps the worst figures. Each probe waits at most `timeout_ms`
// (longer than the 1 s budget, so a slow answer is measured, not just failed).
class SideProbe {
 public:
  SideProbe(const Target& t, std::vector<std::unique_ptr<HeldSide>>& held, int timeout_ms = 5000,
            milliseconds period = milliseconds(250))
      : target_(t), held_(held), timeout_ms_(timeout_ms), period_(period) {
    th_ = std::thread([this] { run(); });
  }
  ~SideProbe() { stop(); }
  SideProbe(const SideProbe&) = delete;
  SideProbe& operator=(const SideProbe&) = delete;

  void stop() {
    stop_ = true;
    if (th_.joinable()) th_.join();
  }
  int logins() const { return logins_; }
  double worst_login_ms() const { return worst_login_; }  // -1 if one failed
  std::string login_failure() const { return failure_; }
  int pings() const { return pings_; }
  double worst_ping_ms() const { return worst_ping_; }  // -1 if one went unanswered

 private:
  void run() {
    uint16_t q = 0x6000;
    while (!stop_) {
      const auto t0 = Clock::now();
      std::string why;
      double ms = side_login_ms(target_, timeout_ms_, q++, &why);
      ++logins_;
      if (ms < 0) {
        worst_login_ = -1;
        if (failure_.empty()) failure_ = why;
      } else if (worst_login_ >= 0) {
        worst_login_ = std::max(worst_login_.load(), ms);
      }
      for (auto& h : held_) {
        if (h->s.c.fd() < 0) continue;
        double p = ping_ms(*h, timeout_ms_);
        ++pings_;
        if (p < 0) {
          worst_ping_ = -1;
          h->s.c.close();  // its stream is out of step now
        } else if (worst_ping_ >= 0) {
          worst_ping_ = std::max(worst_ping_.load(), p);
        }
      }
      while (!stop_ && Clock::now() - t0 < period_) std::this_thread::sleep_for(milliseconds(10));
    }
  }

  Target target_;
  std::vector<std::unique_ptr<HeldSide>>& held_;
  int timeout_ms_;
  milliseconds period_;
  std::atomic<bool> stop_{false};
  std::atomic<int> logins_{0}, pings_{0};
  std::atomic<double> worst_login_{0}, worst_ping_{0};
  std::string failure_;  // written by the probe thread, read after stop()
  std::thread th_;
};

// ------------------------------------------------------- honest sessions

class HonestSessions {
 public:
  // n libiscsi logins to `url` (a blank target: each its own disk).
  HonestSessions(std::string url, int n) : url_(std::move(url)) {
    for (int i = 0; i < n; ++i) {
      auto h = std::make_unique<One>();
      h->index = i;
      ones_.push_back(std::move(h));
    }
    for (auto& h : ones_) threads_.emplace_back([this, p = h.get()] { loop(p); });
  }
  ~HonestSessions() { stop(nullptr); }
  HonestSessions(const HonestSessions&) = delete;
  HonestSessions& operator=(const HonestSessions&) = delete;

  bool wait_ready(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    for (auto& h : ones_)
      while (!h->ready && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
    return std::all_of(ones_.begin(), ones_.end(), [](const auto& h) { return h->ready.load(); });
  }
  long ops() const {
    long n = 0;
    for (auto& h : ones_) n += h->ops;
    return n;
  }
  // Stops the loops; every error becomes a violation.
  void stop(Report* report) {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    if (report == nullptr) return;
    for (auto& h : ones_)
      if (!h->error.empty()) report->violation("honest session " + std::to_string(h->index) + ": " + h->error);
  }

 private:
  struct One {
    int index = 0;
    std::atomic<bool> ready{false};
    std::atomic<long> ops{0};
    std::string error;  // written by its thread only, read after join
  };

  void loop(One* h) {
    std::string err;
    auto s = integ::Session::login(url_, "iqn.2025-01.test.round2:honest" + std::to_string(h->index),
                                   uint32_t(300 + h->index), &err);
    if (!s) {
      h->error = err;
      h->ready = true;
      return;
    }
    const uint64_t region = std::min<uint64_t>(8192, s->blocks() / 2);
    std::vector<uint8_t> got;
    for (uint64_t lba = 0; lba < region; lba += 2048) {  // a fresh disk reads zeros
      if (!s->read(lba, 2048, got, &err)) {
        h->error = "first read: " + err;
        h->ready = true;
        return;
      }
      if (std::any_of(got.begin(), got.end(), [](uint8_t b) { return b != 0; })) {
        h->error = "first read of a fresh disk is not zero near lba " + std::to_string(lba);
        h->ready = true;
        return;
      }
    }
    h->ready = true;
    std::mt19937_64 rng(7 + uint64_t(h->index));
    for (long i = 0; !stop_ || i < 5; ++i) {
      const uint32_t n = uint32_t(1 + rng() % 64);
      const uint64_t lba = rng() % (region - n);
      std::vector<uint8_t> buf(size_t(n) * s->block_size());
      integ::fill_pattern(buf, uint64_t(i) + 11 + uint64_t(h->index) * 1000003, lba, s->block_size());
      if (!s->write(lba, buf, &err) || !s->read(lba, n, got, &err)) {
        h->error = "op " + std::to_string(i) + ": " + err;
        return;
      }
      if (long d = integ::first_diff(got, buf); d >= 0) {
        h->error = "op " + std::to_string(i) + ": wrong byte at lba " + std::to_string(lba) + " offset " +
                   std::to_string(d);
        return;
      }
      h->ops++;
    }
    if (!s->logout(&err)) h->error = err;
  }

  std::string url_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<One>> ones_;
  std::vector<std::thread> threads_;
};

}  // namespace round2
