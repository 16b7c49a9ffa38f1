// Paying users vs strangers: strangers on many
// loopback addresses hold every free slot they can get, a guesser on the
// paying user's own address runs CHAP exchanges with wrong secrets, and then
// the paying user's CHAP login (libiscsi, from 127.0.0.1, the right secret)
// must succeed and read back what it wrote.
//
//   hostile_fairness --port P --blank IQN --server-pid PID --paid-url URL
//                    --guess-target IQN --guess-user USER [--overlay-dir DIR]
//                    [--slot-addresses 40] [--slot-sockets 4] [--anon-addresses 16]
//                    [--guessers 64] [--guess-challenges 40] [--honest 2]
//                    [--strangers anon,slots,guess]
//                    [--rss-bound-mib 64] [--settle-rss-mib 24] [--side-ms 1000] [--settle-s 5]
//
// In order (each holder keeps what it got until the end):
//   1. anonymous sessions: free-tier blank logins from 127.0.0.20.. (each
//      writes 256 KiB, so its overlay holds data), then discovery sessions
//      from 127.0.0.40.., each address until the target refuses it 3 times:
//      they take every anonymous session and the free-tier overlay budget;
//   2. login slots: --slot-sockets sockets from each of --slot-addresses
//      addresses (127.0.0.100..), half idle, half with half a Login PDU sent,
//      re-opened every 0.5 s when the target closes them;
//   3. the guesser on 127.0.0.1: --guessers CHAP exchanges at once for
//      --guess-user (another account's disk) with random CHAP_R, then one
//      at a time while the paying user logs in (it stops at
//      --guess-challenges challenges, under the per-address ceiling
//      chap_attempts_per_minute_per_ip of the test config, so the ceiling
//      itself never locks the address);
//   4. the paying user: a CHAP login to --paid-url (up to 3 tries 1 s apart,
//      as initiators retry), 1 MiB written and read back, byte for byte.
// Throughout: an anonymous side login from 127.0.0.1 every 250 ms must be
// answered (accepted or refused: the anonymous slots are full by design)
// within 1 s; two honest libiscsi sessions to blank, logged in before the
// strangers, see no error and no wrong byte; server VmRSS <= +64 MiB. After
// the strangers disconnect: fds and free-tier overlay files back to the
// count before, VmRSS within 32 MiB (see hostile_round2.cc), within 5 s; a
// new anonymous login works.
// --strangers picks which of 1-3 run (to see which one refuses the paying
// user on a server without the fix).
// IPv6: the loopback interface has only ::1 (binding ::2 fails), so distinct
// IPv6 sources cannot be made here; /64 grouping has a unit test.
// Exit 1 on any violation, 2 on setup errors.
#include <algorithm>
#include <set>
#include <sstream>

#include "round2_checks.h"

