// scsipub-sessions: a load generator for logins and idle sessions.
// (`scsipub-sessions soak ...` runs a soak instead: bench/sessions/soak_main.cc.)
//
//   scsipub-sessions --portal HOST:PORT --target IQN [--sessions N] [--in-flight K]
//       [--sources 127.0.0.1-127.0.0.8] [--hold SECONDS] [--target-pid PID]
//       [--one-round] [--reconnect] [--probe-source ADDR] [--settle SECONDS]
//       [--initiator-prefix IQN] [--login-timeout-ms MS] [--give-up-seconds S]
//       [--backoff-ms MIN-MAX]   (retry delay: MIN doubling up to MAX, jittered; default 250-2000)
//       [--chap-user USER (--chap-secret S | --chap-secret-file F)]
//       [--targets-file F]      (instead of --target: one "IQN [CHAP_USER CHAP_SECRET]" per line)
//
// With --chap-user, every session logs in with one-way CHAP (RFC 7143
// 12.1.3, MD5) instead of AuthMethod=None: the provisioned disks require it.
// A --targets-file spreads the sessions over several targets (session i on
// line i mod lines), e.g. over disks whose tier caps the sessions per disk;
// each line may carry that target's own CHAP user and secret.
//
// Logs N sessions in with at most K logins in flight, each connection bound
// to the next source address (each 127.0.0.x has its own ~28 000 ephemeral
// ports), prints "held N", holds them for SECONDS answering NOP-In pings,
// logs them out and prints one machine-readable line:
//
//   RESULT sessions=.. logged_in=.. logins_per_s=.. cpu_ms_per_login=..
//          rss_kb_per_session=.. fds_per_session=.. idle_cpu_pct=.. failed=.. retried=.. busy=..
//          unanswered=.. timeouts=.. probe_max_ms=.. (and more)
//
// With --target-pid, the target's VmRSS, open fds and CPU time are sampled
// from /proc before the logins, after them, over the hold and after logout.
// With --reconnect, a session whose connection drops (server restart) logs in
// again with backoff, and "EVENT down ..." / "EVENT all_back t_ms=.." lines
// (wall clock, ms) say when the crowd went and came back. SIGINT/SIGTERM end
// the hold early (logout still happens). --probe-source runs a side login
// every 250 ms from that address while the crowd logs in and reports how fast
// it was answered.
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sessions/addresses.h"
#include "sessions/proc_sample.h"
#include "sessions/session_pool.h"
#include "sessions/side_probe.h"
#include "sessions/soak_main.h"

namespace {

using namespace scsipub::bench;
using Seconds = std::chrono::duration<double>;

struct Options {
  std::string portal;
  std::string target;
  std::string targets_file;
  std::string chap_user;
  std::string chap_secret;
  std::string sources;
  std::string probe_source;
  std::string initiator_prefix = "iqn.2026-12.pub.scsipub.bench:s";
  size_t sessions = 1000;
  size_t in_flight = 1;
  double hold_s = 0;
  double settle_s = 2;
  double give_up_s = 120;
  long login_timeout_ms = 15000;
  long backoff_min_ms = 250;
  long backoff_max_ms = 2000;
  pid_t target_pid = 0;
  bool one_round = false;
  bool reconnect = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "scsipub-sessions: %s (see the header of bench/sessions/main.cc)\n", why);
  std::exit(2);
}

// Small text files only: a secret or a list of targets is a few KiB at most.
constexpr std::streamsize kMaxInputFile = 4 << 20;

std::string read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage(("cannot read " + path).c_str());
  std::string text(size_t(kMaxInputFile) + 1, '\0');
  in.read(text.data(), kMaxInputFile + 1);
  if (in.gcount() > kMaxInputFile) usage((path + " is too large").c_str());
  text.resize(size_t(in.gcount()));
  return text;
}

// The first line of the file, without its line end.
std::string read_secret_file(const std::string& path) {
  std::string text = read_small_file(path);
  text.resize(std::min(text.find_first_of("\r\n"), text.size()));
  return text;
}

