// scsipub-sessions soak: many sessions with verified I/O and churn, for minutes or hours.
//
//   scsipub-sessions soak --portal HOST:PORT [--sessions N] [--seconds S] [--sources A-B]
//       [--blank-target IQN] [--blank-blocks N] [--image-target IQN --image-blocks N]
//       [--io-per-s R] [--churn-per-s R] [--drop-fraction F] [--abandon-fraction F] [--retain-seconds S]
//       [--target-pid PID --overlays-dir DIR] [--sample-seconds S] [--warmup-seconds S]
//       [--rss-tolerance-pct P] [--settle-limit-seconds S] [--in-flight K]
//
// Logs N sessions in (K logins at a time; even slots to the blank disk, odd
// ones to the pattern image when one is given), then for S seconds runs
// verified 4 KiB reads and writes at R per second in total and churn (logouts
// followed by a new initiator's login; drops without Logout followed by a
// reinstating login, or by none: abandoned), see soak_driver.h. Every --sample-seconds it prints
//
//   SAMPLE t_s=.. rss_kb=.. fds=.. overlays=.. live=.. writes=.. reads=.. verify_errors=.. ...
//
// then logs every session out, waits for the target's fds and overlay files
// to come back to what they were before the first login (the retain period
// must pass for dropped sessions), and prints one line
//
//   RESULT pass=0|1 failed_checks=a,b ... (every counter and measurement)
//
// Pass: no verification or I/O error, no login given up on, no session the
// target ended by itself, fds and overlay files back to the start (plus the one
// descriptor the target keeps per catalog image it served), and RSS
// flat: after the warm-up the run is cut into thirds by time, and the last
// third's highest RSS may exceed the first third's by at most
// --rss-tolerance-pct percent.
#include "sessions/soak_main.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sessions/addresses.h"
#include "sessions/proc_sample.h"
#include "sessions/session_pool.h"
#include "sessions/soak_driver.h"

namespace scsipub::bench {

namespace {

using Seconds = std::chrono::duration<double>;

struct SoakOptions {
  std::string portal;
  std::string sources;
  std::string blank_target = "iqn.2025-01.pub.scsipub:blank";
  std::string image_target;
  std::string overlays_dir;
  std::string initiator_prefix = "iqn.2026-12.pub.scsipub.soak";
  uint64_t blank_blocks = 16384;  // the 64 MiB scratch disk
  uint64_t image_blocks = 0;
  size_t sessions = 200;
  size_t in_flight = 32;
  double seconds = 60;
  double io_per_s = 200;
  double churn_per_s = 2;
  double drop_fraction = 0.3;
  double abandon_fraction = 0.3;
  double retain_s = 20;
  double sample_s = 10;
  double warmup_s = -1;  // default: a fifth of the run
  double rss_tolerance_pct = 10;
  double settle_limit_s = 30;
  pid_t target_pid = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "scsipub-sessions soak: %s (see the header of bench/sessions/soak_main.cc)\n", why.c_str());
  std::exit(2);
}

SoakOptions parse(int argc, char** argv) {
  SoakOptions o;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) usage("missing value for " + a);
        return argv[++i];
      };
      if (a == "--portal") o.portal = value();
      else if (a == "--sources") o.sources = value();
      else if (a == "--blank-target") o.blank_target = value();
      else if (a == "--image-target") o.image_target = value();
      else if (a == "--overlays-dir") o.overlays_dir = value();
      else if (a == "--initiator-prefix") o.initiator_prefix = value();
      else if (a == "--blank-blocks") o.blank_blocks = std::stoull(value());
      else if (a == "--image-blocks") o.image_blocks = std::stoull(value());
      else if (a == "--sessions") o.sessions = std::stoul(value());
      else if (a == "--in-flight") o.in_flight = std::stoul(value());
      else if (a == "--seconds") o.seconds = std::stod(value());
      else if (a == "--io-per-s") o.io_per_s = std::stod(value());
      else if (a == "--churn-per-s") o.churn_per_s = std::stod(value());
      else if (a == "--drop-fraction") o.drop_fraction = std::stod(value());
      else if (a == "--abandon-fraction") o.abandon_fraction = std::stod(value());
      else if (a == "--retain-seconds") o.retain_s = std::stod(value());
      else if (a == "--sample-seconds") o.sample_s = std::stod(value());
      else if (a == "--warmup-seconds") o.warmup_s = std::stod(value());
      else if (a == "--rss-tolerance-pct") o.rss_tolerance_pct = std::stod(value());
      else if (a == "--settle-limit-seconds") o.settle_limit_s = std::stod(value());
      else if (a == "--target-pid") o.target_pid = pid_t(std::stol(value()));
      else usage("unknown argument " + a);
    }
  } catch (const std::logic_error&) {
    usage("a value is not a number");
  }
  if (o.portal.empty()) usage("--portal is required");
  if (o.sessions == 0 || o.sessions > 65535) usage("--sessions must be within 1..65535");
  if (o.in_flight == 0) usage("--in-flight must be at least 1");
  if (o.blank_blocks == 0 || o.blank_blocks > (1u << 28)) usage("--blank-blocks must be within 1..2^28");
  if (!o.image_target.empty() && (o.image_blocks == 0 || o.image_blocks > (1u << 28)))
    usage("--image-target needs --image-blocks within 1..2^28");
  if (!(o.seconds > 0) || !(o.sample_s > 0) || o.io_per_s < 0 || o.churn_per_s < 0 || o.retain_s < 0)
    usage("durations and rates must be positive");
  if (o.drop_fraction < 0 || o.drop_fraction > 1 || o.abandon_fraction < 0 || o.abandon_fraction > 1)
    usage("--drop-fraction and --abandon-fraction must be within 0..1");
  if (o.warmup_s < 0) o.warmup_s = o.seconds / 5;
  if (o.warmup_s >= o.seconds) usage("--warmup-seconds must be shorter than --seconds");
  return o;
}