namespace {

using namespace round2;
using raw::Bhs;
using raw::Opcode;
using std::chrono::seconds;

struct Options {
  Target target;
  int server_pid = 0;
  std::string paid_url, guess_target, guess_user, overlay_dir;
  int slot_addresses = 40, slot_sockets = 4, anon_addresses = 16;
  int guessers = 64, guess_challenges = 40, honest = 2;
  std::set<std::string> strangers{"anon", "slots", "guess"};  // which ones run
  long rss_bound_mib = 64, settle_rss_mib = 32;
  double side_ms = 1000;
  int settle_s = 5;
};

std::string addr(int last) { return "127.0.0." + std::to_string(last); }

// ------------------------------------------------- 1. anonymous sessions

// Writes 4 x 64 KiB with immediate data (InitialR2T=Yes, FirstBurstLength
// 64 KiB: the data fits the command PDU) and waits for the 4 responses.
bool write_some(raw::Session& s, std::string* why) {
  std::vector<uint8_t> data(65536, 0x3c);
  // A new I_T nexus may see one UNIT ATTENTION (SAM-5 5.14): TEST UNIT READY
  // takes it, whatever its status.
  if (!s.c.send_pdu(raw::test_unit_ready(s, 0))) return *why = "send failed", false;
  for (;;) {
    raw::Pdu p;
    if (s.c.recv_pdu(p, Clock::now() + seconds(5)) != raw::Recv::pdu) return *why = "no TUR response", false;
    if (p.bhs.opcode() != Opcode::scsi_response) continue;
    s.expstatsn = raw::ScsiResponseHeader(p.bhs).stat_sn() + 1;
    break;
  }
  for (uint32_t i = 0; i < 4; ++i) {
    Bhs b = raw::write10(s.itt++, s.cmdsn++, s.expstatsn, false, true, 4096 + i * 128, 128, 65536, 0);
    if (!s.c.send_pdu(b, data)) return *why = "send failed", false;
  }
  const auto deadline = Clock::now() + seconds(5);
  for (int got = 0; got < 4;) {
    raw::Pdu p;
    if (s.c.recv_pdu(p, deadline) != raw::Recv::pdu) return *why = "no SCSI Response", false;
    if (p.bhs.opcode() != Opcode::scsi_response) continue;
    const raw::ScsiResponseHeader rsp(p.bhs);
    if (rsp.status() != 0) return *why = "WRITE status " + std::to_string(rsp.status()), false;
    s.expstatsn = rsp.stat_sn() + 1;
    ++got;
  }
  return true;
}

struct AnonStats {
  int blank = 0, discovery = 0, write_failures = 0;
  std::map<std::string, int> refusals;  // "blank 03/02" -> n
};

void hold_anonymous(const Options& o, std::vector<std::unique_ptr<raw::Session>>& held, AnonStats& st) {
  uint16_t q = 0x100;
  for (bool discovery : {false, true}) {
    for (int a = 0; a < o.anon_addresses; ++a) {
      const std::string from = addr((discovery ? 40 : 20) + a);
      for (int refused = 0, n = 0; refused < 3 && n < 64; ++n) {
        auto s = std::make_unique<raw::Session>();
        raw::LoginSpec spec;
        spec.host = o.target.host;
        spec.port = o.target.port;
        spec.bind_to = from;
        spec.target = discovery ? "" : o.target.blank;
        spec.initiator = "iqn.2025-01.test.round2:stranger-" + std::to_string(a);
        spec.isid_q = q++;
        std::string why;
        raw::LoginResult r = raw::login(*s, spec, &why);
        if (r != raw::LoginResult::ok) {
          ++refused;
          st.refusals[std::string(discovery ? "discovery " : "blank ") +
                      (r == raw::LoginResult::refused ? why : raw::name(r))]++;
          continue;
        }
        if (!discovery && !write_some(*s, &why)) st.write_failures++;
        (discovery ? st.discovery : st.blank)++;
        held.push_back(std::move(s));
      }
    }
  }
}

// --------------------------------------------------------- 2. login slots

class SlotHolder {
 public:
  explicit SlotHolder(const Options& o) : o_(o) {
    for (int a = 0; a < o.slot_addresses; ++a)
      for (int i = 0; i < o.slot_sockets; ++i) slots_.push_back({addr(100 + a), i % 2 == 1, {}});
    fill();
    th_ = std::thread([this] {
      while (!stop_) {
        for (int i = 0; i < 5 && !stop_; ++i) std::this_thread::sleep_for(milliseconds(100));
        fill();
      }
    });
  }
  ~SlotHolder() {
    stop_ = true;
    th_.join();
  }
  SlotHolder(const SlotHolder&) = delete;
  SlotHolder& operator=(const SlotHolder&) = delete;
  int open_now() const { return open_; }
  int reopened() const { return reopened_; }

