// Adversarial clients next to honest ones.
//
//   hostile --port P [--host 127.0.0.1] --target IQN [--lun N] --honest-url URL
//           [--server-pid PID] [--honest 3] [--rounds 20] [--timeout-ms 5000]
//           [--connections 200] [--hold-s 22] [--login-timeout-s 15]
//           [--stall-close-s 30] [--rss-bound-mib 128] [--free-prefix IQN-PREFIX]
//           [--disjoint-regions] [--only NAME-PART] [--skip NAME-PART]
//           [--resource-attacks nop-flood,stopped-reader,cmdsn-gap,connections]
//
// Several honest libiscsi sessions (each its own login to the blank target,
// so each its own private disk) first read their whole work region, which
// must be zeros, then run verified write/read loops for the whole run. Around
// them, in two phases:
//
// 1. Protocol attacks, `--rounds` times, one misdeed per connection: garbage
//    and SendTargets before login, wrong-stage PDUs during login, AuthMethod
//    CHAP against an anonymous target and CHAP guesses in discovery, huge
//    DataSegmentLength / TotalAHSLength, oversize segments and immediate data,
//    unknown opcodes, out-of-window CmdSN, Data-Out for an unknown tag or past
//    its burst, truncated PDUs, digest errors, a Login PDU in full feature
//    phase; plus one check that anonymous discovery lists only free-tier
//    names. Each misdeed must end in a Reject, a login reject or a closed
//    connection within --timeout-ms (for a few, RFC 7143 also lets the target
//    drop the PDU silently: then a NOP-Out ping sent right after must be
//    answered).
// 2. Resource attacks, all at once: a client that floods immediate NOP-Outs
//    and never reads (the target must stop reading from it: backpressure),
//    thousands of SCSI commands behind a missing CmdSN (with and without
//    data), a client that queues 1 MiB READs and never reads the Data-In, and
//    --connections sockets opened and held (nothing sent, a Login PDU dripped
//    byte by byte, half a data segment, a login left in the security stage).
//    The stalled readers must be dropped within --stall-close-s + 15 s, and
//    the unfinished logins by the end of the --hold-s hold when that is at
//    least --login-timeout-s + 5 s (0 disables either check); a refused or
//    closed connection (or Login reject 03/02, a per-address limit) is a
//    correct answer to the connection flood. A new login must not hang while
//    the flood is held, and must succeed once it is closed.
//
// Throughout, with --server-pid, the server's VmRSS is sampled every 100 ms;
// the peak may exceed the level before the attacks by at most
// --rss-bound-mib. Afterwards the target must accept a new login and answer a
// ping, and every honest session must have seen no error and no wrong byte
// and made progress during the resource attacks.
// --only/--skip pick protocol attacks by name, --resource-attacks the phase 2
// set ("none" for none), for debugging one attack at a time;
// --disjoint-regions gives the honest sessions separate LBA ranges (for a
// target that shares one LUN between logins, like tgt).
// Exit 1 on any violation, 2 on setup errors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "iscsi/crc32c.h"
#include "iscsi/pdu.h"
#include "iscsi_client.h"
#include "scsi/lun_address.h"

namespace {

// The BHS and its kinds (iscsi/pdu.h): every field by name.
using namespace scsipub::iscsi;  // only pdu.h and crc32c.h are included from it
using scsipub::store_be16;
using scsipub::store_be32;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string target;
  int lun = 0;
  std::string honest_url;
  int server_pid = 0;
  int honest = 3;
  int rounds = 20;
  int timeout_ms = 5000;
  int connections = 200;
  int hold_s = 22;
  int login_timeout_s = 15;
  int stall_close_s = 30;
  // Measured peak growth over the whole run (2026-11-26, 2 cores): ~50-56 MiB
  // with ASan (quarantine_size_mb=16, as run_program.sh sets it), ~24 MiB
  // without sanitizers; 128 MiB is ~2.5x the ASan figure. Without
  // backpressure, or with an unbounded CmdSN stash, one attack alone would
  // exceed it (tgt: +1.1 GiB).
  long rss_bound_mib = 128;
  std::string free_prefix = "iqn.2025-01.pub.scsipub:";
  bool disjoint_regions = false;
  std::string only;  // run only the protocol attacks whose name contains this
  std::string skip;  // and not those whose name contains this
  std::set<std::string> resource_attacks{"nop-flood", "stopped-reader", "cmdsn-gap", "connections"};
};

std::atomic<int> g_violations{0};
std::mutex g_log_mu;

void violation(const std::string& what) {
  ++g_violations;
  std::lock_guard lock(g_log_mu);
  std::fprintf(stderr, "VIOLATION: %s\n", what.c_str());
}

void note(const std::string& what) {
  std::lock_guard lock(g_log_mu);
  std::fprintf(stderr, "hostile: %s\n", what.c_str());
}

double secs_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// ---------------------------------------------------------------- connection

struct Pdu {
  Bhs bhs;
  std::vector<uint8_t> data;
};

enum class Recv { pdu, closed, timeout, error };

class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { close(); }

  bool open(const Options& o) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(o.port));
    if (::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr) != 1) return false;
    // Blocking connect on loopback is immediate or refused.
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

  // false when the peer already closed (EPIPE/ECONNRESET): not an error for us.
  bool send_raw(const std::vector<uint8_t>& b) {
    size_t done = 0;
    while (done < b.size()) {
      ssize_t n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += size_t(n);
    }
    return true;
  }

  // Sends what the socket takes until `deadline`, or until nothing went out
  // for `stall`. Returns the bytes sent; *closed when the peer went away.
  size_t send_bounded(const uint8_t* p, size_t n, Clock::time_point deadline, milliseconds stall, bool* closed,
                      bool* stalled) {
    size_t done = 0;
    auto last = Clock::now();
    while (done < n) {
      auto now = Clock::now();
      if (now >= deadline) break;
      if (now - last >= stall) {
        *stalled = true;
        break;
      }
      pollfd pfd{fd_, POLLOUT, 0};
      int pr = ::poll(&pfd, 1, 100);
      if (pr < 0 && errno == EINTR) continue;
      if (pr == 0) continue;
      if (pfd.revents & (POLLERR | POLLHUP)) {
        *closed = true;
        break;
      }
      ssize_t k = ::send(fd_, p + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (k <= 0) {
        *closed = true;
        break;
      }
      done += size_t(k);
      last = Clock::now();
    }
    return done;
  }

  // True once the peer closed (FIN or RST), whether or not we read what it sent.
  bool peer_closed(int wait_ms) const {
    pollfd pfd{fd_, POLLRDHUP, 0};
    int pr = ::poll(&pfd, 1, wait_ms);
    return pr > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

  uint16_t local_port() const {
    sockaddr_in a{};
    socklen_t n = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n) != 0) return 0;
    return ntohs(a.sin_port);
  }

  // One PDU as the wire carries it. Corruption switches for digest tests.
  std::vector<uint8_t> frame(const Bhs& bhs, const std::vector<uint8_t>& data, bool bad_hdr = false,
                             bool bad_data = false, const std::vector<uint8_t>& ahs = {}) const {
    std::vector<uint8_t> out(bhs.bytes().begin(), bhs.bytes().end());
    out.insert(out.end(), ahs.begin(), ahs.end());
    if (hd_) {
      uint32_t c = scsipub::iscsi::crc32c(std::span<const uint8_t>(out.data(), out.size()));
      if (bad_hdr) c ^= 0x1;
      out.resize(out.size() + 4);
      scsipub::iscsi::store_digest(&out[out.size() - 4], c);
    }
    if (!data.empty()) {
      size_t start = out.size();
      out.insert(out.end(), data.begin(), data.end());
      out.resize(start + scsipub::iscsi::pad4(uint32_t(data.size())), 0);
      if (dd_) {
        uint32_t c = scsipub::iscsi::crc32c(std::span<const uint8_t>(out.data() + start, out.size() - start));
        if (bad_data) c ^= 0x1;
        out.resize(out.size() + 4);
        scsipub::iscsi::store_digest(&out[out.size() - 4], c);
      }
    }
    return out;
  }

  bool send_pdu(const Bhs& bhs, const std::vector<uint8_t>& data = {}) { return send_raw(frame(bhs, data)); }

  Recv recv_pdu(Pdu& p, Clock::time_point deadline) {
    uint8_t h[48];
    Recv r = read_exact(h, 48, deadline);
    if (r != Recv::pdu) return r;
    p.bhs = Bhs(std::span<const uint8_t>(h, 48));
    size_t rest = p.bhs.total_ahs_bytes() + (hd_ ? 4 : 0);
    const uint32_t dsl = p.bhs.data_segment_length();
    if (dsl > (16u << 20)) return Recv::error;
    std::vector<uint8_t> skip(rest);
    if (rest && (r = read_exact(skip.data(), rest, deadline)) != Recv::pdu) return r;
    p.data.assign(scsipub::iscsi::pad4(dsl) + (dsl && dd_ ? 4 : 0), 0);
    if (!p.data.empty() && (r = read_exact(p.data.data(), p.data.size(), deadline)) != Recv::pdu) return r;
    p.data.resize(dsl);
    return Recv::pdu;
  }

  void set_digests(bool hd, bool dd) {
    hd_ = hd;
    dd_ = dd;
  }
  bool hd() const { return hd_; }
  bool dd() const { return dd_; }

 private:
  Recv read_exact(uint8_t* p, size_t n, Clock::time_point deadline) {
    size_t got = 0;
    while (got < n) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Recv::timeout;
      pollfd pfd{fd_, POLLIN, 0};
      int pr = ::poll(&pfd, 1, int(left));
      if (pr < 0 && errno == EINTR) continue;
      if (pr == 0) return Recv::timeout;
      ssize_t k = ::recv(fd_, p + got, n - got, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k == 0) return Recv::closed;
      if (k < 0) return (errno == ECONNRESET || errno == EPIPE) ? Recv::closed : Recv::error;
      got += size_t(k);
    }
    return Recv::pdu;
  }

  int fd_ = -1;
  bool hd_ = false, dd_ = false;
};

// ------------------------------------------------------------------- session

using KeyList = std::vector<std::pair<std::string, std::string>>;

std::vector<uint8_t> text_keys(const KeyList& kv) {
  std::vector<uint8_t> out;
  for (auto& [k, v] : kv) {
    std::string s = k + "=" + v;
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(0);
  }
  return out;
}