// Files in the overlays directory (not recursive, dot files aside), or -1.
long count_overlays(const std::string& dir) {
  if (dir.empty()) return -1;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  long n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

double own_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Sample {
  double t_s = 0;  // since the run started (all sessions in)
  std::optional<ProcSample> proc;
  long overlays = -1;
};

std::string proc_field(const std::optional<ProcSample>& p, uint64_t ProcSample::*field) {
  return p ? std::to_string((*p).*field) : "NA";
}

void print_sample(const Sample& s, const SessionPool& pool, const SoakDriver& driver) {
  const auto& c = driver.counters();
  const auto& pc = pool.counters();
  std::printf(
      "SAMPLE t_s=%.0f rss_kb=%s fds=%s overlays=%ld live=%zu writes=%llu reads=%llu verify_errors=%llu "
      "io_errors=%llu logins=%llu churn_logouts=%llu churn_drops=%llu churn_abandons=%llu reinstated=%llu reinstated_late=%llu "
      "lost=%llu failed=%llu busy=%llu\n",
      s.t_s, proc_field(s.proc, &ProcSample::rss_kb).c_str(), proc_field(s.proc, &ProcSample::fds).c_str(), s.overlays,
      pool.logged_in(), static_cast<unsigned long long>(c.writes), static_cast<unsigned long long>(c.reads),
      static_cast<unsigned long long>(c.verify_errors), static_cast<unsigned long long>(c.io_errors),
      static_cast<unsigned long long>(pc.logins), static_cast<unsigned long long>(c.churn_logouts),
      static_cast<unsigned long long>(c.churn_drops), static_cast<unsigned long long>(c.churn_abandons),
      static_cast<unsigned long long>(c.reinstated), static_cast<unsigned long long>(c.reinstated_late),
      static_cast<unsigned long long>(c.lost), static_cast<unsigned long long>(pc.failed), static_cast<unsigned long long>(pc.busy));
  std::fflush(stdout);
}

// Highest RSS over samples with t in [from, to); 0 when none.
uint64_t max_rss(const std::vector<Sample>& samples, double from, double to) {
  uint64_t m = 0;
  for (const auto& s : samples) {
    if (s.proc && s.t_s >= from && s.t_s < to) m = std::max(m, s.proc->rss_kb);
  }
  return m;
}

}  // namespace

