#pragma once
// Raw iSCSI over a plain TCP socket, for the adversarial programs
// (hostile_round2, hostile_fairness): connect from a chosen local address
// (Linux routes all of 127/8 to lo, so 127.0.0.2.. are distinct sources),
// frame and parse PDUs (no digests: the attacks here need none), log in with
// chosen operational keys, and build the PDUs the attacks send. It does
// whatever it is told, legal or not; loopback only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "iscsi/pdu.h"
#include "scsi/lun_address.h"

namespace raw {

using Clock = std::chrono::steady_clock;
using scsipub::iscsi::Bhs;
using scsipub::iscsi::kBhsSize;
using scsipub::iscsi::kReservedTag;
using scsipub::iscsi::Opcode;
using scsipub::store_be16;
using scsipub::store_be32;
// The header kinds (RFC 7143 11.3-11.19): every field by name.
using scsipub::iscsi::AsyncMessageHeader;
using scsipub::iscsi::DataInHeader;
using scsipub::iscsi::DataOutHeader;
using scsipub::iscsi::LoginRequestHeader;
using scsipub::iscsi::LoginResponseHeader;
using scsipub::iscsi::LogoutRequestHeader;
using scsipub::iscsi::NopInHeader;
using scsipub::iscsi::NopOutHeader;
using scsipub::iscsi::R2tHeader;
using scsipub::iscsi::RejectHeader;
using scsipub::iscsi::ScsiCommandHeader;
using scsipub::iscsi::ScsiResponseHeader;
using scsipub::iscsi::TargetHeader;
using scsipub::iscsi::TaskAttribute;
using scsipub::iscsi::TaskMgmtRequestHeader;
using scsipub::iscsi::TaskMgmtResponseHeader;
using scsipub::iscsi::TextRequestHeader;
using scsipub::iscsi::TextResponseHeader;

struct Pdu {
  Bhs bhs;
  std::vector<uint8_t> data;
};

enum class Recv { pdu, closed, timeout, error };

// "127.0.0.1" or "::1" (no names: loopback literals only) into a sockaddr.
inline bool make_addr(const std::string& host, int port, sockaddr_storage& ss, socklen_t& len) {
  ss = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(port));
    len = sizeof(sockaddr_in);
    return true;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(port));
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  Conn(Conn&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Conn& operator=(Conn&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Conn() { close(); }

  // Connects to host:port from `bind_to` (empty: the kernel's choice).
  // Blocking connect: on loopback it is immediate or refused.
  bool open(const std::string& host, int port, const std::string& bind_to = "", std::string* why = nullptr) {
    close();
    sockaddr_storage to{};
    socklen_t to_len = 0;
    if (!make_addr(host, port, to, to_len)) return fail(why, "bad address " + host);
    fd_ = ::socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(why, std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!bind_to.empty()) {
      sockaddr_storage from{};
      socklen_t from_len = 0;
      if (!make_addr(bind_to, 0, from, from_len)) return fail(why, "bad local address " + bind_to);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), from_len) != 0)
        return fail(why, "bind " + bind_to + ": " + std::strerror(errno));
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), to_len) != 0)
      return fail(why, "connect: " + std::string(std::strerror(errno)));
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

  // Blocking send of everything; false when the peer is gone.
  bool send_raw(const uint8_t* p, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t k = ::send(fd_, p + done, n - done, MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return false;
      done += size_t(k);
    }
    return true;
  }
  bool send_raw(const std::vector<uint8_t>& b) { return send_raw(b.data(), b.size()); }

  // Sends what the socket takes until `deadline`, or until nothing went out
  // for `stall` (the target stopped reading). Returns the bytes sent.
  size_t send_bounded(const uint8_t* p, size_t n, Clock::time_point deadline, std::chrono::milliseconds stall,
                      bool* closed, bool* stalled) {
    size_t done = 0;
    auto last = Clock::now();
    while (done < n) {
      const auto now = Clock::now();
      if (now >= deadline) break;
      if (now - last >= stall) {
        *stalled = true;
        break;
      }
      pollfd pfd{fd_, POLLOUT, 0};
      int pr = ::poll(&pfd, 1, 50);
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

  // True once the peer closed (FIN or RST), read or not.
  bool peer_closed(int wait_ms) const {
    pollfd pfd{fd_, POLLRDHUP, 0};
    int pr = ::poll(&pfd, 1, wait_ms);
    return pr > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

  // Appends one framed PDU (BHS, data padded to 4 bytes) to `out`, so many
  // small PDUs go out in one send.
  static void append(std::vector<uint8_t>& out, const Bhs& bhs, const uint8_t* data = nullptr, size_t n = 0) {
    out.insert(out.end(), bhs.bytes().begin(), bhs.bytes().end());
    if (n == 0) return;
    out.insert(out.end(), data, data + n);
    out.resize(out.size() + (scsipub::iscsi::pad4(uint32_t(n)) - n), 0);
  }

  bool send_pdu(const Bhs& bhs, const std::vector<uint8_t>& data = {}) {
    std::vector<uint8_t> out;
    append(out, bhs, data.data(), data.size());
    return send_raw(out);
  }

  Recv recv_pdu(Pdu& p, Clock::time_point deadline) {
    uint8_t h[48];
    Recv r = read_exact(h, 48, deadline);
    if (r != Recv::pdu) return r;
    p.bhs = Bhs(std::span<const uint8_t>(h, 48));
    const size_t ahs = p.bhs.total_ahs_bytes();
    const uint32_t dsl = p.bhs.data_segment_length();
    if (dsl > (16u << 20)) return Recv::error;
    std::vector<uint8_t> skip(ahs);
    if (ahs && (r = read_exact(skip.data(), ahs, deadline)) != Recv::pdu) return r;
    p.data.assign(scsipub::iscsi::pad4(dsl), 0);
    if (!p.data.empty() && (r = read_exact(p.data.data(), p.data.size(), deadline)) != Recv::pdu) return r;
    p.data.resize(dsl);
    return Recv::pdu;
  }

 private:
  bool fail(std::string* why, const std::string& what) {
    if (why) *why = what;
    close();
    return false;
  }

  Recv read_exact(uint8_t* p, size_t n, Clock::time_point deadline) {
    size_t got = 0;
    while (got < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
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
};

// ------------------------------------------------------------- text keys

using KeyList = std::vector<std::pair<std::string, std::string>>;

inline std::vector<uint8_t> text_keys(const KeyList& kv) {
  std::vector<uint8_t> out;
  for (const auto& [k, v] : kv) {
    std::string s = k + "=" + v;
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(0);
  }
  return out;
}

inline std::map<std::string, std::string> parse_keys(const std::vector<uint8_t>& d) {
  std::map<std::string, std::string> m;
  size_t i = 0;
  while (i < d.size()) {
    size_t j = i;
    while (j < d.size() && d[j] != 0) ++j;
    std::string s(d.begin() + long(i), d.begin() + long(j));
    if (auto eq = s.find('='); eq != std::string::npos) m[s.substr(0, eq)] = s.substr(eq + 1);
    i = j + 1;
  }
  return m;
}

// ----------------------------------------------------------------- login

// The BHS LUN field of LUN `lun` (< 256) (SAM-5 4.7).
inline uint64_t lun_field(int lun) { return scsipub::scsi::encode_lun(uint8_t(lun)); }

// RFC 7143 11.12: a Login Request (I bit always set), ISID type 0x80
// "random" with `isid_q` as the qualifier.
inline Bhs login_bhs(uint8_t csg, uint8_t nsg, bool transit, uint32_t cmdsn, uint32_t expstatsn, uint16_t isid_q) {
  LoginRequestHeader b;
  b.set_transit(transit);
  b.set_csg(csg);
  b.set_nsg(nsg);
  b.set_isid({0x80, 0x52, 0x32, 0x00, uint8_t(isid_q >> 8), uint8_t(isid_q)});
  b.set_itt(0x1);
  b.set_cmd_sn(cmdsn);
  b.set_exp_stat_sn(expstatsn);
  return b;
}

struct LoginSpec {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string bind_to;                                     // local address; empty: any
  std::string initiator = "iqn.2025-01.test.round2:mallory";
  std::string target;                                      // empty: a discovery session
  uint16_t isid_q = 1;
  KeyList operational;                                     // overrides, operational stage
  int timeout_ms = 5000;
};

struct Session {
  Conn c;
  uint32_t cmdsn = 0, expstatsn = 0, itt = 0x1000;
  uint32_t max_cmdsn = 0;
  std::map<std::string, std::string> keys;  // what the target answered
};

enum class LoginResult { ok, refused, closed, timeout, connect_failed, other };

inline const char* name(LoginResult r) {
  switch (r) {
    case LoginResult::ok: return "ok";
    case LoginResult::refused: return "refused";
    case LoginResult::closed: return "closed";
    case LoginResult::timeout: return "timeout";
    case LoginResult::connect_failed: return "connect failed";
    case LoginResult::other: return "other";
  }
  return "?";
}

// A login with AuthMethod=None to full feature phase. *status is the Login
// Response status "CC/DD" of a refusal.
inline LoginResult login(Session& s, const LoginSpec& spec, std::string* why) {
  if (!s.c.open(spec.host, spec.port, spec.bind_to, why)) return LoginResult::connect_failed;
  const auto deadline = Clock::now() + std::chrono::milliseconds(spec.timeout_ms);
  const bool discovery = spec.target.empty();
  KeyList sec{{"InitiatorName", spec.initiator}, {"SessionType", discovery ? "Discovery" : "Normal"}};
  if (!discovery) sec.emplace_back("TargetName", spec.target);
  sec.emplace_back("AuthMethod", "None");
  std::vector<uint8_t> d = text_keys(sec);
  uint32_t cmdsn = 1, expstatsn = 0;
  uint8_t csg = 0;
  bool sent_ops = false;
  for (int step = 0; step < 6; ++step) {
    Bhs b = login_bhs(csg, sent_ops || csg == 1 ? 3 : 1, true, cmdsn, expstatsn, spec.isid_q);
    b.set_data_segment_length(uint32_t(d.size()));
    if (!s.c.send_pdu(b, d)) {
      *why = "send failed during login";
      return LoginResult::closed;
    }
    Pdu r;
    switch (s.c.recv_pdu(r, deadline)) {
      case Recv::pdu: break;
      case Recv::timeout: *why = "no Login Response"; return LoginResult::timeout;
      default: *why = "closed during login"; return LoginResult::closed;
    }
    if (r.bhs.opcode() != Opcode::login_response) {
      *why = "opcode " + std::to_string(r.bhs.opcode_raw()) + " during login";
      return LoginResult::other;
    }
    const LoginResponseHeader rsp(r.bhs);
    if (rsp.status_class() != 0) {
      char st[16];
      std::snprintf(st, sizeof st, "%02x/%02x", rsp.status_class(), rsp.status_detail());
      *why = st;
      return LoginResult::refused;
    }
    for (auto& [k, v] : parse_keys(r.data)) s.keys[k] = v;
    expstatsn = rsp.stat_sn() + 1;
    cmdsn = rsp.exp_cmd_sn();
    s.max_cmdsn = rsp.max_cmd_sn();
    const bool transit = rsp.transit();
    if (transit && rsp.nsg() == 3) {
      s.cmdsn = cmdsn;
      s.expstatsn = expstatsn;
      return LoginResult::ok;
    }
    if (transit) csg = rsp.nsg();
    if (csg == 1 && !sent_ops) {
      KeyList kv{{"HeaderDigest", "None"},        {"DataDigest", "None"},        {"MaxRecvDataSegmentLength", "262144"},
                 {"DefaultTime2Wait", "0"},       {"DefaultTime2Retain", "0"}, {"ErrorRecoveryLevel", "0"}};
      if (!discovery) {
        KeyList more{{"InitialR2T", "Yes"},       {"ImmediateData", "Yes"},       {"MaxBurstLength", "262144"},
                     {"FirstBurstLength", "65536"}, {"MaxOutstandingR2T", "1"},    {"DataPDUInOrder", "Yes"},
                     {"DataSequenceInOrder", "Yes"}, {"MaxConnections", "1"}};
        kv.insert(kv.end(), more.begin(), more.end());
      }
      for (const auto& [k, v] : spec.operational) {
        bool replaced = false;
        for (auto& [k2, v2] : kv)
          if (k2 == k) v2 = v, replaced = true;
        if (!replaced) kv.emplace_back(k, v);
      }
      d = text_keys(kv);
      sent_ops = true;
    } else {
      d.clear();
    }
  }
  *why = "login did not reach full feature phase";
  return LoginResult::other;
}

inline uint32_t key_number(const Session& s, const char* k, uint32_t dflt) {
  auto it = s.keys.find(k);
  return it == s.keys.end() ? dflt : uint32_t(std::strtoul(it->second.c_str(), nullptr, 10));
}

// ------------------------------------------------------------ PDU builders

// NOP-Out asking for a NOP-In (RFC 7143 11.18): immediate, CmdSN not advanced.
inline NopOutHeader nop_out(const Session& s, uint32_t itt) {
  NopOutHeader b;
  b.set_immediate(true);
  b.set_itt(itt);
  b.set_ttt(kReservedTag);
  b.set_cmd_sn(s.cmdsn);
  b.set_exp_stat_sn(s.expstatsn);
  return b;
}

// WRITE(10) (RFC 7143 11.3): `blocks` 512-byte blocks at `lba`, `imm` bytes
// of immediate data, F bit `final_pdu` (F=0: unsolicited Data-Out follows).
inline ScsiCommandHeader write10(uint32_t itt, uint32_t cmdsn, uint32_t expstatsn, bool immediate, bool final_pdu,
                                 uint32_t lba, uint16_t blocks, uint32_t imm, int lun) {
  ScsiCommandHeader b;
  b.set_immediate(immediate);
  b.set_final(final_pdu);
  b.set_write(true);
  b.set_attribute(TaskAttribute::simple);
  b.set_data_segment_length(imm);
  b.set_lun_raw(lun_field(lun));
  b.set_itt(itt);
  b.set_expected_data_transfer_length(uint32_t(blocks) * 512);
  b.set_cmd_sn(cmdsn);
  b.set_exp_stat_sn(expstatsn);
  b.cdb()[0] = 0x2a;  // WRITE(10), SBC-3 5.40
  store_be32(&b.cdb()[2], lba);
  store_be16(&b.cdb()[7], blocks);
  return b;
}

// TEST UNIT READY, non-immediate, advancing CmdSN.
inline ScsiCommandHeader test_unit_ready(Session& s, int lun) {
  ScsiCommandHeader b;
  b.set_final(true);
  b.set_attribute(TaskAttribute::simple);
  b.set_lun_raw(lun_field(lun));
  b.set_itt(s.itt++);
  b.set_cmd_sn(s.cmdsn++);
  b.set_exp_stat_sn(s.expstatsn);
  return b;
}

// Task Management Function Request (RFC 7143 11.5), function 1 ABORT TASK.
inline TaskMgmtRequestHeader tmf_abort_task(uint32_t itt, uint32_t rtt, uint32_t cmdsn, uint32_t expstatsn,
                                            uint32_t refcmdsn, int lun, bool immediate) {
  TaskMgmtRequestHeader b;
  b.set_immediate(immediate);
  b.set_function(1);
  b.set_lun_raw(lun_field(lun));
  b.set_itt(itt);
  b.set_referenced_task_tag(rtt);
  b.set_cmd_sn(cmdsn);
  b.set_exp_stat_sn(expstatsn);
  b.set_ref_cmd_sn(refcmdsn);
  return b;
}

}  // namespace raw