KeyList parse_key_list(const std::vector<uint8_t>& d) {
  KeyList out;
  size_t i = 0;
  while (i < d.size()) {
    size_t j = i;
    while (j < d.size() && d[j] != 0) ++j;
    std::string s(d.begin() + long(i), d.begin() + long(j));
    auto eq = s.find('=');
    if (eq != std::string::npos) out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    i = j + 1;
  }
  return out;
}

std::map<std::string, std::string> parse_keys(const std::vector<uint8_t>& d) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : parse_key_list(d)) m[k] = v;
  return m;
}

struct Session {
  Conn c;
  uint32_t cmdsn = 0, expstatsn = 0, itt = 0x100;
  uint32_t max_cmdsn = 0;        // from the last PDU that carried it
  uint32_t target_mrdsl = 8192;  // what we may send in one PDU
  uint32_t first_burst = 65536;
  bool immediate_data = false;
  bool initial_r2t = true;
  std::map<std::string, std::string> keys;
};

// The BHS LUN field of LUN `lun` (< 256) (SAM-5 4.7).
uint64_t lun_field(int lun) { return scsipub::scsi::encode_lun(uint8_t(lun)); }

constexpr const char* kMallory = "iqn.2025-01.test.hostile:mallory";

LoginRequestHeader login_bhs(uint8_t csg, uint8_t nsg, bool transit, uint32_t cmdsn, uint32_t expstatsn,
                             uint16_t isid_q) {
  LoginRequestHeader b;  // RFC 7143 11.12: I bit always set
  b.set_transit(transit);
  b.set_csg(csg);
  b.set_nsg(nsg);
  // ISID (11.12.5): type 0x80 "random", then a qualifier we vary per connection.
  b.set_isid({0x80, 0x12, 0x34, 0x56, uint8_t(isid_q >> 8), uint8_t(isid_q)});
  b.set_itt(0x1);
  b.set_cid(0);
  b.set_cmd_sn(cmdsn);
  b.set_exp_stat_sn(expstatsn);
  return b;
}

// The first Login PDU's keys: security stage.
std::vector<uint8_t> security_keys(const std::string& target, const std::string& auth = "None",
                                   bool discovery = false) {
  KeyList kv{{"InitiatorName", kMallory}, {"SessionType", discovery ? "Discovery" : "Normal"}};
  if (!discovery) kv.emplace_back("TargetName", target);
  kv.emplace_back("AuthMethod", auth);
  return text_keys(kv);
}

struct LoginSpec {
  bool discovery = false;
  bool digests = false;
  bool initial_r2t = true;
  uint16_t isid_q = 0x100;
};

// One login attempt to full feature phase with AuthMethod=None.
bool try_login(Session& s, const Options& o, const LoginSpec& spec, std::string* why) {
  s.c.close();
  if (!s.c.open(o)) {
    *why = "connect failed: " + std::string(std::strerror(errno));
    return false;
  }
  const auto deadline = Clock::now() + milliseconds(o.timeout_ms);
  uint32_t cmdsn = 1, expstatsn = 0;
  std::vector<uint8_t> d = security_keys(o.target, "None", spec.discovery);
  uint8_t csg = 0, nsg = 1;
  bool sent_ops = false;
  for (int step = 0; step < 8; ++step) {
    Bhs b = login_bhs(csg, nsg, true, cmdsn, expstatsn, spec.isid_q);
    b.set_data_segment_length(uint32_t(d.size()));
    if (!s.c.send_pdu(b, d)) {
      *why = "send failed during login";
      return false;
    }
    Pdu r;
    Recv rv = s.c.recv_pdu(r, deadline);
    if (rv != Recv::pdu) {
      *why = rv == Recv::timeout ? "login response timeout" : "connection closed during login";
      return false;
    }
    if (r.bhs.opcode() != Opcode::login_response) {
      *why = "unexpected opcode during login: " + std::to_string(r.bhs.opcode_raw());
      return false;
    }
    const LoginResponseHeader rsp(r.bhs);
    if (rsp.status_class() != 0) {
      *why = "login rejected, status " + std::to_string(rsp.status_class()) + "/" + std::to_string(rsp.status_detail());
      return false;
    }
    for (auto& [k, v] : parse_keys(r.data)) s.keys[k] = v;
    expstatsn = rsp.stat_sn() + 1;
    cmdsn = rsp.exp_cmd_sn();
    s.max_cmdsn = rsp.max_cmd_sn();
    const bool t = rsp.transit();
    const uint8_t rnsg = rsp.nsg();
    if (t && rnsg == 3) break;  // full feature phase
    if (t && rnsg == 1) csg = 1;
    if (csg == 1 && !sent_ops) {
      const char* dig = spec.digests ? "CRC32C,None" : "None";
      KeyList kv{{"HeaderDigest", dig},
                 {"DataDigest", dig},
                 {"MaxRecvDataSegmentLength", "262144"},
                 {"DefaultTime2Wait", "0"},
                 {"DefaultTime2Retain", "0"},
                 {"ErrorRecoveryLevel", "0"}};
      if (!spec.discovery) {
        KeyList more{{"InitialR2T", spec.initial_r2t ? "Yes" : "No"},
                     {"ImmediateData", "Yes"},
                     {"MaxBurstLength", "262144"},
                     {"FirstBurstLength", "65536"},
                     {"MaxOutstandingR2T", "1"},
                     {"DataPDUInOrder", "Yes"},
                     {"DataSequenceInOrder", "Yes"},
                     {"MaxConnections", "1"}};
        kv.insert(kv.end(), more.begin(), more.end());
      }
      d = text_keys(kv);
      sent_ops = true;
      nsg = 3;
    } else {
      d.clear();
    }
    if (step == 7) {
      *why = "login did not reach full feature phase";
      return false;
    }
  }
  s.cmdsn = cmdsn;
  s.expstatsn = expstatsn;
  auto num = [&](const char* k, uint32_t dflt) {
    auto it = s.keys.find(k);
    return it == s.keys.end() ? dflt : uint32_t(std::strtoul(it->second.c_str(), nullptr, 10));
  };
  s.target_mrdsl = num("MaxRecvDataSegmentLength", 8192);
  s.first_burst = std::min<uint32_t>(num("FirstBurstLength", 65536), 65536);
  s.immediate_data = s.keys.count("ImmediateData") ? s.keys["ImmediateData"] == "Yes" : true;
  s.initial_r2t = s.keys.count("InitialR2T") ? s.keys["InitialR2T"] == "Yes" : true;
  s.c.set_digests(s.keys["HeaderDigest"] == "CRC32C", s.keys["DataDigest"] == "CRC32C");
  return true;
}

// A login that retries 03/01 (Service Unavailable) like an initiator: the
// attacks reuse one nexus, and a free-tier login that overtakes the previous
// attack's connection is asked to retry until that one has let go of its disk.
bool do_login(Session& s, const Options& o, const LoginSpec& spec, std::string* why) {
  for (int attempt = 0;; ++attempt) {
    if (try_login(s, o, spec, why)) return true;
    if (attempt == 20 || *why != "login rejected, status 3/1") return false;
    std::this_thread::sleep_for(milliseconds(100));
  }
}

bool do_login(Session& s, const Options& o, bool want_digests, uint16_t isid_q, std::string* why) {
  LoginSpec spec;
  spec.digests = want_digests;
  spec.isid_q = isid_q;
  return do_login(s, o, spec, why);
}

NopOutHeader nop_out(Session& s, uint32_t itt) {
  NopOutHeader b;
  b.set_immediate(true);
  b.set_itt(itt);
  b.set_ttt(kReservedTag);
  b.set_cmd_sn(s.cmdsn);  // immediate: CmdSN does not advance
  b.set_exp_stat_sn(s.expstatsn);
  return b;
}

// WRITE(10) of `blocks` blocks at `lba`, with `imm` bytes of immediate data.
ScsiCommandHeader write10(Session& s, uint32_t lba, uint16_t blocks, uint32_t imm, int lun) {
  ScsiCommandHeader b;
  b.set_final(true);
  b.set_write(true);
  b.set_attribute(TaskAttribute::simple);
  b.set_data_segment_length(imm);
  b.set_lun_raw(lun_field(lun));
  b.set_itt(s.itt++);
  b.set_expected_data_transfer_length(uint32_t(blocks) * 512);
  b.set_cmd_sn(s.cmdsn++);
  b.set_exp_stat_sn(s.expstatsn);
  b.cdb()[0] = 0x2a;  // WRITE(10), SBC-3 5.40
  store_be32(&b.cdb()[2], lba);
  store_be16(&b.cdb()[7], blocks);
  return b;
}

// READ(10) of `blocks` blocks at `lba`.
ScsiCommandHeader read10(Session& s, uint32_t lba, uint16_t blocks, int lun) {
  ScsiCommandHeader b;
  b.set_final(true);
  b.set_read(true);
  b.set_attribute(TaskAttribute::simple);
  b.set_lun_raw(lun_field(lun));
  b.set_itt(s.itt++);
  b.set_expected_data_transfer_length(uint32_t(blocks) * 512);
  b.set_cmd_sn(s.cmdsn++);
  b.set_exp_stat_sn(s.expstatsn);
  b.cdb()[0] = 0x28;  // READ(10), SBC-3 5.12
  store_be32(&b.cdb()[2], lba);
  store_be16(&b.cdb()[7], blocks);
  return b;
}

DataOutHeader data_out(uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t offset, uint32_t len, bool final_pdu,
                       int lun, uint32_t expstatsn) {
  DataOutHeader b;
  b.set_final(final_pdu);
  b.set_data_segment_length(len);
  b.set_lun_raw(lun_field(lun));
  b.set_itt(itt);
  b.set_ttt(ttt);
  b.set_exp_stat_sn(expstatsn);
  b.set_data_sn(datasn);
  b.set_buffer_offset(offset);
  return b;
}

// ---------------------------------------------------------------- outcomes

enum class Out {
  rejected,
  closed,
  login_rejected,
  check_condition,
  ignored,
  accepted,
  refused,
  r2t,
  timeout,
  other
};

const char* name(Out o) {
  switch (o) {
    case Out::rejected: return "Reject";
    case Out::closed: return "closed";
    case Out::login_rejected: return "login rejected";
    case Out::check_condition: return "CHECK CONDITION";
    case Out::ignored: return "dropped (ping answered)";
    case Out::accepted: return "accepted";
    case Out::refused: return "refused";
    case Out::r2t: return "R2T (accepted the bad PDU)";
    case Out::timeout: return "no answer (hang)";
    case Out::other: return "other";
  }
  return "?";
}