 private:
  struct Slot {
    std::string from;
    bool half_login;
    raw::Conn c;
  };
  void fill() {
    int open = 0;
    for (auto& s : slots_) {
      if (s.c.fd() >= 0 && s.c.peer_closed(0)) {
        s.c.close();
        ++reopened_;
      }
      if (s.c.fd() < 0 && s.c.open(o_.target.host, o_.target.port, s.from) && s.half_login) {
        Bhs b = raw::login_bhs(0, 1, true, 1, 0, 0x4444);
        b.set_data_segment_length(400);
        s.c.send_raw(b.bytes().data(), raw::kBhsSize / 2);  // half a BHS: a login that never finishes
      }
      open += s.c.fd() >= 0 ? 1 : 0;
    }
    open_ = open;
  }
  const Options& o_;
  std::vector<Slot> slots_;
  std::atomic<bool> stop_{false};
  std::atomic<int> open_{0}, reopened_{0};
  std::thread th_;
};

// ------------------------------------------------------------ 3. guesser

enum class Guess { challenged, refused_early, closed, timeout };

// One CHAP exchange from 127.0.0.1 for `user` with a random response
// (RFC 7143 12.1.3: CHAP_A, then CHAP_I/CHAP_C, then CHAP_N/CHAP_R).
Guess guess_once(const Options& o, uint16_t q, std::string* status) {
  raw::Conn c;
  if (!c.open(o.target.host, o.target.port, "127.0.0.1")) return Guess::closed;
  const auto deadline = Clock::now() + seconds(5);
  uint32_t expstatsn = 0;
  auto step = [&](const raw::KeyList& kv, bool transit, raw::Pdu& r) -> raw::Recv {
    std::vector<uint8_t> d = raw::text_keys(kv);
    Bhs b = raw::login_bhs(0, 1, transit, 1, expstatsn, q);
    b.set_data_segment_length(uint32_t(d.size()));
    if (!c.send_pdu(b, d)) return raw::Recv::closed;
    raw::Recv rv = c.recv_pdu(r, deadline);
    if (rv == raw::Recv::pdu) expstatsn = raw::TargetHeader(r.bhs).stat_sn() + 1;
    return rv;
  };
  auto verdict = [&](raw::Recv rv, const raw::Pdu& r, Guess* g) {
    if (rv == raw::Recv::timeout) return *g = Guess::timeout, true;
    if (rv != raw::Recv::pdu || r.bhs.opcode() != Opcode::login_response) return *g = Guess::closed, true;
    const raw::LoginResponseHeader rsp(r.bhs);
    if (rsp.status_class() == 0) return false;
    char st[16];
    std::snprintf(st, sizeof st, "%02x/%02x", rsp.status_class(), rsp.status_detail());
    *status = st;
    return *g = Guess::refused_early, true;
  };
  raw::Pdu r;
  Guess g = Guess::closed;
  raw::Recv rv = step({{"InitiatorName", "iqn.2025-01.test.round2:guesser"},
                       {"SessionType", "Normal"},
                       {"TargetName", o.guess_target},
                       {"AuthMethod", "CHAP"}},
                      false, r);
  if (verdict(rv, r, &g)) return g;
  rv = step({{"CHAP_A", "5"}}, false, r);
  if (verdict(rv, r, &g)) return g;
  if (!raw::parse_keys(r.data).count("CHAP_C")) return Guess::closed;
  std::mt19937 rng(q);
  char resp[40];
  std::snprintf(resp, sizeof resp, "0x%08x%08x%08x%08x", unsigned(rng()), unsigned(rng()), unsigned(rng()),
                unsigned(rng()));
  rv = step({{"CHAP_N", o.guess_user}, {"CHAP_R", resp}}, true, r);
  verdict(rv, r, &g);  // 02/01 expected; an accepted guess cannot happen with a random response
  return Guess::challenged;
}

struct GuessStats {
  std::atomic<int> challenged{0}, refused{0}, closed{0}, timeout{0};
  std::mutex mu;
  std::map<std::string, int> statuses;
  void add(Guess g, const std::string& st) {
    auto& n = g == Guess::challenged ? challenged : g == Guess::refused_early ? refused
              : g == Guess::closed       ? closed
                                         : timeout;
    ++n;
    if (!st.empty()) {
      std::lock_guard lock(mu);
      statuses[st]++;
    }
  }
  std::string str() {
    std::lock_guard lock(mu);
    std::ostringstream os;
    os << challenged << " challenged (then refused), " << refused << " refused before a challenge, " << closed
       << " closed without an answer, " << timeout << " unanswered";
    for (auto& [s, n] : statuses) os << "; " << s << " x" << n;
    return os.str();
  }
};

// ------------------------------------------------------------------ main

int run(const Options& o) {
  Report rep("hostile_fairness");
  ProcMonitor mon(o.server_pid);
  const std::string blank_url =
      "iscsi://" + o.target.host + ":" + std::to_string(o.target.port) + "/" + o.target.blank + "/0";
  HonestSessions honest(blank_url, o.honest);
  if (!honest.wait_ready(seconds(60))) rep.violation("honest sessions did not come up");
  std::this_thread::sleep_for(milliseconds(300));
  const ProcSample before = mon.now();
  const long overlays_before = o.overlay_dir.empty() ? -1 : count_files(o.overlay_dir);
  mon.reset_peaks();

  // Side logins (anonymous, 127.0.0.1): an answer of any kind within 1 s.
  std::atomic<bool> side_stop{false};
  std::atomic<double> side_worst{0};
  std::atomic<int> side_n{0}, side_ok{0};
  std::thread side([&] {
    for (uint16_t q = 0x6000; !side_stop; ++q) {
      const auto t0 = Clock::now();
      raw::Session s;
      raw::LoginSpec spec;
      spec.host = o.target.host;
      spec.port = o.target.port;
      spec.target = o.target.blank;
      spec.initiator = "iqn.2025-01.test.round2:side";
      spec.isid_q = q;
      std::string why;
      raw::LoginResult r = raw::login(s, spec, &why);
      const double ms = r == raw::LoginResult::timeout ? 1e9 : ms_since(t0);
      side_worst = std::max(side_worst.load(), ms);
      side_n++;
      side_ok += r == raw::LoginResult::ok ? 1 : 0;
      s.c.close();
      while (!side_stop && Clock::now() - t0 < milliseconds(250)) std::this_thread::sleep_for(milliseconds(10));
    }
  });

  std::vector<std::unique_ptr<raw::Session>> anon;
  AnonStats st;
  if (o.strangers.count("anon")) hold_anonymous(o, anon, st);
  std::ostringstream a;
  a << "strangers hold " << st.blank << " blank sessions (256 KiB written each, " << st.write_failures
    << " writes failed) and " << st.discovery << " discovery sessions; refusals:";
  for (auto& [k, n] : st.refusals) a << " [" << k << "] x" << n;
  a << "; free-tier overlay files " << (o.overlay_dir.empty() ? -1 : count_files(o.overlay_dir));
  rep.note(a.str());

  std::unique_ptr<SlotHolder> slots;
  if (o.strangers.count("slots")) {
    slots = std::make_unique<SlotHolder>(o);
    std::this_thread::sleep_for(milliseconds(500));
    rep.note("login slots: " + std::to_string(slots->open_now()) + " of " +
             std::to_string(o.slot_addresses * o.slot_sockets) + " sockets held open");
  }

  GuessStats burst;
  if (o.strangers.count("guess")) {
    std::vector<std::thread> g;
    for (int i = 0; i < o.guessers; ++i)
      g.emplace_back([&, i] {
        std::string status;
        Guess r = guess_once(o, uint16_t(0x2000 + i), &status);
        burst.add(r, status);
      });
    for (auto& t : g) t.join();
  }
  rep.note("guesser on 127.0.0.1, " + std::to_string(o.guessers) + " CHAP exchanges at once for " + o.guess_user +
           ": " + burst.str());

  GuessStats trickle;
  std::atomic<bool> trickle_stop{false};
  std::thread trickler([&] {
    if (!o.strangers.count("guess")) return;
    for (uint16_t q = 0x3000; !trickle_stop && burst.challenged + trickle.challenged < o.guess_challenges; ++q) {
      std::string status;
      trickle.add(guess_once(o, q, &status), status);
      std::this_thread::sleep_for(milliseconds(300));
    }
  });
  std::this_thread::sleep_for(milliseconds(600));  // the trickle is under way

  // 4. the paying user.
  std::string err, paid;
  std::unique_ptr<integ::Session> p;
  int tries = 0;
  double login_ms = 0;
  for (; tries < 3 && !p; ++tries) {
    if (tries) std::this_thread::sleep_for(seconds(1));
    const auto t0 = Clock::now();
    p = integ::Session::login(o.paid_url, "iqn.2025-01.test.round2:paying", 0x77, &err);
    login_ms = ms_since(t0);
    if (!p) paid += (paid.empty() ? "" : "; ") + err;
  }
  if (!p) {
    rep.violation("the paying user's CHAP login from 127.0.0.1 failed " + std::to_string(tries) +
                  " times while strangers held the free slots: " + paid);
  } else {
    std::vector<uint8_t> buf(1 << 20), got;
    integ::fill_pattern(buf, 0xfa17, 2048, p->block_size());
    if (!p->write(2048, buf, &err) || !p->read(2048, uint32_t(buf.size() / p->block_size()), got, &err))
      rep.violation("paying user: I/O failed: " + err);
    else if (integ::first_diff(got, buf) >= 0)
      rep.violation("paying user: wrong byte at offset " + std::to_string(integ::first_diff(got, buf)));
    else
      rep.note("paying user: CHAP login ok on try " + std::to_string(tries) + " (" + std::to_string(long(login_ms)) +
               " ms), 1 MiB written and read back equal" + (paid.empty() ? "" : "; earlier tries: " + paid));
    if (!p->logout(&err)) rep.violation("paying user: " + err);
    p.reset();
  }
  trickle_stop = true;
  trickler.join();
  rep.note("guesser, one at a time during the paid login: " + trickle.str());

  // The strangers leave.
  side_stop = true;
  side.join();
  slots.reset();
  anon.clear();
  const long peak_rss = mon.peak_rss();
  std::ostringstream sd;
  sd << "side logins: " << side_n << " (" << side_ok << " accepted, the rest refused), worst "
     << (side_worst > 1e8 ? std::string("TIMEOUT") : std::to_string(long(side_worst)) + " ms");
  rep.note(sd.str());
  if (side_worst > o.side_ms) rep.violation("a side login was not answered within 1 s: " + sd.str());

  const auto t_settle = Clock::now();
  ProcSample after;
  long overlays_after = 0;
  for (;;) {
    after = mon.now();
    overlays_after = o.overlay_dir.empty() ? -1 : count_files(o.overlay_dir);
    if ((after.fds <= before.fds && overlays_after <= overlays_before &&
         after.rss_kib <= before.rss_kib + o.settle_rss_mib * 1024) ||
        ms_since(t_settle) > o.settle_s * 1000.0 || after.rss_kib < 0)
      break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  std::ostringstream m;
  m << "VmRSS " << mib(before.rss_kib) << " -> peak " << mib(peak_rss) << " (+" << mib(peak_rss - before.rss_kib)
    << ") -> " << mib(after.rss_kib) << "; fds " << before.fds << " -> " << after.fds << "; overlay files "
    << overlays_before << " -> " << overlays_after << " (" << long(ms_since(t_settle))
    << " ms after the strangers left)";
  rep.note(m.str());
  if (after.rss_kib < 0) rep.violation("the server process is gone");
  if (peak_rss - before.rss_kib > o.rss_bound_mib * 1024) rep.violation("server VmRSS grew too much: " + m.str());
  if (after.fds > before.fds) rep.violation("server fds left behind: " + m.str());
  if (overlays_after > overlays_before) rep.violation("free-tier overlays left behind: " + m.str());
  if (after.rss_kib > before.rss_kib + o.settle_rss_mib * 1024)
    rep.violation("server VmRSS not back near the baseline: " + m.str());
  std::string why;
  if (side_login_ms(o.target, 5000, 0x6fff, &why) < 0) rep.violation("a new anonymous login afterwards: " + why);
  honest.stop(&rep);
  rep.note("IPv6 case skipped: lo carries only ::1 here, so no second IPv6 source address (unit tests cover /64)");
  if (rep.violations()) {
    std::fprintf(stderr, "hostile_fairness: %d violation(s)\n", rep.violations());
    return 1;
  }
  std::fprintf(stderr, "hostile_fairness: all checks passed\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
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
    else if (a == "--blank") o.target.blank = next();
    else if (a == "--server-pid") o.server_pid = std::stoi(next());
    else if (a == "--paid-url") o.paid_url = next();
    else if (a == "--guess-target") o.guess_target = next();
    else if (a == "--guess-user") o.guess_user = next();
    else if (a == "--overlay-dir") o.overlay_dir = next();
    else if (a == "--slot-addresses") o.slot_addresses = std::stoi(next());
    else if (a == "--slot-sockets") o.slot_sockets = std::stoi(next());
    else if (a == "--anon-addresses") o.anon_addresses = std::stoi(next());
    else if (a == "--guessers") o.guessers = std::stoi(next());
    else if (a == "--guess-challenges") o.guess_challenges = std::stoi(next());
    else if (a == "--honest") o.honest = std::stoi(next());
    else if (a == "--strangers") {
      o.strangers.clear();
      std::stringstream ss(next());
      for (std::string n; std::getline(ss, n, ',');)
        if (!n.empty()) o.strangers.insert(n);
    }
    else if (a == "--rss-bound-mib") o.rss_bound_mib = std::stol(next());
    else if (a == "--settle-rss-mib") o.settle_rss_mib = std::stol(next());
    else if (a == "--side-ms") o.side_ms = std::stod(next());
    else if (a == "--settle-s") o.settle_s = std::stoi(next());
    else {
      std::fprintf(stderr, "unknown option %s (see the header of hostile_fairness.cc)\n", a.c_str());
      return 2;
    }
  }
  if (o.target.port == 0 || o.target.blank.empty() || o.server_pid == 0 || o.paid_url.empty() ||
      o.guess_target.empty() || o.guess_user.empty()) {
    std::fprintf(stderr, "need --port, --blank, --server-pid, --paid-url, --guess-target and --guess-user\n");
    return 2;
  }
  return run(o);
}
