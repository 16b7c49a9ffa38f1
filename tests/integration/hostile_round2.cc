// Round two of the adversarial test (the outside security review's cases): one
// attacker at a time, over real sockets, next to honest verified sessions,
// with the budgets of item 6 asserted for each attack.
//
//   hostile_round2 --port P --target BLANK_IQN --server-pid PID [--http-port H]
//                  [--overlay-dir DIR] [--only CASE[,CASE...]] [--list] [--honest 2]
//                  [--rss-bound-mib 64] [--settle-rss-mib 24] [--side-ms 1000] [--settle-s 5]
//
// Cases (--list prints them):
//   immediate-writes-data       400 immediate WRITE(10)s, EDTL 16 MiB, 256 KiB immediate data each
//   immediate-writes-no-data    100 000 immediate WRITE(10)s, EDTL 16 MiB, no data, F=1
//   immediate-writes-unsolicited 20 000 immediate WRITE(10)s, EDTL 16 MiB, no data, F=0
//                               (unsolicited Data-Out promised, never sent)
//     all three on one login with InitialR2T=No, ImmediateData=Yes,
//     FirstBurstLength=262144, MaxBurstLength=16777216, the I bit on every
//     command, CmdSN never advanced, a fresh ITT each, replies never read.
//     A target may answer the excess with Reject (reason 0x06, RFC 7143
//     11.17.1 "immediate command reject"), close, or stop reading (we then
//     stop after 3 s without progress); what it may not do is grow.
//   abort-flood-50k / abort-flood-400k
//                               immediate TMF ABORT TASK (11.5, function 1)
//                               for an unknown RTT, a distinct RefCmdSN each
//                               (spread over 2^31 ahead of ExpCmdSN), any
//                               CmdSN; the responses are read (an attacker
//                               wants the target to keep going). Sending and
//                               waiting for the answers are capped at 20 s.
//   http-header-flood           one GET with 100 MB of 8 KiB header lines
//   http-trickle                8 clients from 127.0.0.2..5 dripping a header
//                               line a second; GET /api/v1/images from
//                               127.0.0.1 every 0.5 s must be answered in 1 s
//
// Budgets for every case:
//   - the server's VmRSS peak during the attack <= the level before + 64 MiB
//     (VmSize: + 1 GiB, see kVmGrowthBoundMib);
//   - a side login (fresh connection + login to blank + TEST UNIT READY +
//     NOP-Out) every 250 ms, and a NOP-Out on each of three connections logged
//     in before the attack (connections go round robin over the event loops,
//     so one of them shares the attacker's), each answered within 1 s;
//   - within 5 s of the attacker's disconnect: the server's open fds back to
//     the count before the attack, the overlay files in --overlay-dir too, and
//     VmRSS within 32 MiB of the level before. The baseline is taken after
//     3 s of side probes (allocator caches and the ASan quarantine, 16 MiB
//     under hostile_round2.sh, already filled); side probes and honest I/O
//     alone still drift ~14 MiB over a case on the ASan build, so 32 MiB is
//     about twice the drift and half the growth budget;
//   - the honest sessions (libiscsi, each its own blank disk, verified
//     write/read loops) see no error and no wrong byte, and make progress.
// Exit 1 on any violation, 2 on setup errors.
#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

#include "round2_checks.h"