std::string status_str(const Bhs& b) {
  const LoginResponseHeader r(b);
  return std::to_string(r.status_class()) + "/" + std::to_string(r.status_detail());
}

// Answers the target's own NOP-In ping (11.18) so we stay polite.
void answer_target_ping(Session& s, const Pdu& p) {
  NopOutHeader b = nop_out(s, kReservedTag);
  b.set_ttt(NopInHeader(p.bhs).ttt());
  s.c.send_pdu(b);
}

// Reads PDUs until something decisive. ping_itt: the ITT of a NOP-Out sent
// after the bad PDU (0 = none); bad_itts: pings the target must NOT answer.
Out observe(Session& s, const Options& o, uint32_t ping_itt, const std::set<uint32_t>& bad_itts,
            std::string* detail) {
  const auto deadline = Clock::now() + milliseconds(o.timeout_ms);
  for (int n = 0; n < 512; ++n) {
    Pdu p;
    switch (s.c.recv_pdu(p, deadline)) {
      case Recv::closed:
      case Recv::error:
        return Out::closed;
      case Recv::timeout:
        return Out::timeout;
      case Recv::pdu:
        break;
    }
    switch (p.bhs.opcode()) {
      case Opcode::reject:
        *detail = "reason 0x" + std::to_string(RejectHeader(p.bhs).reason());
        return Out::rejected;
      case Opcode::login_response:
        *detail = "status " + status_str(p.bhs);
        if (LoginResponseHeader(p.bhs).status_class() != 0) return Out::login_rejected;
        return Out::other;
      case Opcode::scsi_response: {
        const ScsiResponseHeader r(p.bhs);
        *detail = "status 0x" + std::to_string(r.status()) + " response " + std::to_string(r.response());
        if (r.status() == 0x02 || r.response() != 0) return Out::check_condition;
        return Out::other;
      }
      case Opcode::r2t:
        return Out::r2t;
      case Opcode::data_in: {
        const DataInHeader d(p.bhs);
        if (!d.status_present()) continue;
        *detail = "Data-In with status 0x" + std::to_string(d.status());
        return d.status() == 0 ? Out::other : Out::check_condition;
      }
      case Opcode::text_response: {
        std::string t(p.data.begin(), p.data.end());
        for (auto& ch : t)
          if (ch == 0) ch = ' ';
        *detail = "Text Response: " + t.substr(0, 200);
        return Out::other;
      }
      case Opcode::nop_in:
        if (bad_itts.count(p.bhs.itt())) {
          *detail = "answered NOP-Out ITT 0x" + std::to_string(p.bhs.itt()) + " that it had to drop";
          return Out::other;
        }
        if (ping_itt != 0 && p.bhs.itt() == ping_itt) return Out::ignored;
        if (p.bhs.itt() == kReservedTag) answer_target_ping(s, p);
        continue;
      default:
        continue;  // async message, logout response, ...: keep reading
    }
  }
  return Out::other;
}

Out observe(Session& s, const Options& o, uint32_t ping_itt, uint32_t bad_itt, std::string* detail) {
  std::set<uint32_t> bad;
  if (bad_itt != 0) bad.insert(bad_itt);
  return observe(s, o, ping_itt, bad, detail);
}

struct Case {
  std::string name;
  std::set<Out> ok;
  std::map<Out, int> seen;
};

void record(Case& c, Out o, const std::string& detail) {
  c.seen[o]++;
  if (!c.ok.count(o)) violation(c.name + ": " + name(o) + (detail.empty() ? "" : " (" + detail + ")"));
}

std::vector<uint8_t> as_bytes(const Bhs& b) { return {b.bytes().begin(), b.bytes().end()}; }

bool login_or_flag(Session& s, const Options& o, Case& c, bool digests = false, uint16_t q = 0x100) {
  std::string why;
  if (!do_login(s, o, digests, q, &why)) {
    violation(c.name + ": setup login failed: " + why);
    return false;
  }
  return true;
}

bool login_or_flag(Session& s, const Options& o, Case& c, const LoginSpec& spec) {
  std::string why;
  if (!do_login(s, o, spec, &why)) {
    violation(c.name + ": setup login failed: " + why);
    return false;
  }
  return true;
}

// ------------------------------------------------- phase 1: protocol attacks

const std::set<Out> kRejectOrClose{Out::rejected, Out::closed};

void garbage_before_login(const Options& o, Case& c, int round) {
  std::mt19937 rng(uint32_t(1000 + round));
  std::vector<std::vector<uint8_t>> variants;
  const char* labels[] = {"1 KiB noise", "HTTP request", "SCSI command before login",
                          "login PDU announcing 16 MiB", "login PDU with DataSegmentLength 0xffffff"};
  {  // 1 KiB of noise; the first byte is forced to a non-login opcode
    std::vector<uint8_t> g(1024);
    for (auto& b : g) b = uint8_t(rng());
    g[0] = 0x3f;
    variants.push_back(g);
  }
  {
    std::string h = "GET / HTTP/1.1\r\nHost: scsipub\r\n\r\n";
    std::vector<uint8_t> g(h.begin(), h.end());
    g.resize(64, 0);
    variants.push_back(g);
  }
  {  // a well-formed SCSI command PDU before any login
    ScsiCommandHeader b;
    b.set_final(true);
    b.set_read(true);
    b.set_attribute(TaskAttribute::simple);
    b.cdb()[0] = 0x00;  // TEST UNIT READY
    variants.push_back(as_bytes(b));
  }
  {  // a login request announcing a 16 MiB data segment (never sent)
    Bhs b = login_bhs(0, 1, true, 1, 0, 0x7777);
    b.set_data_segment_length(0xfffff0);
    variants.push_back(as_bytes(b));
  }
  {  // the largest length the field can hold, and a kilobyte of it
    Bhs b = login_bhs(0, 1, true, 1, 0, 0x7778);
    b.set_data_segment_length(0xffffff);
    std::vector<uint8_t> g = as_bytes(b);
    g.resize(g.size() + 1024, 'A');
    variants.push_back(g);
  }
  for (size_t i = 0; i < variants.size(); ++i) {
    Session s;
    if (!s.c.open(o)) {
      violation(c.name + ": connect failed");
      continue;
    }
    s.c.send_raw(variants[i]);
    std::string d;
    Out out = observe(s, o, 0, 0, &d);
    record(c, out, std::string(labels[i]) + (d.empty() ? "" : ", " + d));
  }
}

// A Text Request with SendTargets=All as the very first PDU: no login, so no
// target names, whatever else happens.
void sendtargets_before_login(const Options& o, Case& c) {
  for (bool immediate : {true, false}) {
    Session s;
    if (!s.c.open(o)) {
      violation(c.name + ": connect failed");
      return;
    }
    TextRequestHeader b;
    b.set_immediate(immediate);
    b.set_final(true);
    b.set_itt(0x42);
    b.set_ttt(kReservedTag);
    b.set_cmd_sn(1);
    std::vector<uint8_t> d = text_keys({{"SendTargets", "All"}});
    b.set_data_segment_length(uint32_t(d.size()));
    s.c.send_pdu(b, d);
    std::string det;
    Out out = observe(s, o, 0, 0, &det);
    if (det.find("TargetName") != std::string::npos) {
      violation(c.name + ": target names sent before login: " + det);
      c.seen[Out::other]++;
      continue;
    }
    record(c, out, det);
  }
}

// Wrong-stage PDUs during login: after the first (successful) Login Response
// the connection is still in the login phase and only Login Requests belong.
// Returns false (and flags) when the first step itself fails.
bool first_login_step(Session& s, const Options& o, Case& c, uint16_t q) {
  if (!s.c.open(o)) {
    violation(c.name + ": connect failed");
    return false;
  }
  std::vector<uint8_t> d = security_keys(o.target);
  Bhs b = login_bhs(0, 1, true, 1, 0, q);
  b.set_data_segment_length(uint32_t(d.size()));
  s.c.send_pdu(b, d);
  Pdu r;
  if (s.c.recv_pdu(r, Clock::now() + milliseconds(o.timeout_ms)) != Recv::pdu ||
      r.bhs.opcode() != Opcode::login_response || LoginResponseHeader(r.bhs).status_class() != 0) {
    violation(c.name + ": first login step failed");
    return false;
  }
  s.cmdsn = LoginResponseHeader(r.bhs).exp_cmd_sn();
  s.expstatsn = LoginResponseHeader(r.bhs).stat_sn() + 1;
  return true;
}

void wrong_stage_during_login(const Options& o, Case& c) {
  struct Variant {
    const char* label;
    bool after_first_step;
    std::vector<uint8_t> (*make)(Session&, const Options&);
  };
  const Variant variants[] = {
      {"SCSI Command between login steps", true,
       [](Session& s, const Options& oo) {
         Bhs b = read10(s, 0, 1, oo.lun);
         return as_bytes(b);
       }},
      {"Data-Out between login steps", true,
       [](Session& s, const Options& oo) {
         Bhs b = data_out(0x55, 0x66, 0, 0, 512, true, oo.lun, s.expstatsn);
         std::vector<uint8_t> w = as_bytes(b);
         w.resize(w.size() + 512, 0x5a);
         return w;
       }},
      {"Text SendTargets between login steps", true,
       [](Session& s, const Options&) {
         TextRequestHeader b;
         b.set_immediate(true);
         b.set_final(true);
         b.set_itt(0x43);
         b.set_ttt(kReservedTag);
         b.set_cmd_sn(s.cmdsn);
         b.set_exp_stat_sn(s.expstatsn);
         std::vector<uint8_t> d = text_keys({{"SendTargets", "All"}});
         b.set_data_segment_length(uint32_t(d.size()));
         std::vector<uint8_t> w = as_bytes(b);
         w.insert(w.end(), d.begin(), d.end());
         w.resize(kBhsSize + scsipub::iscsi::pad4(uint32_t(d.size())), 0);
         return w;
       }},
      {"Logout before login", false,
       [](Session&, const Options&) {
         LogoutRequestHeader b;
         b.set_immediate(true);
         b.set_itt(0x44);
         b.set_cmd_sn(1);
         return as_bytes(b);
       }},
      {"Login PDU with CSG = full feature phase", false,
       [](Session&, const Options& oo) {
         std::vector<uint8_t> d = security_keys(oo.target);
         Bhs b = login_bhs(3, 3, true, 1, 0, 0x4101);
         b.set_data_segment_length(uint32_t(d.size()));
         std::vector<uint8_t> w = as_bytes(b);
         w.insert(w.end(), d.begin(), d.end());
         w.resize(kBhsSize + scsipub::iscsi::pad4(uint32_t(d.size())), 0);
         return w;
       }},
      {"Login PDU back to the security stage", true,
       [](Session& s, const Options& oo) {
         // After the target moved us to the operational stage, a request whose
         // CSG is security again, transiting straight to full feature phase.
         std::vector<uint8_t> d = security_keys(oo.target);
         Bhs b = login_bhs(0, 3, true, s.cmdsn, s.expstatsn, 0x4100);
         b.set_data_segment_length(uint32_t(d.size()));
         std::vector<uint8_t> w = as_bytes(b);
         w.insert(w.end(), d.begin(), d.end());
         w.resize(kBhsSize + scsipub::iscsi::pad4(uint32_t(d.size())), 0);
         return w;
       }},
  };
  for (const Variant& v : variants) {
    Session s;
    if (v.after_first_step) {
      if (!first_login_step(s, o, c, 0x4100)) continue;
    } else if (!s.c.open(o)) {
      violation(c.name + ": connect failed");
      continue;
    }
    s.c.send_raw(v.make(s, o));
    std::string d;
    Out out = observe(s, o, 0, 0, &d);
    if (d.find("TargetName") != std::string::npos) violation(c.name + ": target names sent during login: " + d);
    record(c, out, std::string(v.label) + (d.empty() ? "" : ", " + d));
  }
}