// "IQN [CHAP_USER CHAP_SECRET]" per line; blank lines and # comments skipped.
std::vector<TargetLogin> read_targets_file(const std::string& path) {
  std::istringstream lines(read_small_file(path));
  std::vector<TargetLogin> targets;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string name, user, secret, extra;
    if (!(words >> name) || name[0] == '#') continue;
    words >> user >> secret;
    if (words >> extra || user.empty() != secret.empty()) usage(("bad line in " + path + ": " + line).c_str());
    TargetLogin t{name, std::nullopt};
    if (!user.empty()) t.chap = ChapSecret{user, secret};
    if (t.chap && !valid_chap_secret(*t.chap)) usage(("bad CHAP user or secret in " + path).c_str());
    targets.push_back(std::move(t));
    if (targets.size() > 65535) usage((path + " lists more targets than sessions can use").c_str());
  }
  if (targets.empty()) usage((path + " lists no target").c_str());
  return targets;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--portal") o.portal = value();
    else if (a == "--target") o.target = value();
    else if (a == "--targets-file") o.targets_file = value();
    else if (a == "--chap-user") o.chap_user = value();
    else if (a == "--chap-secret") o.chap_secret = value();
    else if (a == "--chap-secret-file") o.chap_secret = read_secret_file(value());
    else if (a == "--sessions") o.sessions = std::stoul(value());
    else if (a == "--in-flight") o.in_flight = std::stoul(value());
    else if (a == "--sources") o.sources = value();
    else if (a == "--hold") o.hold_s = std::stod(value());
    else if (a == "--settle") o.settle_s = std::stod(value());
    else if (a == "--give-up-seconds") o.give_up_s = std::stod(value());
    else if (a == "--login-timeout-ms") o.login_timeout_ms = std::stol(value());
    else if (a == "--target-pid") o.target_pid = pid_t(std::stol(value()));
    else if (a == "--initiator-prefix") o.initiator_prefix = value();
    else if (a == "--probe-source") o.probe_source = value();
    else if (a == "--backoff-ms") {
      std::string v = value();
      auto dash = v.find('-');
      if (dash == std::string::npos) usage("--backoff-ms wants MIN-MAX");
      o.backoff_min_ms = std::stol(v.substr(0, dash));
      o.backoff_max_ms = std::stol(v.substr(dash + 1));
      if (o.backoff_min_ms < 1 || o.backoff_max_ms < o.backoff_min_ms) usage("bad --backoff-ms");
    }
    else if (a == "--one-round") o.one_round = true;
    else if (a == "--reconnect") o.reconnect = true;
    else usage(("unknown argument " + a).c_str());
  }
  if (o.portal.empty() || o.target.empty() == o.targets_file.empty()) {
    usage("--portal and one of --target and --targets-file are required");
  }
  if (o.chap_user.empty() != o.chap_secret.empty()) usage("--chap-user wants --chap-secret or --chap-secret-file");
  if (o.sessions == 0 || o.sessions > 65535) usage("--sessions must be within 1..65535");
  if (o.in_flight == 0) usage("--in-flight must be at least 1");
  return o;
}

// Every session is a socket: take the whole hard limit.
void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<ProcSample> sample(pid_t pid) {
  if (pid == 0) return std::nullopt;
  return sample_process(pid);
}