namespace {

using namespace round2;
using raw::Bhs;
using raw::Opcode;
using std::chrono::seconds;

// VmSize growth bound. Item 1 saw +5 GB of virtual memory for 20 000
// promises; buffers sized by bytes that arrive stay within the RSS bound, but
// an allocator may map arenas ahead (ASan: regions per size class, glibc: 64
// MiB heaps per thread), so the virtual bound is looser than the RSS one.
constexpr long kVmGrowthBoundMib = 1024;

struct Options {
  Target target;
  int http_port = 0;
  int server_pid = 0;
  std::string overlay_dir;
  std::set<std::string> only;
  int honest = 2;
  long rss_bound_mib = 64;
  long settle_rss_mib = 32;
  double side_ms = 1000;
  int settle_s = 5;
};

// What one attack saw, for the report line.
struct AttackResult {
  std::string summary;
};

using Attack = std::function<AttackResult(const Options&, Report&)>;

// --------------------------------------------------------- item 1: immediate

// Reads whatever the target sent (never during the attack: only to report
// what it answered), for up to `ms`.
std::string drain_summary(raw::Conn& c, int ms) {
  std::map<std::string, long> seen;
  const auto deadline = Clock::now() + milliseconds(ms);
  for (long n = 0; n < 2'000'000; ++n) {
    raw::Pdu p;
    raw::Recv r = c.recv_pdu(p, deadline);
    if (r == raw::Recv::closed) {
      seen["(then closed)"]++;
      break;
    }
    if (r != raw::Recv::pdu) break;
    char k[48];
    if (p.bhs.opcode() == Opcode::reject)
      std::snprintf(k, sizeof k, "Reject 0x%02x", raw::RejectHeader(p.bhs).reason());
    else
      std::snprintf(k, sizeof k, "opcode 0x%02x", p.bhs.opcode_raw());
    seen[k]++;
  }
  std::string out;
  for (auto& [k, n] : seen) out += (out.empty() ? "" : ", ") + k + " x" + std::to_string(n);
  return out.empty() ? "nothing" : out;
}

AttackResult immediate_writes(const Options& o, Report& rep, long count, uint32_t imm_wanted, bool final_pdu) {
  raw::Session s;
  raw::LoginSpec spec;
  spec.host = o.target.host;
  spec.port = o.target.port;
  spec.target = o.target.blank;
  spec.isid_q = 0x7101;
  spec.operational = {{"InitialR2T", "No"},
                      {"ImmediateData", "Yes"},
                      {"FirstBurstLength", "262144"},
                      {"MaxBurstLength", "16777216"}};
  std::string why;
  if (raw::login(s, spec, &why) != raw::LoginResult::ok) {
    rep.violation("attacker login failed: " + why);
    return {"no login"};
  }
  const uint32_t fbl = raw::key_number(s, "FirstBurstLength", 65536);
  const uint32_t mrdsl = raw::key_number(s, "MaxRecvDataSegmentLength", 8192);
  const uint32_t imm = std::min({imm_wanted, fbl, mrdsl});
  std::vector<uint8_t> data(imm, 0xa5);
  // Batches of PDUs per send; the target may stop reading (backpressure).
  const auto deadline = Clock::now() + seconds(25);
  long sent = 0;
  bool closed = false, stalled = false;
  size_t bytes = 0;
  while (sent < count && !closed && !stalled && Clock::now() < deadline) {
    std::vector<uint8_t> batch;
    const long per_batch = imm > 0 ? 8 : 2000;
    long in_batch = 0;
    for (; in_batch < per_batch && sent + in_batch < count; ++in_batch) {
      Bhs b = raw::write10(s.itt++, s.cmdsn, s.expstatsn, true, final_pdu, 0, 32768, imm, 0);
      raw::Conn::append(batch, b, data.data(), data.size());
    }
    size_t n = s.c.send_bounded(batch.data(), batch.size(), deadline, milliseconds(3000), &closed, &stalled);
    bytes += n;
    sent += n == batch.size() ? in_batch : long(n / (batch.size() / size_t(in_batch)));
  }
  std::this_thread::sleep_for(milliseconds(1500));  // let the target work through what it read
  const bool gone = s.c.peer_closed(0);
  std::string answered = drain_summary(s.c, 1000);
  s.c.close();
  std::ostringstream os;
  os << sent << " of " << count << " commands sent (" << mib(long(bytes / 1024)) << ", " << imm
     << " B immediate data each, FirstBurstLength " << fbl << "); "
     << (closed || gone ? "the target closed" : stalled ? "the target stopped reading (3 s)" : "all read")
     << "; its answers: " << answered;
  return {os.str()};
}

// ------------------------------------------------------ item 2: TMF flood

AttackResult abort_flood(const Options& o, Report& rep, long count) {
  raw::Session s;
  raw::LoginSpec spec;
  spec.host = o.target.host;
  spec.port = o.target.port;
  spec.target = o.target.blank;
  spec.isid_q = 0x7201;
  std::string why;
  if (raw::login(s, spec, &why) != raw::LoginResult::ok) {
    rep.violation("attacker login failed: " + why);
    return {"no login"};
  }
  const uint32_t exp_cmdsn = s.cmdsn;
  // Every response is read by a second thread, as a real attacker would.
  std::atomic<long> responses{0}, rejects{0};
  std::atomic<bool> reader_stop{false}, reader_closed{false};
  std::thread reader([&] {
    while (!reader_stop) {
      raw::Pdu p;
      raw::Recv r = s.c.recv_pdu(p, Clock::now() + milliseconds(200));
      if (r == raw::Recv::timeout) continue;
      if (r != raw::Recv::pdu) {
        reader_closed = true;
        return;
      }
      if (p.bhs.opcode() == Opcode::task_mgmt_response) responses++;
      if (p.bhs.opcode() == Opcode::reject) rejects++;
    }
  });
  const auto t0 = Clock::now();
  const auto deadline = t0 + seconds(20);
  const uint32_t step = uint32_t((0x7fffffffu - 2) / uint32_t(count));
  std::mt19937 rng(1234);
  long sent = 0;
  bool closed = false, stalled = false;
  while (sent < count && !closed && !stalled && Clock::now() < deadline) {
    std::vector<uint8_t> batch;
    long in_batch = 0;
    for (; in_batch < 4096 && sent + in_batch < count; ++in_batch) {
      const uint32_t i = uint32_t(sent + in_batch);
      Bhs b = raw::tmf_abort_task(0x10000000u + i, 0x7e000000u + i, uint32_t(rng()), s.expstatsn,
                                  exp_cmdsn + 1 + i * step, 0, true);
      raw::Conn::append(batch, b);
    }
    // No stall limit below the cap: a target too busy to read is what the
    // attack is after, and the side probes measure it.
    size_t n = s.c.send_bounded(batch.data(), batch.size(), deadline, milliseconds(20000), &closed, &stalled);
    sent += long(n / 48);
  }
  const double send_s = ms_since(t0) / 1000;
  // Wait for the answers (or a close) within the same 20 s cap.
  while (Clock::now() < deadline && !reader_closed && responses + rejects < sent)
    std::this_thread::sleep_for(milliseconds(50));
  const double done_s = ms_since(t0) / 1000;
  reader_stop = true;
  reader.join();
  s.c.close();
  std::ostringstream os;
  os.precision(3);
  os << sent << " of " << count << " ABORT TASKs sent in " << send_s << " s"
     << (stalled ? " (the target stopped reading)" : "") << "; " << responses << " TMF responses, " << rejects
     << " Rejects" << (reader_closed || closed ? ", then closed" : "") << " after " << done_s << " s";
  if (!reader_closed && !closed && responses + rejects < sent)
    os << " (" << (sent - responses - rejects) << " unanswered at the 20 s cap)";
  return {os.str()};
}

// ---------------------------------------------------------- item 5: HTTP

struct HttpAnswer {
  int status = 0;  // 0: closed without a status line; -1: timeout / connect failure
  double ms = 0;
};

// Reads an HTTP status line from `fd` within `deadline`.
int read_status(int fd, Clock::time_point deadline) {
  std::string buf;
  while (buf.find("\r\n") == std::string::npos && buf.size() < 4096) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return -1;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, int(left)) <= 0) continue;
    char c[512];
    ssize_t k = ::recv(fd, c, sizeof c, 0);
    if (k <= 0) return 0;
    buf.append(c, size_t(k));
  }
  if (buf.rfind("HTTP/1.", 0) != 0 || buf.size() < 12) return 0;
  return std::atoi(buf.c_str() + 9);
}