// A login that offers only CHAP to a target that needs no authentication, and
// CHAP guesses in a discovery session (which may authenticate, to see an
// account's disks). The target may refuse CHAP, or run it and refuse the
// guess; it must never accept a guessed response.
Out chap_attempt(const Options& o, bool discovery, const std::string& offer, uint16_t q, std::string* detail) {
  Session s;
  if (!s.c.open(o)) {
    *detail = "connect failed";
    return Out::refused;
  }
  const auto deadline = Clock::now() + milliseconds(o.timeout_ms);
  uint32_t expstatsn = 0;
  auto step = [&](const std::vector<uint8_t>& d, bool transit, Pdu& r) -> Recv {
    Bhs b = login_bhs(0, 1, transit, 1, expstatsn, q);
    b.set_data_segment_length(uint32_t(d.size()));
    if (!s.c.send_pdu(b, d)) return Recv::closed;
    Recv rv = s.c.recv_pdu(r, deadline);
    if (rv == Recv::pdu) expstatsn = TargetHeader(r.bhs).stat_sn() + 1;
    return rv;
  };
  auto decisive = [&](Recv rv, const Pdu& r, Out* out) {
    if (rv == Recv::timeout) {
      *out = Out::timeout;
    } else if (rv != Recv::pdu) {
      *out = Out::closed;
    } else if (r.bhs.opcode() == Opcode::reject) {
      *out = Out::rejected;
    } else if (r.bhs.opcode() != Opcode::login_response) {
      *detail = "opcode " + std::to_string(r.bhs.opcode_raw());
      *out = Out::other;
    } else if (LoginResponseHeader(r.bhs).status_class() != 0) {
      *detail = "status " + status_str(r.bhs);
      *out = Out::login_rejected;
    } else {
      return false;
    }
    return true;
  };
  Pdu r;
  Out out = Out::other;
  Recv rv = step(security_keys(o.target, offer, discovery), false, r);
  if (decisive(rv, r, &out)) return out;
  const std::string method = parse_keys(r.data)["AuthMethod"];
  if (method == "None" && offer.find("None") != std::string::npos) {
    *detail = "AuthMethod=None chosen";
    return Out::accepted;
  }
  if (method != "CHAP") {
    *detail = "target answered AuthMethod=" + method + " to an offer of " + offer;
    return Out::other;
  }
  rv = step(text_keys({{"CHAP_A", "5"}}), false, r);
  if (decisive(rv, r, &out)) return out;
  auto keys = parse_keys(r.data);
  if (!keys.count("CHAP_C") || !keys.count("CHAP_I")) {
    *detail = "no CHAP challenge";
    return Out::other;
  }
  std::mt19937 rng(q);
  char resp[40];
  std::snprintf(resp, sizeof resp, "0x%08x%08x%08x%08x", unsigned(rng()), unsigned(rng()), unsigned(rng()),
                unsigned(rng()));
  rv = step(text_keys({{"CHAP_N", "guess" + std::to_string(q)}, {"CHAP_R", resp}}), true, r);
  if (decisive(rv, r, &out)) return out;
  *detail = "a guessed CHAP response was ACCEPTED";
  return Out::other;
}

void chap_guesses(const Options& o, Case& c, int round) {
  std::string d;
  Out out = chap_attempt(o, false, "CHAP", uint16_t(0x5100 + round), &d);
  record(c, out, "CHAP only, to " + o.target + (d.empty() ? "" : ", " + d));
  d.clear();
  out = chap_attempt(o, false, "CHAP,None", uint16_t(0x5200 + round), &d);
  record(c, out, "CHAP,None, to " + o.target + (d.empty() ? "" : ", " + d));
  for (int i = 0; i < 2; ++i) {
    d.clear();
    out = chap_attempt(o, true, "CHAP", uint16_t(0x5300 + round * 2 + i), &d);
    record(c, out, "discovery, CHAP guess" + (d.empty() ? "" : ", " + d));
  }
}

// Anonymous discovery lists only free-tier targets: never a CHAP-protected disk.
bool is_free_tier_name(const Options& o, const std::string& n) {
  if (n.rfind(o.free_prefix, 0) != 0) return false;
  std::string rest = n.substr(o.free_prefix.size());
  return rest == "blank" || rest == "multi" || (rest.rfind("image.", 0) == 0 && rest.size() > 6);
}

void anonymous_discovery(const Options& o, Case& c) {
  Session s;
  LoginSpec spec;
  spec.discovery = true;
  spec.isid_q = 0x6100;
  if (!login_or_flag(s, o, c, spec)) return;
  std::vector<uint8_t> all;
  uint32_t ttt = kReservedTag;
  const uint32_t itt = 0x61;
  const auto deadline = Clock::now() + milliseconds(o.timeout_ms);
  bool done = false;
  for (int n = 0; n < 32 && !done; ++n) {
    TextRequestHeader b;
    b.set_final(true);
    b.set_itt(itt);
    b.set_ttt(ttt);
    b.set_cmd_sn(s.cmdsn++);
    b.set_exp_stat_sn(s.expstatsn);
    std::vector<uint8_t> d;
    if (ttt == kReservedTag) d = text_keys({{"SendTargets", "All"}});
    b.set_data_segment_length(uint32_t(d.size()));
    s.c.send_pdu(b, d);
    for (;;) {
      Pdu p;
      Recv rv = s.c.recv_pdu(p, deadline);
      if (rv != Recv::pdu) {
        record(c, rv == Recv::timeout ? Out::timeout : Out::closed, "SendTargets=All in a discovery session");
        return;
      }
      if (p.bhs.opcode() == Opcode::nop_in && p.bhs.itt() == kReservedTag) {
        answer_target_ping(s, p);
        continue;
      }
      if (p.bhs.opcode() != Opcode::text_response) {
        record(c, Out::other, "SendTargets answered with opcode " + std::to_string(p.bhs.opcode_raw()));
        return;
      }
      const TextResponseHeader rsp(p.bhs);
      s.expstatsn = rsp.stat_sn() + 1;
      all.insert(all.end(), p.data.begin(), p.data.end());
      done = rsp.final_bit();
      ttt = rsp.ttt();
      break;
    }
  }
  std::vector<std::string> names;
  for (auto& [k, v] : parse_key_list(all))
    if (k == "TargetName") names.push_back(v);
  std::string bad, listed;
  bool blank = false;
  for (auto& n : names) {
    listed += (listed.empty() ? "" : " ") + n;
    if (!is_free_tier_name(o, n)) bad += (bad.empty() ? "" : ", ") + n;
    if (n == o.free_prefix + "blank") blank = true;
  }
  if (!bad.empty()) {
    violation(c.name + ": anonymous discovery lists non-free-tier target(s): " + bad);
    c.seen[Out::other]++;
  } else if (!blank) {
    violation(c.name + ": anonymous discovery does not list " + o.free_prefix + "blank (got: " + listed + ")");
    c.seen[Out::other]++;
  } else {
    c.seen[Out::accepted]++;
  }
  static std::once_flag once;
  std::call_once(once, [&] { note("anonymous discovery lists: " + listed); });
}

void bad_data_segment_length(const Options& o, Case& c) {
  {  // announces 16 MiB, sends nothing: must not wait for it
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = nop_out(s, 0x500);
    b.set_data_segment_length(0xfffff0);
    s.c.send_raw(as_bytes(b));
    std::string d;
    Out out = observe(s, o, 0, 0, &d);
    record(c, out, "announced 16 MiB" + (d.empty() ? "" : ", " + d));
  }
  {  // just over the target's declared MaxRecvDataSegmentLength, all bytes sent
    Session s;
    if (!login_or_flag(s, o, c)) return;
    const uint32_t len = s.target_mrdsl + 512;
    Bhs b = nop_out(s, 0x501);
    b.set_data_segment_length(len);
    s.c.send_pdu(b, std::vector<uint8_t>(len, 0xee));
    std::string d;
    Out out = observe(s, o, 0, 0, &d);
    record(c, out, "sent MaxRecvDataSegmentLength+512 = " + std::to_string(len) + (d.empty() ? "" : ", " + d));
  }
}

// DataSegmentLength 0xffffff is beyond any MaxRecvDataSegmentLength: Reject
// or close, never a wait for 16 MiB.
void huge_data_segment_length(const Options& o, Case& c) {
  {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = write10(s, 1000, 64, 0, o.lun);
    b.set_data_segment_length(0xffffff);
    std::vector<uint8_t> w = as_bytes(b);
    w.resize(w.size() + 4096, 0x77);
    s.c.send_raw(w);
    std::string d;
    Out out = observe(s, o, 0, 0, &d);
    record(c, out, "WRITE with DataSegmentLength 0xffffff" + (d.empty() ? "" : ", " + d));
  }
  {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = nop_out(s, 0x510);
    b.set_total_ahs_words(255);
    b.set_data_segment_length(0xffffff);
    s.c.send_raw(as_bytes(b));
    std::string d;
    Out out = observe(s, o, 0, 0, &d);
    record(c, out, "NOP-Out with TotalAHSLength 255 and DataSegmentLength 0xffffff" + (d.empty() ? "" : ", " + d));
  }
}