std::string per_session(const std::optional<ProcSample>& before, const std::optional<ProcSample>& after,
                        uint64_t ProcSample::*field, size_t sessions, int decimals) {
  if (!before || !after || sessions == 0) return "NA";
  return fmt::format("{:.{}f}", (double((*after).*field) - double((*before).*field)) / double(sessions), decimals);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "soak") == 0) return run_soak(argc - 1, argv + 1);
  Options o = parse(argc, argv);
  // Signals go to the pool's signalfd, never to a default handler of a thread.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  raise_fd_limit();

  PoolConfig pc;
  try {
    pc.portal = parse_portal(o.portal);
    pc.sources = parse_sources(o.sources);
  } catch (const std::invalid_argument& e) {
    usage(e.what());
  }
  if (!o.targets_file.empty()) {
    pc.targets = read_targets_file(o.targets_file);
  } else {
    TargetLogin t{o.target, std::nullopt};
    if (!o.chap_user.empty()) t.chap = ChapSecret{o.chap_user, o.chap_secret};
    pc.targets.push_back(std::move(t));
  }
  for (auto& t : pc.targets) {
    // --chap-user applies to the lines of --targets-file that name no user of their own.
    if (!t.chap && !o.chap_user.empty()) t.chap = ChapSecret{o.chap_user, o.chap_secret};
    if (t.chap && !valid_chap_secret(*t.chap)) usage("bad CHAP user or secret");
    if (t.chap && o.one_round) usage("--one-round skips the security stage: not with CHAP");
    if (t.chap && !o.probe_source.empty()) usage("--probe-source logs in without CHAP: not with CHAP targets");
  }
  pc.initiator_prefix = o.initiator_prefix;
  pc.sessions = o.sessions;
  pc.in_flight = o.in_flight;
  pc.one_round = o.one_round;
  pc.reconnect = o.reconnect;
  pc.login_timeout = std::chrono::milliseconds(o.login_timeout_ms);
  pc.backoff_min = std::chrono::milliseconds(o.backoff_min_ms);
  pc.backoff_max = std::chrono::milliseconds(o.backoff_max_ms);
  SessionPool pool(pc);

  std::optional<SideProbe> probe;
  if (!o.probe_source.empty()) {
    ProbeConfig prc;
    prc.portal = pc.portal;
    auto src = parse_address(o.probe_source, 0);
    if (!src) usage("bad --probe-source");
    prc.source = *src;
    prc.target = pc.targets.front().name;
    prc.initiator = o.initiator_prefix + ":probe";
    prc.one_round = o.one_round;
    probe.emplace(prc);
  }

  // Login phase: every session in, K at a time.
  const auto base = sample(o.target_pid);
  const auto t0 = Clock::now();
  pool.start_logins();
  pool.run_until([&] { return pool.pending() == 0 || (pool.logged_in() == o.sessions); },
                 t0 + std::chrono::duration_cast<Clock::duration>(Seconds(o.give_up_s)));
  const auto t1 = Clock::now();
  const auto after_login = sample(o.target_pid);
  const size_t logins = pool.counters().logins;
  const double login_s = Seconds(t1 - t0).count();
  std::printf("held %zu\n", pool.logged_in());
  std::fflush(stdout);

  // Let the target settle (deferred frees, first pings) before measuring memory.
  pool.run_until([] { return false; }, Clock::now() + std::chrono::duration_cast<Clock::duration>(Seconds(o.settle_s)));
  const auto settled = sample(o.target_pid);
  ProbeSummary probed;
  if (probe) probed = probe->finish();

  // Hold: answer pings; with --reconnect, report outages and recoveries.
  const auto h0 = Clock::now();
  const auto hold_start = sample(o.target_pid);
  bool down = false;
  const size_t full = pool.logged_in();
  int64_t down_since = 0;
  pool.run_until(
      [&] {
        if (!down && pool.logged_in() < full) {
          down = true;
          down_since = wall_ms();
          std::printf("EVENT down t_ms=%lld logged_in=%zu\n", static_cast<long long>(down_since), pool.logged_in());
          std::fflush(stdout);
        } else if (down && pool.logged_in() >= full) {
          down = false;
          const int64_t now = wall_ms();
          std::printf("EVENT all_back t_ms=%lld outage_ms=%lld busy=%llu retried=%llu\n", static_cast<long long>(now),
                      static_cast<long long>(now - down_since),
                      static_cast<unsigned long long>(pool.counters().busy),
                      static_cast<unsigned long long>(pool.counters().retried));
          std::fflush(stdout);
        }
        return false;
      },
      h0 + std::chrono::duration_cast<Clock::duration>(Seconds(o.hold_s)));
  const double hold_s = Seconds(Clock::now() - h0).count();
  const auto hold_end = sample(o.target_pid);

  const size_t held_at_end = pool.logged_in();
  const auto l0 = Clock::now();
  pool.logout_all(l0 + std::chrono::seconds(60));
  const double logout_s = Seconds(Clock::now() - l0).count();
  // The target frees what logged-out sessions held; give it a moment.
  std::optional<ProcSample> after_logout;
  if (o.target_pid != 0) {
    ::usleep(useconds_t(o.settle_s * 1e6));
    after_logout = sample(o.target_pid);
  }

  const auto& c = pool.counters();
  std::string cpu_per_login = "NA", idle_cpu = "NA";
  if (base && after_login && logins != 0)
    cpu_per_login = fmt::format("{:.3f}", (after_login->cpu_s - base->cpu_s) * 1000.0 / double(logins));
  if (hold_start && hold_end && hold_s > 0.5)
    idle_cpu = fmt::format("{:.2f}", (hold_end->cpu_s - hold_start->cpu_s) * 100.0 / hold_s);
  std::printf(
      "RESULT sessions=%zu in_flight=%zu logged_in=%zu held_at_end=%zu logins_per_s=%.0f login_s=%.3f "
      "cpu_ms_per_login=%s rss_kb_base=%s rss_kb_per_session=%s fds_per_session=%s idle_cpu_pct=%s "
      "rss_kb_after_logout=%s logouts=%llu logout_s=%.3f failed=%llu retried=%llu busy=%llu unanswered=%llu timeouts=%llu drops=%llu pings=%llu "
      "probe_attempts=%zu probe_answered=%zu probe_logged_in=%zu probe_max_ms=%.1f probe_p50_ms=%.1f probe_max_connect_ms=%.1f\n",
      o.sessions, o.in_flight, logins, held_at_end, login_s > 0 ? double(logins) / login_s : 0.0, login_s,
      cpu_per_login.c_str(), base ? std::to_string(base->rss_kb).c_str() : "NA",
      per_session(base, settled, &ProcSample::rss_kb, logins, 1).c_str(),
      per_session(base, settled, &ProcSample::fds, logins, 2).c_str(), idle_cpu.c_str(),
      after_logout ? std::to_string(after_logout->rss_kb).c_str() : "NA",
      static_cast<unsigned long long>(c.logouts), logout_s, static_cast<unsigned long long>(c.failed),
      static_cast<unsigned long long>(c.retried), static_cast<unsigned long long>(c.busy),
      static_cast<unsigned long long>(c.unanswered), static_cast<unsigned long long>(c.timeouts),
      static_cast<unsigned long long>(c.drops), static_cast<unsigned long long>(c.pings), probed.attempts,
      probed.answered, probed.logged_in, probed.max_first_ms, probed.p50_first_ms, probed.max_connect_ms);
  return c.failed == 0 && logins == o.sessions ? 0 : 1;
}