HttpAnswer http_get(const Options& o, const std::string& path, int timeout_ms) {
  const auto t0 = Clock::now();
  raw::Conn c;
  if (!c.open(o.target.host, o.http_port)) return {-1, ms_since(t0)};
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  c.send_raw(reinterpret_cast<const uint8_t*>(req.data()), req.size());
  int st = read_status(c.fd(), t0 + milliseconds(timeout_ms));
  return {st, ms_since(t0)};
}

AttackResult http_header_flood(const Options& o, Report& rep) {
  raw::Conn c;
  if (!c.open(o.target.host, o.http_port)) {
    rep.violation("cannot connect to the HTTP listener");
    return {"no connection"};
  }
  const size_t total = 100u << 20;
  std::string line = "X-Pad: " + std::string(8192 - 9, 'p') + "\r\n";
  std::string start = "GET /api/v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  c.send_raw(reinterpret_cast<const uint8_t*>(start.data()), start.size());
  const auto t0 = Clock::now();
  const auto deadline = t0 + seconds(40);
  size_t sent = 0;
  int status = -1;  // -1: none yet
  bool closed = false;
  std::string chunk;
  for (int i = 0; i < 64; ++i) chunk += line;  // 512 KiB per send
  while (sent < total && !closed && status < 0 && Clock::now() < deadline) {
    pollfd pfd{c.fd(), POLLIN | POLLOUT, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    if (pfd.revents & POLLIN) {
      status = read_status(c.fd(), Clock::now() + milliseconds(1000));
      break;
    }
    if (pfd.revents & (POLLERR | POLLHUP)) {
      closed = true;
      break;
    }
    ssize_t k = ::send(c.fd(), chunk.data(), std::min(chunk.size(), total - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (k <= 0) {
      closed = true;
      break;
    }
    sent += size_t(k);
  }
  if (status < 0 && !closed && sent >= total) {  // all sent: end the headers, read the verdict
    c.send_raw(reinterpret_cast<const uint8_t*>("\r\n"), 2);
    status = read_status(c.fd(), Clock::now() + seconds(10));
  }
  const double secs = ms_since(t0) / 1000;
  c.close();
  std::ostringstream os;
  os.precision(3);
  os << mib(long(sent / 1024)) << " of headers sent in " << secs << " s, then "
     << (status > 0 ? "HTTP " + std::to_string(status) : closed || status == 0 ? std::string("closed") : "no answer");
  // "Refused early": an answer other than success, or a close, before the
  // 100 MB were sent. Up to ~36 MiB can sit in loopback socket buffers
  // (tcp_wmem 4 MiB + tcp_rmem 32 MiB), hence 48 MiB.
  if (status >= 200 && status < 400) rep.violation("http-header-flood: 100 MB of headers answered " + os.str());
  else if (sent > (48u << 20)) rep.violation("http-header-flood: not refused early: " + os.str());
  return {os.str()};
}

AttackResult http_trickle(const Options& o, Report& rep) {
  std::vector<std::unique_ptr<raw::Conn>> drips;
  for (int i = 0; i < 8; ++i) {
    auto c = std::make_unique<raw::Conn>();
    const std::string from = "127.0.0." + std::to_string(2 + i % 4);
    if (!c->open(o.target.host, o.http_port, from)) continue;
    std::string start = "GET /api/v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    c->send_raw(reinterpret_cast<const uint8_t*>(start.data()), start.size());
    drips.push_back(std::move(c));
  }
  std::atomic<bool> stop{false};
  std::thread dripper([&] {
    for (int n = 0; !stop; ++n) {
      std::string l = "X-Drip-" + std::to_string(n) + ": y\r\n";
      for (auto& c : drips)
        if (c->fd() >= 0) ::send(c->fd(), l.data(), l.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(milliseconds(100));
    }
  });
  std::this_thread::sleep_for(milliseconds(500));  // the drips hold whatever they can get
  double worst = 0;
  int probes = 0, failed = 0;
  std::string first_failure;
  const auto end = Clock::now() + seconds(8);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    HttpAnswer a = http_get(o, "/api/v1/images", 5000);
    ++probes;
    worst = std::max(worst, a.ms);
    if (a.status != 200 || a.ms > o.side_ms) {
      ++failed;
      if (first_failure.empty())
        first_failure = (a.status == 200 ? "answered 200 after " : a.status < 0 ? "no answer within " : "HTTP " +
                         std::to_string(a.status) + " after ") + std::to_string(long(a.ms)) + " ms";
    }
    while (Clock::now() - t0 < milliseconds(500)) std::this_thread::sleep_for(milliseconds(20));
  }
  int closed_by_server = 0;
  for (auto& c : drips) closed_by_server += c->peer_closed(0) ? 1 : 0;
  stop = true;
  dripper.join();
  const size_t dripping = drips.size();
  drips.clear();
  std::ostringstream os;
  os << dripping << " dripping clients; " << probes << " GETs from 127.0.0.1, worst " << long(worst)
     << " ms, " << failed << " not answered 200 within " << long(o.side_ms) << " ms"
     << (first_failure.empty() ? "" : " (first: " + first_failure + ")") << "; " << closed_by_server
     << " dripping connections closed by the server";
  if (failed) rep.violation("http-trickle: " + os.str());
  return {os.str()};
}

// ------------------------------------------------------------ the budgets

// Runs one attack between a baseline and the settle checks.
void run_case(const Options& o, const std::string& name, const Attack& attack, Report& rep, ProcMonitor& mon) {
  rep.note("---- " + name);
  std::vector<std::unique_ptr<HeldSide>> held;
  for (int i = 0; i < 3; ++i) {
    auto h = std::make_unique<HeldSide>();
    raw::LoginSpec spec;
    spec.host = o.target.host;
    spec.port = o.target.port;
    spec.target = o.target.blank;
    spec.initiator = "iqn.2025-01.test.round2:held";
    spec.isid_q = uint16_t(0x6900 + i);
    std::string why;
    if (raw::login(h->s, spec, &why) != raw::LoginResult::ok) {
      rep.violation(name + ": side connection " + std::to_string(i) + " could not log in before the attack: " + why);
      continue;
    }
    held.push_back(std::move(h));
  }
  // Warm-up: side logins and pings for 3 s before the baseline, so the
  // allocator caches and the ASan quarantine (16 MiB) are as full as the
  // side traffic alone makes them; "back to the baseline" then measures what
  // the attack left, not what the probes did.
  {
    SideProbe warm(o.target, held, 5000);
    std::this_thread::sleep_for(seconds(3));
  }
  const ProcSample before = mon.now();
  const long overlays_before = o.overlay_dir.empty() ? -1 : count_files(o.overlay_dir);
  mon.reset_peaks();
  AttackResult r;
  {
    SideProbe probe(o.target, held, 5000);
    r = attack(o, rep);
    probe.stop();
    rep.note(name + ": " + r.summary);
    std::ostringstream side;
    side << "side logins during the attack: " << probe.logins() << ", worst "
         << (probe.worst_login_ms() < 0 ? "FAILED (" + probe.login_failure() + ")"
                                        : std::to_string(long(probe.worst_login_ms())) + " ms")
         << "; pings on " << held.size() << " held connections: " << probe.pings() << ", worst "
         << (probe.worst_ping_ms() < 0 ? std::string("UNANSWERED within 5 s")
                                       : std::to_string(long(probe.worst_ping_ms())) + " ms");
    rep.note(name + ": " + side.str());
    if (probe.worst_login_ms() < 0 || probe.worst_login_ms() > o.side_ms || probe.worst_ping_ms() < 0 ||
        probe.worst_ping_ms() > o.side_ms)
      rep.violation(name + ": the side was not answered within " + std::to_string(long(o.side_ms)) + " ms: " +
                    side.str());
  }
  const long peak_rss = mon.peak_rss(), peak_vm = mon.peak_vm();
  // Settle: fds, overlays and memory back within --settle-s (the held side
  // connections are still open, as they were for the baseline).
  const auto t_settle = Clock::now();
  ProcSample after = mon.now();
  long overlays_after = overlays_before;
  for (;;) {
    after = mon.now();
    overlays_after = o.overlay_dir.empty() ? -1 : count_files(o.overlay_dir);
    const bool ok = after.fds <= before.fds && overlays_after <= overlays_before &&
                    after.rss_kib <= before.rss_kib + o.settle_rss_mib * 1024;
    if (ok || ms_since(t_settle) > o.settle_s * 1000.0 || after.rss_kib < 0) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  std::ostringstream m;
  m << "VmRSS " << mib(before.rss_kib) << " -> peak " << mib(peak_rss) << " (+" << mib(peak_rss - before.rss_kib)
    << ", bound +" << o.rss_bound_mib << " MiB) -> " << mib(after.rss_kib) << " after; VmSize +"
    << mib(peak_vm - before.vm_kib) << " (bound +" << kVmGrowthBoundMib << " MiB); fds " << before.fds << " -> "
    << after.fds << "; overlays " << overlays_before << " -> " << overlays_after << " ("
    << long(ms_since(t_settle)) << " ms after the disconnect)";
  rep.note(name + ": " + m.str());
  if (after.rss_kib < 0) {
    rep.violation(name + ": the server process is gone");
    return;
  }
  if (peak_rss - before.rss_kib > o.rss_bound_mib * 1024)
    rep.violation(name + ": server VmRSS grew by " + mib(peak_rss - before.rss_kib) + " (bound " +
                  std::to_string(o.rss_bound_mib) + " MiB)");
  if (peak_vm - before.vm_kib > kVmGrowthBoundMib * 1024)
    rep.violation(name + ": server VmSize grew by " + mib(peak_vm - before.vm_kib));
  if (after.fds > before.fds)
    rep.violation(name + ": " + std::to_string(after.fds - before.fds) + " more server fds than before, " +
                  std::to_string(o.settle_s) + " s after the attacker left");
  if (overlays_after > overlays_before)
    rep.violation(name + ": " + std::to_string(overlays_after - overlays_before) + " overlay files left behind");
  if (after.rss_kib > before.rss_kib + o.settle_rss_mib * 1024)
    rep.violation(name + ": VmRSS not back within " + std::to_string(o.settle_rss_mib) + " MiB of " +
                  mib(before.rss_kib) + " after " + std::to_string(o.settle_s) + " s: " + mib(after.rss_kib));
}

std::vector<std::pair<std::string, Attack>> all_cases() {
  return {
      {"immediate-writes-data",
       [](const Options& o, Report& r) { return immediate_writes(o, r, 400, 262144, true); }},
      {"immediate-writes-no-data",
       [](const Options& o, Report& r) { return immediate_writes(o, r, 100000, 0, true); }},
      {"immediate-writes-unsolicited",
       [](const Options& o, Report& r) { return immediate_writes(o, r, 20000, 0, false); }},
      {"abort-flood-50k", [](const Options& o, Report& r) { return abort_flood(o, r, 50000); }},
      {"abort-flood-400k", [](const Options& o, Report& r) { return abort_flood(o, r, 400000); }},
      {"http-header-flood", http_header_flood},
      {"http-trickle", http_trickle},
  };
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host") o.target.host = next();
    else if (a == "--port") o.target.port = std::stoi(next());
    else if (a == "--target") o.target.blank = next();
    else if (a == "--http-port") o.http_port = std::stoi(next());
    else if (a == "--server-pid") o.server_pid = std::stoi(next());
    else if (a == "--overlay-dir") o.overlay_dir = next();
    else if (a == "--honest") o.honest = std::stoi(next());
    else if (a == "--rss-bound-mib") o.rss_bound_mib = std::stol(next());
    else if (a == "--settle-rss-mib") o.settle_rss_mib = std::stol(next());
    else if (a == "--side-ms") o.side_ms = std::stod(next());
    else if (a == "--settle-s") o.settle_s = std::stoi(next());
    else if (a == "--list") list = true;
    else if (a == "--only") {
      std::stringstream ss(next());
      for (std::string n; std::getline(ss, n, ',');)
        if (!n.empty()) o.only.insert(n);
    } else {
      std::fprintf(stderr, "unknown option %s (see the header of hostile_round2.cc)\n", a.c_str());
      return 2;
    }
  }
  auto cases = all_cases();
  if (list) {
    for (auto& [n, f] : cases) std::printf("%s\n", n.c_str());
    return 0;
  }
  for (const auto& n : o.only)
    if (std::none_of(cases.begin(), cases.end(), [&](const auto& c) { return c.first == n; })) {
      std::fprintf(stderr, "unknown case %s\n", n.c_str());
      return 2;
    }
  if (o.target.port == 0 || o.target.blank.empty() || o.server_pid == 0) {
    std::fprintf(stderr, "need --port, --target and --server-pid\n");
    return 2;
  }
  Report rep("hostile_round2");
  ProcMonitor mon(o.server_pid);
  const std::string url =
      "iscsi://" + o.target.host + ":" + std::to_string(o.target.port) + "/" + o.target.blank + "/0";
  HonestSessions honest(url, o.honest);
  if (!honest.wait_ready(seconds(60))) rep.violation("honest sessions did not come up");
  std::this_thread::sleep_for(milliseconds(500));
  for (auto& [name, attack] : cases) {
    if (!o.only.empty() && !o.only.count(name)) continue;
    if ((name.rfind("http-", 0) == 0) && o.http_port == 0) {
      rep.violation(name + ": needs --http-port");
      continue;
    }
    const long ops_before = honest.ops();
    run_case(o, name, attack, rep, mon);
    const long ops = honest.ops() - ops_before;
    rep.note(name + ": honest sessions did " + std::to_string(ops) + " verified ops meanwhile");
    if (ops == 0) rep.violation(name + ": the honest sessions made no progress during the attack");
  }
  honest.stop(&rep);
  if (rep.violations()) {
    std::fprintf(stderr, "hostile_round2: %d violation(s)\n", rep.violations());
    return 1;
  }
  std::fprintf(stderr, "hostile_round2: all checks passed\n");
  return 0;
}