// TotalAHSLength 255: 1020 bytes of AHS is a legal size; sent in full, it
// must not wedge the connection. Any decisive answer will do.
void huge_ahs_length(const Options& o, Case& c) {
  {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = nop_out(s, 0x520);
    b.set_total_ahs_words(255);
    std::vector<uint8_t> ahs(1020, 0xa5);
    s.c.send_raw(s.c.frame(b, {}, false, false, ahs));
    s.c.send_pdu(nop_out(s, 0x521));  // answering 0x520 as well is fine
    std::string d;
    record(c, observe(s, o, 0x521, 0, &d), "NOP-Out with 1020 bytes of AHS" + (d.empty() ? "" : ", " + d));
  }
  {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = read10(s, 0, 1, o.lun);
    b.set_total_ahs_words(255);
    std::vector<uint8_t> ahs(1020, 0);
    ahs[0] = 0x03;  // AHSLength 0x03fc, AHSType 1 (extended CDB): a 1017-byte CDB
    ahs[1] = 0xfc;
    ahs[2] = 0x01;
    s.c.send_raw(s.c.frame(b, {}, false, false, ahs));
    s.c.send_pdu(nop_out(s, 0x530));
    std::string d;
    record(c, observe(s, o, 0x530, 0, &d), "READ(10) with 1020 bytes of extended-CDB AHS" + (d.empty() ? "" : ", " + d));
  }
}

void unknown_opcodes(const Options& o, Case& c) {
  for (uint8_t op : {uint8_t(0x07), uint8_t(0x0f), uint8_t(0x1a)}) {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    NopOutHeader b;  // a NOP-Out's fields under an opcode no RFC defines
    b.set_opcode_raw(op);
    b.set_itt(s.itt++);
    b.set_cmd_sn(s.cmdsn);
    b.set_exp_stat_sn(s.expstatsn);
    s.c.send_pdu(b);
    std::string d;
    record(c, observe(s, o, 0, 0, &d), d);
  }
}

void oversize_immediate(const Options& o, Case& c) {
  Session s;
  if (!login_or_flag(s, o, c)) return;
  const uint32_t imm = s.first_burst + 4096;
  const uint16_t blocks = uint16_t(imm / 512 + 8);
  Bhs b = write10(s, 120000, blocks, imm, o.lun);
  s.c.send_pdu(b, std::vector<uint8_t>(imm, 0xab));
  std::string d;
  record(c, observe(s, o, 0, 0, &d), d);
}

// Non-immediate NOP-Outs far ahead of, far behind and half the sequence space
// away from ExpCmdSN: outside [ExpCmdSN, MaxCmdSN], so RFC 7143 3.2.2.1 says
// drop silently. Then a ping must be answered, and a NOP-Out with the right
// CmdSN must still be accepted (the window did not move).
void out_of_window_cmdsn(const Options& o, Case& c) {
  Session s;
  if (!login_or_flag(s, o, c)) return;
  auto nop = [&](uint32_t itt, uint32_t cmdsn) {
    NopOutHeader b = nop_out(s, itt);
    b.set_immediate(false);
    b.set_cmd_sn(cmdsn);
    s.c.send_pdu(b);
  };
  nop(0xa01, s.cmdsn + 100000);
  nop(0xa02, s.cmdsn - 100000);
  nop(0xa03, s.cmdsn + 0x80000000u);
  s.c.send_pdu(nop_out(s, 0xa10));
  std::string d;
  Out out = observe(s, o, 0xa10, {0xa01, 0xa02}, &d);
  record(c, out, "CmdSN +100000 / -100000 / +2^31" + (d.empty() ? "" : ", " + d));
  if (out != Out::ignored) return;
  nop(0xa20, s.cmdsn++);
  d.clear();
  out = observe(s, o, 0xa20, {0xa01, 0xa02}, &d);
  if (out != Out::ignored) violation(c.name + ": in-window NOP-Out afterwards: " + name(out) + " " + d);
}

void dataout_unknown(const Options& o, Case& c) {
  Session s;
  if (!login_or_flag(s, o, c)) return;
  Bhs b = data_out(0x7777, 0x8888, 0, 0, 512, true, o.lun, s.expstatsn);
  s.c.send_pdu(b, std::vector<uint8_t>(512, 0xcd));
  s.c.send_pdu(nop_out(s, 0x600));
  std::string d;
  record(c, observe(s, o, 0x600, 0, &d), d);
}

// Data-Out beyond what the target asked for: more bytes than the R2T's
// Desired Data Transfer Length, an offset past the R2T's range, and
// unsolicited data beyond FirstBurstLength.
void dataout_past_burst(const Options& o, Case& c) {
  for (int variant = 0; variant < 2; ++variant) {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    const uint16_t blocks = 128;  // 64 KiB, all solicited (no immediate data)
    Bhs w = write10(s, 2000, blocks, 0, o.lun);
    const uint32_t witt = w.itt();
    s.c.send_pdu(w);
    Pdu r;
    const auto deadline = Clock::now() + milliseconds(o.timeout_ms);
    Recv rv;
    while ((rv = s.c.recv_pdu(r, deadline)) == Recv::pdu && r.bhs.opcode() != Opcode::r2t) {
      if (r.bhs.opcode() == Opcode::nop_in && r.bhs.itt() == kReservedTag) answer_target_ping(s, r);
    }
    if (rv != Recv::pdu) {
      violation(c.name + ": no R2T for a 64 KiB WRITE");
      return;
    }
    const R2tHeader r2t(r.bhs);
    const uint32_t ttt = r2t.ttt();
    const uint32_t r2t_off = r2t.buffer_offset();
    const uint32_t want = r2t.desired_data_transfer_length();
    std::string label;
    if (variant == 0) {
      // want + 4 KiB in PDUs of at most the target's MaxRecvDataSegmentLength.
      const uint32_t total = want + 4096;
      label = "Data-Out of " + std::to_string(total) + " bytes for an R2T of " + std::to_string(want);
      for (uint32_t done = 0, sn = 0; done < total; ++sn) {
        const uint32_t len = std::min(total - done, s.target_mrdsl);
        s.c.send_pdu(data_out(witt, ttt, sn, r2t_off + done, len, done + len == total, o.lun, s.expstatsn),
                     std::vector<uint8_t>(len, 0x31));
        done += len;
      }
    } else {
      label = "Data-Out at offset " + std::to_string(r2t_off + want) + ", past the R2T's range";
      s.c.send_pdu(data_out(witt, ttt, 0, r2t_off + want, 512, true, o.lun, s.expstatsn),
                   std::vector<uint8_t>(512, 0x33));
    }
    std::string d;
    record(c, observe(s, o, 0, 0, &d), label + (d.empty() ? "" : ", " + d));
  }
  {  // unsolicited data past FirstBurstLength
    Session s;
    LoginSpec spec;
    spec.initial_r2t = false;
    if (!login_or_flag(s, o, c, spec)) return;
    const uint32_t imm = std::min<uint32_t>(8192, s.first_burst);
    const uint32_t extra = std::min<uint32_t>(s.first_burst, s.target_mrdsl);  // imm + extra > FirstBurstLength
    ScsiCommandHeader w = write10(s, 3000, 512, imm, o.lun);  // 256 KiB
    w.set_final(false);  // unsolicited Data-Out follows (11.3.1)
    s.c.send_pdu(w, std::vector<uint8_t>(imm, 0x41));
    s.c.send_pdu(data_out(w.itt(), kReservedTag, 0, imm, extra, true, o.lun, s.expstatsn),
                 std::vector<uint8_t>(extra, 0x42));
    std::string d;
    record(c, observe(s, o, 0, 0, &d),
           "unsolicited " + std::to_string(imm) + "+" + std::to_string(extra) + " bytes, FirstBurstLength " +
               std::to_string(s.first_burst) + ", InitialR2T=" + (s.initial_r2t ? "Yes" : "No") +
               (d.empty() ? "" : ", " + d));
  }
}

void truncated_then_close(const Options& o, Case& c) {
  {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = write10(s, 120000, 8, 4096, o.lun);
    std::vector<uint8_t> w = s.c.frame(b, std::vector<uint8_t>(4096, 0x11));
    w.resize(30);  // part of the header only
    s.c.send_raw(w);
  }
  {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = write10(s, 120000, 8, 4096, o.lun);
    std::vector<uint8_t> w = s.c.frame(b, std::vector<uint8_t>(4096, 0x22));
    w.resize(48 + 1000);  // header and a quarter of the data
    s.c.send_raw(w);
  }
  c.seen[Out::closed]++;  // we closed; liveness is checked at the end
}

bool digests_or_skip(Session& s, const Options& o, Case& c) {
  if (!login_or_flag(s, o, c, true, 0x200)) return false;
  if (!s.c.hd() || !s.c.dd()) {
    note(c.name + ": target did not accept CRC32C digests (HeaderDigest=" + s.keys["HeaderDigest"] +
         " DataDigest=" + s.keys["DataDigest"] + "); skipped");
    return false;
  }
  return true;
}

void header_digest_error(const Options& o, Case& c) {
  Session s;
  if (!digests_or_skip(s, o, c)) return;
  s.c.send_raw(s.c.frame(nop_out(s, 0x700), {}, /*bad_hdr=*/true));
  s.c.send_pdu(nop_out(s, 0x701));
  std::string d;
  record(c, observe(s, o, 0x701, 0x700, &d), d);
}

void data_digest_error(const Options& o, Case& c) {
  Session s;
  if (!digests_or_skip(s, o, c)) return;
  Bhs b = write10(s, 120000, 1, 512, o.lun);
  s.c.send_raw(s.c.frame(b, std::vector<uint8_t>(512, 0x33), false, /*bad_data=*/true));
  std::string d;
  record(c, observe(s, o, 0, 0, &d), d);
}

void login_in_full_feature_phase(const Options& o, Case& c) {
  Session s;
  if (!login_or_flag(s, o, c)) return;
  Bhs b = login_bhs(0, 1, true, s.cmdsn, s.expstatsn, 0x100);
  std::vector<uint8_t> d = security_keys(o.target);
  b.set_data_segment_length(uint32_t(d.size()));
  s.c.send_pdu(b, d);
  std::string det;
  record(c, observe(s, o, 0, 0, &det), det);
}