int run_soak(int argc, char** argv) {
  const SoakOptions o = parse(argc, argv);
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);

  SoakConfig sc;
  sc.targets.push_back({o.blank_target, BaseContent::zeros, o.blank_blocks});
  if (!o.image_target.empty()) sc.targets.push_back({o.image_target, BaseContent::lba_pattern, o.image_blocks});
  sc.initiator_prefix = o.initiator_prefix;
  sc.io_per_s = o.io_per_s;
  sc.churn_per_s = o.churn_per_s;
  sc.drop_fraction = o.drop_fraction;
  sc.abandon_fraction = o.abandon_fraction;
  sc.retain = std::chrono::duration_cast<Clock::duration>(Seconds(o.retain_s));
  SoakDriver driver(sc, o.sessions);

  PoolConfig pc;
  try {
    pc.portal = parse_portal(o.portal);
    pc.sources = parse_sources(o.sources);
  } catch (const std::invalid_argument& e) {
    usage(e.what());
  }
  pc.initiator_prefix = o.initiator_prefix;
  pc.sessions = o.sessions;
  pc.in_flight = o.in_flight;
  pc.listener = &driver;
  SessionPool pool(pc);
  driver.attach(pool);

  auto sample_now = [&](double t_s) {
    return Sample{t_s, o.target_pid != 0 ? sample_process(o.target_pid) : std::nullopt, count_overlays(o.overlays_dir)};
  };
  auto until = [](double s) { return Clock::now() + std::chrono::duration_cast<Clock::duration>(Seconds(s)); };

  // Before the first login: what the target holds with no session at all.
  const Sample base = sample_now(0);
  const double own_cpu0 = own_cpu_s();

  // Everyone in first (churn would keep the count from ever reaching N).
  const auto t_login = Clock::now();
  pool.start_logins();
  pool.run_until([&] { return pool.logged_in() == o.sessions || pool.pending() == 0; }, until(120));
  const double login_s = Seconds(Clock::now() - t_login).count();
  std::printf("held %zu login_s=%.1f\n", pool.logged_in(), login_s);
  std::fflush(stdout);

  // The run: I/O and churn, sampled.
  std::vector<Sample> samples;
  const auto t0 = Clock::now();
  const auto run_start = sample_now(0);
  auto next_sample = t0;
  const auto end = until(o.seconds);
  while (!pool.interrupted() && Clock::now() < end) {
    if (Clock::now() >= next_sample) {
      samples.push_back(sample_now(Seconds(Clock::now() - t0).count()));
      print_sample(samples.back(), pool, driver);
      next_sample += std::chrono::duration_cast<Clock::duration>(Seconds(o.sample_s));
    }
    pool.run_until(
        [&] {
          driver.tick(Clock::now());
          return false;
        },
        std::min(next_sample, end));
  }
  const double run_s = Seconds(Clock::now() - t0).count();
  const auto run_end = sample_now(run_s);
  samples.push_back(run_end);
  print_sample(run_end, pool, driver);

  // Wind down: finish the commands in flight, log everyone out.
  driver.stop();
  pool.run_until([&] { return driver.commands_in_flight() == 0; }, until(30));
  const size_t stuck_commands = driver.commands_in_flight();
  pool.logout_all(until(60));

  // Dropped sessions' disks go after the retain period; then the target
  // should hold what it held before the first login.
  const auto s0 = Clock::now();
  Sample settled = sample_now(run_s);
  const auto settle_deadline = until(o.retain_s + o.settle_limit_s);
  // The target keeps a catalog image's file open once it served it (one
  // descriptor per image, shared by its sessions), so that one may stay.
  const uint64_t image_fds = o.image_target.empty() ? 0 : 1;
  auto back_to_base = [&](const Sample& s) {
    const bool fds_ok = !s.proc || !base.proc || s.proc->fds <= base.proc->fds + image_fds;
    return fds_ok && s.overlays <= base.overlays;
  };
  while (!back_to_base(settled) && Clock::now() < settle_deadline) {
    ::usleep(250000);
    settled = sample_now(run_s);
  }
  const double settle_s = Seconds(Clock::now() - s0).count();
  const double own_cpu_s_used = own_cpu_s() - own_cpu0;

  // RSS flat after the warm-up: thirds of the rest of the run, by time.
  const double third = (run_s - o.warmup_s) / 3;
  const uint64_t first_third = max_rss(samples, o.warmup_s, o.warmup_s + third);
  const uint64_t last_third = max_rss(samples, o.warmup_s + 2 * third, run_s + 1);
  // A run too short for a sample in each third says nothing (rss_flat=NA).
  const bool rss_known = first_third > 0 && last_third > 0;
  const bool rss_flat = !rss_known || double(last_third) <= double(first_third) * (1 + o.rss_tolerance_pct / 100);

  const auto& c = driver.counters();
  const auto& p = pool.counters();
  std::vector<std::string> failed;
  if (c.verify_errors != 0) failed.push_back("verify_errors");
  if (c.io_errors != 0) failed.push_back("io_errors");
  if (stuck_commands != 0) failed.push_back("stuck_commands");
  if (p.failed != 0) failed.push_back("failed_logins");
  if (c.lost != 0) failed.push_back("lost_sessions");
  if (p.logins < o.sessions) failed.push_back("not_all_logged_in");
  if (c.writes == 0 || c.reads == 0) failed.push_back("no_io");
  if (!back_to_base(settled)) failed.push_back("not_back_to_base");
  if (!rss_flat) failed.push_back("rss_growth");
  std::string failed_list;
  for (const auto& f : failed) failed_list += (failed_list.empty() ? "" : ",") + f;
  const double target_cpu_pct = run_start.proc && run_end.proc && run_s > 0
                                    ? (run_end.proc->cpu_s - run_start.proc->cpu_s) * 100 / run_s
                                    : -1;
  std::printf(
      "RESULT pass=%d failed_checks=%s sessions=%zu seconds=%.0f login_s=%.1f logins=%llu writes=%llu reads=%llu "
      "ios_per_s=%.1f verify_errors=%llu io_errors=%llu unit_attentions=%llu stuck_commands=%zu churn_logouts=%llu "
      "churn_drops=%llu churn_abandons=%llu reinstated=%llu reinstated_late=%llu lost=%llu failed=%llu busy=%llu retried=%llu "
      "rss_flat=%s rss_kb_base=%s rss_kb_first_third_max=%llu rss_kb_last_third_max=%llu rss_tolerance_pct=%.0f "
      "fds_base=%s fds_end=%s overlays_base=%ld overlays_end=%ld overlays_peak=%ld settle_s=%.1f "
      "target_cpu_pct=%.1f soak_cpu_pct=%.1f\n",
      failed.empty() ? 1 : 0, failed.empty() ? "none" : failed_list.c_str(), o.sessions, run_s, login_s,
      static_cast<unsigned long long>(p.logins), static_cast<unsigned long long>(c.writes),
      static_cast<unsigned long long>(c.reads), run_s > 0 ? double(c.writes + c.reads) / run_s : 0.0,
      static_cast<unsigned long long>(c.verify_errors), static_cast<unsigned long long>(c.io_errors),
      static_cast<unsigned long long>(c.unit_attentions), stuck_commands,
      static_cast<unsigned long long>(c.churn_logouts), static_cast<unsigned long long>(c.churn_drops),
      static_cast<unsigned long long>(c.churn_abandons), static_cast<unsigned long long>(c.reinstated),
      static_cast<unsigned long long>(c.reinstated_late), static_cast<unsigned long long>(c.lost),
      static_cast<unsigned long long>(p.failed),
      static_cast<unsigned long long>(p.busy), static_cast<unsigned long long>(p.retried),
      rss_known ? (rss_flat ? "1" : "0") : "NA", proc_field(base.proc, &ProcSample::rss_kb).c_str(),
      static_cast<unsigned long long>(first_third),
      static_cast<unsigned long long>(last_third), o.rss_tolerance_pct, proc_field(base.proc, &ProcSample::fds).c_str(),
      proc_field(settled.proc, &ProcSample::fds).c_str(), base.overlays, settled.overlays,
      std::max_element(samples.begin(), samples.end(),
                       [](const Sample& a, const Sample& b) { return a.overlays < b.overlays; })
          ->overlays,
      settle_s, target_cpu_pct, (own_cpu_s_used) * 100 / std::max(1.0, login_s + run_s + settle_s));
  return failed.empty() ? 0 : 1;
}

}  // namespace scsipub::bench