// ------------------------------------------------- phase 2: resource attacks

// A connection that is never read again: the target's replies pile up in the
// kernel until its writes stall; it must then stop reading from us (so our
// sends block) and drop the connection after its stall timeout.
struct StallResult {
  size_t sent_bytes = 0;
  bool blocked = false;       // our sends stopped making progress
  bool closed_early = false;  // the target closed while we were still sending
  double closed_after = -1;   // seconds after our sends stopped, -1 = still open
};

// Whether the target still holds its end of our connection open: its socket
// in /proc/net/tcp (local = the target's port, remote = ours) is ESTABLISHED.
// A target that closed while its send queue is full of data we never read
// sends its FIN behind that data, so our end alone cannot tell; the kernel
// keeps the orphaned socket (FIN_WAIT1) without the process.
bool target_end_open(const Options& o, const Conn& c) {
  const unsigned ours = c.local_port();
  std::ifstream f("/proc/net/tcp");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    unsigned sl, la, lp, ra, rp, st;
    if (std::sscanf(line.c_str(), " %u: %X:%X %X:%X %X", &sl, &la, &lp, &ra, &rp, &st) != 6) continue;
    if (lp == unsigned(o.port) && rp == ours) return st == 0x01;  // TCP_ESTABLISHED
  }
  return false;
}

void hold_until_closed(const Options& o, Session& s, StallResult& r, Clock::time_point give_up) {
  const auto t0 = Clock::now();
  while (Clock::now() < give_up) {
    if (s.c.peer_closed(200) || !target_end_open(o, s.c)) {
      r.closed_after = secs_since(t0);
      return;
    }
  }
}

// Immediate NOP-Outs with ITTs (each asks for a NOP-In), never reading.
void nop_flood(const Options& o, Session& s, long max_nops, StallResult& r, Clock::time_point give_up) {
  const size_t batch = 2048;
  std::vector<uint8_t> buf;
  uint32_t itt = 0x10000;
  const auto send_deadline = Clock::now() + seconds(20);
  long sent = 0;
  while (sent < max_nops && !r.blocked && !r.closed_early && Clock::now() < send_deadline) {
    buf.clear();
    for (size_t i = 0; i < batch; ++i) {
      Bhs b = nop_out(s, itt++);
      buf.insert(buf.end(), b.bytes().begin(), b.bytes().end());
    }
    size_t n = s.c.send_bounded(buf.data(), buf.size(), send_deadline, seconds(3), &r.closed_early, &r.blocked);
    r.sent_bytes += n;
    sent += long(n / 48);
  }
  if (!r.closed_early) hold_until_closed(o, s, r, give_up);
}

// READs of 1 MiB, the Data-In never read.
void stopped_reader(Session& s, const Options& o, int reads, StallResult& r, Clock::time_point give_up) {
  std::vector<uint8_t> buf;
  for (int i = 0; i < reads; ++i) {
    Bhs b = read10(s, uint32_t(i % 16) * 2048, 2048, o.lun);
    buf.insert(buf.end(), b.bytes().begin(), b.bytes().end());
  }
  r.sent_bytes = s.c.send_bounded(buf.data(), buf.size(), Clock::now() + seconds(10), seconds(3), &r.closed_early,
                                  &r.blocked);
  if (!r.closed_early) hold_until_closed(o, s, r, give_up);
}

// Skips one CmdSN, then sends `count` SCSI commands after it (with
// `imm` bytes of immediate data each), then fills the gap and pings. Commands
// beyond MaxCmdSN must be dropped; what the target parked behind the gap must
// stay bounded (it may close the connection instead).
struct GapResult {
  size_t sent_commands = 0;
  bool closed = false;
  long responses = -1;  // SCSI Responses after filling the gap; -1 = not reached
  uint32_t window = 0;  // MaxCmdSN - ExpCmdSN + 1 at login
  std::string detail;
};

void cmdsn_gap(Session& s, const Options& o, int count, uint32_t imm, GapResult& g) {
  g.window = s.max_cmdsn - s.cmdsn + 1;
  const uint32_t gap = s.cmdsn++;
  const uint32_t gap_itt = s.itt++;
  const uint16_t blocks = uint16_t(std::max<uint32_t>(1, imm / 512));
  std::vector<uint8_t> payload(imm, 0x5e);
  std::vector<uint8_t> buf;
  const auto deadline = Clock::now() + seconds(20);
  for (int i = 0; i < count && !g.closed && Clock::now() < deadline;) {
    buf.clear();
    int k = 0;
    for (; k < 256 && i + k < count; ++k) {
      Bhs b = imm ? write10(s, 4096 + uint32_t((i + k) % 64) * blocks, blocks, imm, o.lun)
                  : read10(s, uint32_t((i + k) % 64), 1, o.lun);
      auto f = s.c.frame(b, payload);
      buf.insert(buf.end(), f.begin(), f.end());
    }
    bool stalled = false;
    size_t n = s.c.send_bounded(buf.data(), buf.size(), deadline, seconds(5), &g.closed, &stalled);
    g.sent_commands = size_t(i) + n / (buf.size() / size_t(k));
    if (n < buf.size()) {
      if (!g.closed) g.detail = stalled ? "sends stalled" : "send deadline";
      break;
    }
    i += k;
  }
  if (g.closed) return;
  // Fill the gap, then ping: everything the target kept is now in order.
  ScsiCommandHeader fill = imm ? write10(s, 4000, blocks, imm, o.lun) : read10(s, 100, 1, o.lun);
  fill.set_cmd_sn(gap);
  fill.set_itt(gap_itt);
  s.c.send_pdu(fill, payload);
  s.c.send_pdu(nop_out(s, 0xb00));
  const auto rdeadline = Clock::now() + milliseconds(std::max(o.timeout_ms, 15000));
  long responses = 0;
  for (;;) {
    Pdu p;
    Recv rv = s.c.recv_pdu(p, rdeadline);
    if (rv == Recv::timeout) {
      g.detail = "no answer to the ping after filling the gap";
      return;
    }
    if (rv != Recv::pdu) {
      g.closed = true;
      return;
    }
    // A READ's status may ride on its last Data-In (S bit, 11.7.1).
    if (p.bhs.opcode() == Opcode::scsi_response || (p.bhs.opcode() == Opcode::data_in && DataInHeader(p.bhs).status_present()))
      ++responses;
    if (p.bhs.opcode() == Opcode::reject) {
      g.detail = "Reject reason " + std::to_string(RejectHeader(p.bhs).reason());
    }
    if (p.bhs.opcode() == Opcode::nop_in && p.bhs.itt() == 0xb00) break;
    if (p.bhs.opcode() == Opcode::nop_in && p.bhs.itt() == kReservedTag) answer_target_ping(s, p);
  }
  g.responses = responses;
}

// --connections sockets held open, in four styles: silent, a Login PDU
// dripped a byte every two seconds (slowloris), a Login PDU with half of its
// data segment, a login stopped after the first exchange.
struct FloodResult {
  int opened = 0, refused = 0;
  int closed_at_end = 0;  // of the opened, closed by the target by the end of the hold
  int login_answered = 0, login_refused = 0;
  double first_closed = -1, last_closed = -1;
};

void connection_flood(const Options& o, FloodResult& fr, const std::function<void(double)>& during) {
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<double> closed_at;
  std::vector<std::vector<uint8_t>> drip;  // pending bytes for style 1
  const auto t0 = Clock::now();
  for (int i = 0; i < o.connections; ++i) {
    auto c = std::make_unique<Conn>();
    if (!c->open(o)) {
      ++fr.refused;
      continue;
    }
    ++fr.opened;
    std::vector<uint8_t> d = security_keys(o.target);
    Bhs b = login_bhs(0, 1, i % 4 == 3 ? false : true, 1, 0, uint16_t(0x8000 + i));
    b.set_data_segment_length(uint32_t(d.size()));
    std::vector<uint8_t> whole = c->frame(b, d);
    std::vector<uint8_t> pending;
    switch (i % 4) {
      case 0: break;
      case 1:
        c->send_raw(std::vector<uint8_t>(whole.begin(), whole.begin() + 24));
        pending.assign(whole.begin() + 24, whole.end());
        break;
      case 2: c->send_raw(std::vector<uint8_t>(whole.begin(), whole.begin() + 48 + long(d.size() / 2))); break;
      case 3: c->send_raw(whole); break;
    }
    conns.push_back(std::move(c));
    closed_at.push_back(-1);
    drip.push_back(std::move(pending));
  }
  const auto end = t0 + seconds(o.hold_s);
  bool during_done = false;
  size_t drip_pos = 0;
  while (Clock::now() < end) {
    // Drip one byte on each slowloris connection every 2 s.
    for (size_t i = 0; i < conns.size(); ++i) {
      if (closed_at[i] < 0 && conns[i]->peer_closed(0)) closed_at[i] = secs_since(t0);
      if (closed_at[i] < 0 && drip_pos < drip[i].size()) {
        ::send(conns[i]->fd(), &drip[i][drip_pos], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    }
    ++drip_pos;
    if (!during_done && secs_since(t0) >= 5) {
      during_done = true;
      during(secs_since(t0));
    }
    std::this_thread::sleep_for(milliseconds(2000));
  }
  for (size_t i = 0; i < conns.size(); ++i) {
    if (closed_at[i] < 0 && conns[i]->peer_closed(0)) closed_at[i] = secs_since(t0);
    if (closed_at[i] >= 0) {
      ++fr.closed_at_end;
      if (fr.first_closed < 0 || closed_at[i] < fr.first_closed) fr.first_closed = closed_at[i];
      fr.last_closed = std::max(fr.last_closed, closed_at[i]);
    }
    // Style 3 got a Login Response: success (still in login) or a refusal.
    if (i % 4 == 3) {
      Pdu p;
      if (conns[i]->recv_pdu(p, Clock::now() + milliseconds(10)) == Recv::pdu &&
          p.bhs.opcode() == Opcode::login_response) {
        (LoginResponseHeader(p.bhs).status_class() == 0 ? fr.login_answered : fr.login_refused)++;
      }
    }
  }
  // Closing everything happens here, when `conns` goes.
}

// ------------------------------------------------------------ memory monitor

long read_rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

class RssMonitor {
 public:
  explicit RssMonitor(int pid) : pid_(pid) {
    if (pid_ <= 0 || read_rss_kib(pid_) < 0) return;
    th_ = std::thread([this] {
      while (!stop_) {
        long v = read_rss_kib(pid_);
        if (v > 0) {
          long p = peak_.load();
          while (v > p && !peak_.compare_exchange_weak(p, v)) {
          }
          last_ = v;
        } else {
          gone_ = true;
        }
        std::this_thread::sleep_for(milliseconds(100));
      }
    });
  }
  ~RssMonitor() {
    stop_ = true;
    if (th_.joinable()) th_.join();
  }
  bool active() const { return th_.joinable(); }
  long now() const { return read_rss_kib(pid_); }
  // Peak since the last call.
  long take_peak() {
    long cur = now();
    return std::max(peak_.exchange(cur), cur);
  }
  bool gone() const { return gone_; }

 private:
  int pid_;
  std::atomic<bool> stop_{false}, gone_{false};
  std::atomic<long> peak_{0}, last_{0};
  std::thread th_;
};

// ------------------------------------------------------------ honest sessions

struct Honest {
  int index = 0;
  std::atomic<bool> ready{false};  // logged in, zero check done
  std::atomic<bool> finished{false};
  std::atomic<long> ops{0};
  std::string error;  // written by the thread only, read after `finished`
};

std::atomic<bool> g_honest_stop{false};

void honest_loop(const Options& o, Honest* h) {
  std::string err;
  auto fail = [&](const std::string& e) {
    h->error = e;
    h->ready = true;
    h->finished = true;
  };
  auto s = integ::Session::login(o.honest_url, "iqn.2025-01.test.hostile:honest" + std::to_string(h->index),
                                 uint32_t(99 + h->index), &err);
  if (!s) return fail(err);
  const uint64_t region = std::min<uint64_t>(32768, s->blocks() / (o.disjoint_regions ? 2 * uint64_t(o.honest) : 2));
  const uint64_t base = o.disjoint_regions ? region * uint64_t(h->index) : 0;
  // The first read of a fresh disk: zeros, never another session's data.
  std::vector<uint8_t> got;
  for (uint64_t lba = 0; lba < region; lba += 2048) {
    const uint32_t n = uint32_t(std::min<uint64_t>(2048, region - lba));
    if (!s->read(base + lba, n, got, &err)) return fail("first read: " + err);
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] != 0) {
        return fail("first read of a fresh disk is not zero at lba " + std::to_string(base + lba + i / 512) +
                    " (byte 0x" + std::to_string(got[i]) + ")");
      }
    }
  }
  h->ready = true;
  std::mt19937_64 rng(42 + uint64_t(h->index));
  for (long i = 0; !g_honest_stop.load() || i < 20; ++i) {
    const uint32_t n = uint32_t(1 + rng() % 128);
    const uint64_t lba = base + rng() % (region - n);
    std::vector<uint8_t> buf(size_t(n) * s->block_size());
    integ::fill_pattern(buf, uint64_t(i) + 7 + uint64_t(h->index) * 1000003, lba, s->block_size());
    if (!s->write(lba, buf, &err) || !s->read(lba, n, got, &err)) return fail("op " + std::to_string(i) + ": " + err);
    if (long d = integ::first_diff(got, buf); d >= 0) {
      return fail("op " + std::to_string(i) + ": wrong byte at lba " + std::to_string(lba) + " offset " +
                  std::to_string(d));
    }
    h->ops++;
  }
  if (!s->logout(&err)) return fail(err);
  h->finished = true;
}

// A new login plus a ping; "" on success.
std::string fresh_login(const Options& o, uint16_t q) {
  Session s;
  std::string why;
  if (!do_login(s, o, false, q, &why)) return why;
  s.c.send_pdu(nop_out(s, 0x900));
  std::string d;
  Out out = observe(s, o, 0x900, 0, &d);
  return out == Out::ignored ? "" : std::string("ping: ") + name(out) + " " + d;
}

std::string mib(long kib) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", double(kib) / 1024.0);
  return b;
}

// Each resource attack runs in its own thread on a session logged in
// beforehand, then reports and judges itself.
void run_nop_flood(const Options& o, Session& s, Clock::time_point give_up) {
  StallResult r;
  const long max_nops = 2'000'000;
  nop_flood(o, s, max_nops, r, give_up);
  note("  NOP-Out flood: " + std::to_string(r.sent_bytes / 48) + " immediate NOP-Outs (" +
       mib(long(r.sent_bytes / 1024)) + ") accepted before " +
       (r.closed_early ? "the target closed" : r.blocked ? "sends blocked for 3 s" : "the send limit") +
       "; the target dropped the connection " +
       (r.closed_after >= 0 ? std::to_string(r.closed_after).substr(0, 4) + "s later" : "never"));
  if (!r.blocked && !r.closed_early)
    violation("NOP-Out flood: the target kept reading (" + std::to_string(r.sent_bytes / 48) +
              " NOP-Outs, never blocking our sends for 3 s) without pushing back");
  if (o.stall_close_s > 0 && !r.closed_early && (r.closed_after < 0 || r.closed_after > o.stall_close_s + 15))
    violation("NOP-Out flood: the stalled connection was not dropped within " + std::to_string(o.stall_close_s + 15) +
              "s");
  s.c.close();
}

void run_stopped_reader(const Options& o, Session& s, Clock::time_point give_up) {
  StallResult r;
  stopped_reader(s, o, 512, r, give_up);
  note("  stopped reader: " + std::to_string(r.sent_bytes / 48) + " READ(10)s of 1 MiB sent" +
       (r.blocked ? " (sends blocked)" : "") + ", no Data-In read; the target dropped the connection " +
       (r.closed_early ? "while we sent"
        : r.closed_after >= 0 ? std::to_string(r.closed_after).substr(0, 4) + "s after the last send"
                              : "never"));
  if (o.stall_close_s > 0 && !r.closed_early && (r.closed_after < 0 || r.closed_after > o.stall_close_s + 15))
    violation("stopped reader: the stalled connection was not dropped within " + std::to_string(o.stall_close_s + 15) +
              "s");
  s.c.close();
}

void run_cmdsn_gaps(const Options& o, Session& big, Session& small) {
  GapResult gb, gs;
  cmdsn_gap(big, o, 5000, std::min<uint32_t>(65536, big.first_burst), gb);
  big.c.close();
  cmdsn_gap(small, o, 5000, 0, gs);
  small.c.close();
  for (auto* g : {&gb, &gs}) {
    const std::string label = g == &gb ? "CmdSN gap, 5000 WRITEs with 64 KiB immediate data behind it"
                                       : "CmdSN gap, 5000 READ(10)s behind it";
    note("  " + label + ": " + std::to_string(g->sent_commands) + " sent; " +
         (g->closed ? "connection closed"
          : g->responses >= 0 ? std::to_string(g->responses) + " commands answered after filling the gap (window " +
                                    std::to_string(g->window) + ")"
                              : "no result") +
         (g->detail.empty() ? "" : ", " + g->detail));
    if (!g->closed && g->responses < 0) violation(label + ": " + g->detail);
    if (g->responses > long(g->window))
      violation(label + ": executed " + std::to_string(g->responses) + " commands, more than the CmdSN window of " +
                std::to_string(g->window) + " allows");
  }
}

void run_connection_flood(const Options& o, const std::vector<std::unique_ptr<Honest>>& honest,
                          const std::vector<long>& ops_before) {
  FloodResult r;
  std::string during;
  connection_flood(o, r, [&](double at) {
    // While the flood is held: the target still answers a new login (or
    // refuses it promptly, if a per-address limit is reached).
    during = fresh_login(o, 0x9100);
    std::string progress;
    for (size_t i = 0; i < honest.size(); ++i)
      progress += (i ? ", " : "") + std::to_string(honest[i]->ops.load() - ops_before[i]);
    note("  " + std::to_string(at).substr(0, 4) + "s into the connection flood: new login " +
         (during.empty() ? "ok" : during) + "; honest sessions' verified ops so far in phase 2: " + progress);
  });
  // A new login works once the flood is gone (retry briefly: the target may
  // still be counting the sockets we just closed).
  std::string after;
  for (int i = 0; i < 10; ++i) {
    after = fresh_login(o, uint16_t(0x9200 + i));
    if (after.empty()) break;
    std::this_thread::sleep_for(milliseconds(500));
  }
  note("  connection flood: " + std::to_string(r.opened) + " sockets opened, " + std::to_string(r.refused) +
       " refused at connect; " + std::to_string(r.closed_at_end) + " closed by the target within " +
       std::to_string(o.hold_s) + "s (first at " + std::to_string(r.first_closed).substr(0, 4) + "s, last at " +
       std::to_string(r.last_closed).substr(0, 4) + "s); Login Responses to the logins left in the security stage: " +
       std::to_string(r.login_answered) + " ok, " + std::to_string(r.login_refused) +
       " refused; new login afterwards: " + (after.empty() ? "ok" : after));
  if (o.login_timeout_s > 0 && o.hold_s >= o.login_timeout_s + 5 && r.closed_at_end < r.opened)
    violation("connection flood: " + std::to_string(r.opened - r.closed_at_end) + " of " + std::to_string(r.opened) +
              " unfinished logins still open after " + std::to_string(o.hold_s) + "s (login timeout " +
              std::to_string(o.login_timeout_s) + "s)");
  if (during.find("timeout") != std::string::npos)
    violation("connection flood: a new login during the flood hung: " + during);
  if (!after.empty()) violation("new login after the connection flood failed: " + after);
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
    if (a == "--host") o.host = next();
    else if (a == "--port") o.port = std::stoi(next());
    else if (a == "--target") o.target = next();
    else if (a == "--lun") o.lun = std::stoi(next());
    else if (a == "--honest-url") o.honest_url = next();
    else if (a == "--server-pid") o.server_pid = std::stoi(next());
    else if (a == "--honest") o.honest = std::stoi(next());
    else if (a == "--rounds") o.rounds = std::stoi(next());
    else if (a == "--timeout-ms") o.timeout_ms = std::stoi(next());
    else if (a == "--connections") o.connections = std::stoi(next());
    else if (a == "--hold-s") o.hold_s = std::stoi(next());
    else if (a == "--login-timeout-s") o.login_timeout_s = std::stoi(next());
    else if (a == "--stall-close-s") o.stall_close_s = std::stoi(next());
    else if (a == "--rss-bound-mib") o.rss_bound_mib = std::stol(next());
    else if (a == "--free-prefix") o.free_prefix = next();
    else if (a == "--disjoint-regions") o.disjoint_regions = true;
    else if (a == "--only") o.only = next();
    else if (a == "--skip") o.skip = next();
    else if (a == "--resource-attacks") {
      o.resource_attacks.clear();
      std::string list = next();
      for (size_t p = 0; p <= list.size();) {
        size_t q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        if (q > p) o.resource_attacks.insert(list.substr(p, q - p));
        p = q + 1;
      }
    }
    else {
      std::fprintf(stderr,
                   "usage: %s --port P --target IQN --honest-url URL [--host H] [--lun N] [--server-pid PID]\n"
                   "  [--honest N] [--rounds R] [--timeout-ms T] [--connections N] [--hold-s S]\n"
                   "  [--login-timeout-s S] [--stall-close-s S] [--rss-bound-mib M] [--free-prefix P]\n"
                   "  [--disjoint-regions] [--only NAME-PART] [--skip NAME-PART]\n  [--resource-attacks nop-flood,stopped-reader,cmdsn-gap,connections]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.port == 0 || o.target.empty() || o.honest_url.empty() || o.honest < 1) {
    std::fprintf(stderr, "need --port, --target and --honest-url\n");
    return 2;
  }
  const auto t_start = Clock::now();

  RssMonitor rss(o.server_pid);
  if (!rss.active()) note("no --server-pid (or /proc unreadable): memory is not checked");

  // Honest sessions first, so limits on connections never keep them out.
  std::vector<std::unique_ptr<Honest>> honest;
  std::vector<std::thread> honest_threads;
  for (int i = 0; i < o.honest; ++i) {
    honest.push_back(std::make_unique<Honest>());
    honest.back()->index = i;
    honest_threads.emplace_back(honest_loop, std::cref(o), honest.back().get());
  }
  for (auto& h : honest) {
    const auto deadline = Clock::now() + seconds(120);
    while (!h->ready && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  }
  std::this_thread::sleep_for(milliseconds(500));  // a few honest ops at steady state
  const long rss_before = rss.active() ? rss.take_peak() : -1;
  note("honest sessions up after " + std::to_string(secs_since(t_start)).substr(0, 4) + "s" +
       (rss.active() ? "; server VmRSS before the attacks " + mib(rss_before) : ""));

  // ---- phase 1
  // Each attack and the outcomes that are acceptable for it.
  using Attack = std::function<void(const Options&, Case&, int round)>;
  auto no_round = [](void (*f)(const Options&, Case&)) -> Attack {
    return [f](const Options& oo, Case& c, int) { f(oo, c); };
  };
  const std::set<Out> kBeforeLogin{Out::closed, Out::rejected, Out::login_rejected};
  std::vector<std::pair<Case, Attack>> attacks{
      {{"garbage before login", kBeforeLogin, {}}, garbage_before_login},
      {{"SendTargets before login", kBeforeLogin, {}}, no_round(sendtargets_before_login)},
      {{"wrong-stage PDU during login", kBeforeLogin, {}}, no_round(wrong_stage_during_login)},
      {{"CHAP against blank / CHAP guesses", {Out::closed, Out::rejected, Out::login_rejected, Out::accepted}, {}},
       chap_guesses},
      {{"anonymous discovery lists free tier only", {Out::accepted}, {}}, no_round(anonymous_discovery)},
      {{"data segment longer than negotiated", kRejectOrClose, {}}, no_round(bad_data_segment_length)},
      {{"DataSegmentLength 0xffffff", kRejectOrClose, {}}, no_round(huge_data_segment_length)},
      // Any answer but a hang: 1020 bytes of AHS is a legal size.
      {{"TotalAHSLength 255", {Out::closed, Out::rejected, Out::ignored, Out::check_condition, Out::other}, {}},
       no_round(huge_ahs_length)},
      {{"unknown opcode", kRejectOrClose, {}}, no_round(unknown_opcodes)},
      {{"immediate data beyond FirstBurstLength", {Out::rejected, Out::closed, Out::check_condition}, {}},
       no_round(oversize_immediate)},
      {{"CmdSN outside the window", {Out::rejected, Out::closed, Out::ignored}, {}}, no_round(out_of_window_cmdsn)},
      {{"Data-Out for unknown ITT/TTT", {Out::rejected, Out::closed, Out::ignored}, {}}, no_round(dataout_unknown)},
      {{"Data-Out past its burst", {Out::rejected, Out::closed, Out::check_condition}, {}},
       no_round(dataout_past_burst)},
      {{"truncated PDU then close", {Out::closed}, {}}, no_round(truncated_then_close)},
      {{"header digest error", {Out::rejected, Out::closed, Out::ignored}, {}}, no_round(header_digest_error)},
      {{"data digest error", {Out::rejected, Out::closed, Out::check_condition}, {}}, no_round(data_digest_error)},
      {{"login PDU in full feature phase", kRejectOrClose, {}}, no_round(login_in_full_feature_phase)},
  };
  const auto t1 = Clock::now();
  for (int r = 0; r < o.rounds; ++r) {
    for (auto& [c, attack] : attacks) {
      if (!o.only.empty() && c.name.find(o.only) == std::string::npos) continue;
      if (!o.skip.empty() && c.name.find(o.skip) != std::string::npos) continue;
      attack(o, c, r);
    }
  }
  const double phase1_s = secs_since(t1);
  const long rss_phase1 = rss.active() ? rss.take_peak() : -1;
  note("phase 1: " + std::to_string(o.rounds) + " rounds of protocol attacks in " +
       std::to_string(phase1_s).substr(0, 5) + "s" + (rss.active() ? ", peak VmRSS " + mib(rss_phase1) : ""));

  // ---- phase 2: every resource attack at once. Their sessions log in first,
  // so a per-address connection limit meets the connection flood, not them.
  const auto t2 = Clock::now();
  std::vector<long> ops_at_phase2;
  for (auto& h : honest) ops_at_phase2.push_back(h->ops.load());
  auto on = [&](const char* a) { return o.resource_attacks.count(a) != 0; };
  Session flood_s, reader_s, gap_big_s, gap_small_s;
  auto login = [&](bool wanted, Session& s, uint16_t q, const char* what) {
    std::string why;
    LoginSpec spec;
    spec.isid_q = q;
    if (wanted && !do_login(s, o, spec, &why)) violation(std::string(what) + ": login failed: " + why);
    return wanted && s.c.fd() >= 0;
  };
  const bool flood_on = login(on("nop-flood"), flood_s, 0x9001, "NOP-Out flood");
  const bool reader_on = login(on("stopped-reader"), reader_s, 0x9002, "stopped reader");
  const bool gap_on = login(on("cmdsn-gap"), gap_big_s, 0x9003, "CmdSN gap") &&
                      login(on("cmdsn-gap"), gap_small_s, 0x9004, "CmdSN gap");
  const auto give_up = Clock::now() + seconds(o.stall_close_s + 25);
  std::vector<std::thread> attackers;
  if (flood_on) attackers.emplace_back([&] { run_nop_flood(o, flood_s, give_up); });
  if (reader_on) attackers.emplace_back([&] { run_stopped_reader(o, reader_s, give_up); });
  if (gap_on) attackers.emplace_back([&] { run_cmdsn_gaps(o, gap_big_s, gap_small_s); });
  std::this_thread::sleep_for(milliseconds(300));
  if (on("connections")) run_connection_flood(o, honest, ops_at_phase2);
  for (auto& t : attackers) t.join();
  const double phase2_s = secs_since(t2);
  const long rss_phase2 = rss.active() ? rss.take_peak() : -1;
  note("phase 2: resource attacks for " + std::to_string(phase2_s).substr(0, 4) + "s" +
       (rss.active() ? ", peak VmRSS " + mib(rss_phase2) : ""));
  for (size_t i = 0; i < honest.size(); ++i) {
    const long n = honest[i]->ops.load() - ops_at_phase2[i];
    note("  honest session " + std::to_string(i) + ": " + std::to_string(n) + " verified ops during phase 2");
    if (honest[i]->error.empty() && !honest[i]->finished && n == 0)
      violation("honest session " + std::to_string(i) + " made no progress during the resource attacks");
  }

  // ---- the end: still up, takes a new login, honest sessions clean.
  if (std::string e = fresh_login(o, 0x300); !e.empty()) violation("new login after the attacks failed: " + e);
  g_honest_stop = true;
  for (auto& t : honest_threads) t.join();
  long total_ops = 0;
  for (auto& h : honest) {
    total_ops += h->ops.load();
    if (!h->error.empty()) violation("honest session " + std::to_string(h->index) + ": " + h->error);
  }
  std::this_thread::sleep_for(milliseconds(1000));
  const long rss_after = rss.active() ? rss.now() : -1;
  const long rss_peak = std::max(rss_phase1, rss_phase2);

  std::fprintf(stderr, "hostile: %d rounds in %.1fs, resource attacks %.1fs, total %.1fs; %d honest sessions did %ld "
               "verified write+read ops\n",
               o.rounds, phase1_s, phase2_s, secs_since(t_start), o.honest, total_ops);
  for (auto& [c, attack] : attacks) {
    std::string seen;
    for (auto& [out, n] : c.seen) seen += std::string(seen.empty() ? "" : ", ") + name(out) + " x" + std::to_string(n);
    std::fprintf(stderr, "  %-42s %s\n", c.name.c_str(), seen.empty() ? "(not run)" : seen.c_str());
  }
  if (rss.active()) {
    std::fprintf(stderr, "hostile: server VmRSS before %s, peak %s (+%s; bound +%ld MiB), after %s\n",
                 mib(rss_before).c_str(), mib(rss_peak).c_str(), mib(rss_peak - rss_before).c_str(), o.rss_bound_mib,
                 mib(rss_after).c_str());
    if (rss.gone() || rss_after < 0) violation("the server process is gone");
    if (rss_peak - rss_before > o.rss_bound_mib * 1024)
      violation("server memory grew by " + mib(rss_peak - rss_before) + " during the attacks, bound " +
                std::to_string(o.rss_bound_mib) + " MiB");
  }
  if (g_violations) {
    std::fprintf(stderr, "hostile: %d violation(s)\n", g_violations.load());
    return 1;
  }
  std::fprintf(stderr, "hostile: all checks passed\n");
  return 0;
}
