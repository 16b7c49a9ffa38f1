// A hostile iSCSI client next to an honest one.
//
//   hostile --port P [--host 127.0.0.1] --target IQN [--lun N] --honest-url URL
//           [--rounds 20] [--timeout-ms 5000]
//
// While an honest libiscsi session runs verified write/read loops in a thread,
// the hostile client opens connection after connection, logs in with
// hand-built Login PDUs and misbehaves in one way per connection. Each
// misdeed must end in a Reject or a closed connection within the timeout
// (for a few of them, RFC 7143 also lets the target drop the PDU silently:
// then a NOP-Out ping sent right after must be answered). Afterwards the
// target must accept a new login, and the honest session must have seen no
// error and no wrong byte. Exit 1 on any violation, 2 on setup errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "iscsi/crc32c.h"
#include "iscsi/pdu.h"
#include "iscsi_client.h"

namespace {

using scsipub::iscsi::Bhs;
using scsipub::iscsi::Opcode;
namespace off = scsipub::iscsi::off;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string target;
  int lun = 0;
  std::string honest_url;
  int rounds = 20;
  int timeout_ms = 5000;
};

std::atomic<int> g_violations{0};

void violation(const std::string& what) {
  ++g_violations;
  std::fprintf(stderr, "VIOLATION: %s\n", what.c_str());
}

void note(const std::string& what) { std::fprintf(stderr, "hostile: %s\n", what.c_str()); }

// ---------------------------------------------------------------- connection

struct Pdu {
  Bhs bhs;
  std::vector<uint8_t> data;
};

enum class Recv { pdu, closed, timeout, error };

class Conn {
 public:
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

  // One PDU as the wire carries it. Corruption switches for digest tests.
  std::vector<uint8_t> frame(const Bhs& bhs, const std::vector<uint8_t>& data, bool bad_hdr = false,
                             bool bad_data = false) const {
    std::vector<uint8_t> out(bhs.bytes().begin(), bhs.bytes().end());
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
  bool hd_ = false, dd_ = false;
};

// ------------------------------------------------------------------- session

std::vector<uint8_t> text_keys(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::vector<uint8_t> out;
  for (auto& [k, v] : kv) {
    std::string s = k + "=" + v;
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(0);
  }
  return out;
}

std::map<std::string, std::string> parse_keys(const std::vector<uint8_t>& d) {
  std::map<std::string, std::string> m;
  size_t i = 0;
  while (i < d.size()) {
    size_t j = i;
    while (j < d.size() && d[j] != 0) ++j;
    std::string s(d.begin() + long(i), d.begin() + long(j));
    auto eq = s.find('=');
    if (eq != std::string::npos) m[s.substr(0, eq)] = s.substr(eq + 1);
    i = j + 1;
  }
  return m;
}

struct Session {
  Conn c;
  uint32_t cmdsn = 0, expstatsn = 0, itt = 0x100;
  uint32_t target_mrdsl = 8192;  // what we may send in one PDU
  uint32_t first_burst = 65536;
  bool immediate_data = false;
  std::map<std::string, std::string> keys;
};

uint64_t lun_field(int lun) {
  // SAM single-level LUN (peripheral addressing) for LUN < 256.
  return uint64_t(uint8_t(lun)) << 48;
}

Bhs login_bhs(uint8_t csg, uint8_t nsg, bool transit, uint32_t cmdsn, uint32_t expstatsn, uint16_t isid_q) {
  Bhs b;
  b.set_opcode(Opcode::login_request, true);  // RFC 7143 11.12: I bit always set
  b.set_flags(uint8_t((transit ? 0x80 : 0) | (csg << 2) | nsg));
  // ISID (11.12.5): type 0x80 "random", then a qualifier we vary per connection.
  b.set_u8(8, 0x80);
  b.set_u8(9, 0x12);
  b.set_u8(10, 0x34);
  b.set_u8(11, 0x56);
  b.set_u16(12, isid_q);
  b.set_itt(0x1);
  b.set_u16(20, 0);  // CID
  b.set_u32(off::kCmdSn, cmdsn);
  b.set_u32(off::kExpStatSn, expstatsn);
  return b;
}

// Full login to a Normal session. want_digests asks for CRC32C on both.
bool do_login(Session& s, const Options& o, bool want_digests, uint16_t isid_q, std::string* why) {
  if (!s.c.open(o)) {
    *why = "connect failed: " + std::string(std::strerror(errno));
    return false;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  uint32_t cmdsn = 1, expstatsn = 0;
  // Security stage (CSG 0) -> operational (NSG 1).
  std::vector<uint8_t> d = text_keys({{"InitiatorName", "iqn.2025-01.test.hostile:mallory"},
                                      {"SessionType", "Normal"},
                                      {"TargetName", o.target},
                                      {"AuthMethod", "None"}});
  uint8_t csg = 0, nsg = 1;
  bool sent_ops = false;
  for (int step = 0; step < 8; ++step) {
    Bhs b = login_bhs(csg, nsg, true, cmdsn, expstatsn, isid_q);
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
    if (r.bhs.u8(36) != 0) {
      *why = "login rejected, status " + std::to_string(r.bhs.u8(36)) + "/" + std::to_string(r.bhs.u8(37));
      return false;
    }
    for (auto& [k, v] : parse_keys(r.data)) s.keys[k] = v;
    expstatsn = r.bhs.u32(off::kStatSn) + 1;
    cmdsn = r.bhs.u32(off::kExpCmdSn);
    const bool t = (r.bhs.flags() & 0x80) != 0;
    const uint8_t rnsg = r.bhs.flags() & 0x3;
    if (t && rnsg == 3) break;  // full feature phase
    if (t && rnsg == 1) csg = 1;
    if (csg == 1 && !sent_ops) {
      const char* dig = want_digests ? "CRC32C,None" : "None";
      d = text_keys({{"HeaderDigest", dig},
                     {"DataDigest", dig},
                     {"MaxRecvDataSegmentLength", "262144"},
                     {"InitialR2T", "Yes"},
                     {"ImmediateData", "Yes"},
                     {"MaxBurstLength", "262144"},
                     {"FirstBurstLength", "65536"},
                     {"DefaultTime2Wait", "0"},
                     {"DefaultTime2Retain", "0"},
                     {"MaxOutstandingR2T", "1"},
                     {"DataPDUInOrder", "Yes"},
                     {"DataSequenceInOrder", "Yes"},
                     {"ErrorRecoveryLevel", "0"},
                     {"MaxConnections", "1"}});
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
  s.c.set_digests(s.keys["HeaderDigest"] == "CRC32C", s.keys["DataDigest"] == "CRC32C");
  return true;
}

Bhs nop_out(Session& s, uint32_t itt) {
  Bhs b;
  b.set_opcode(Opcode::nop_out, true);
  b.set_flags(0x80);
  b.set_itt(itt);
  b.set_u32(off::kTtt, scsipub::iscsi::kReservedTag);
  b.set_u32(off::kCmdSn, s.cmdsn);  // immediate: CmdSN does not advance
  b.set_u32(off::kExpStatSn, s.expstatsn);
  return b;
}

// WRITE(10) of `blocks` blocks at `lba`, with `imm` bytes of immediate data.
Bhs write10(Session& s, uint32_t lba, uint16_t blocks, uint32_t imm, int lun) {
  Bhs b;
  b.set_opcode(Opcode::scsi_command);
  b.set_flags(0x80 | 0x20 | 0x01);  // F, W, SIMPLE
  b.set_data_segment_length(imm);
  b.set_lun_raw(lun_field(lun));
  b.set_itt(s.itt++);
  b.set_u32(off::kTtt, uint32_t(blocks) * 512);  // expected data transfer length
  b.set_u32(off::kCmdSn, s.cmdsn++);
  b.set_u32(off::kExpStatSn, s.expstatsn);
  b.set_u8(off::kCdb + 0, 0x2a);
  b.set_u32(off::kCdb + 2, lba);
  b.set_u16(off::kCdb + 7, blocks);
  return b;
}

// ---------------------------------------------------------------- outcomes

enum class Out { rejected, closed, login_rejected, check_condition, ignored, r2t, timeout, other };

const char* name(Out o) {
  switch (o) {
    case Out::rejected: return "Reject";
    case Out::closed: return "closed";
    case Out::login_rejected: return "login rejected";
    case Out::check_condition: return "CHECK CONDITION";
    case Out::ignored: return "ignored (ping answered)";
    case Out::r2t: return "R2T (accepted the bad PDU)";
    case Out::timeout: return "no answer (hang)";
    case Out::other: return "other";
  }
  return "?";
}

// Reads PDUs until something decisive. ping_itt: the ITT of a NOP-Out sent
// after the bad PDU (0 = none); bad_itt: a ping the target must NOT answer.
Out observe(Session& s, const Options& o, uint32_t ping_itt, uint32_t bad_itt, std::string* detail) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  for (int n = 0; n < 64; ++n) {
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
        *detail = "reason 0x" + std::to_string(p.bhs.u8(2));
        return Out::rejected;
      case Opcode::login_response:
        *detail = "status " + std::to_string(p.bhs.u8(36)) + "/" + std::to_string(p.bhs.u8(37));
        if (p.bhs.u8(36) != 0) return Out::login_rejected;
        return Out::other;
      case Opcode::scsi_response:
        *detail = "status 0x" + std::to_string(p.bhs.u8(3)) + " response " + std::to_string(p.bhs.u8(2));
        if (p.bhs.u8(3) == 0x02 || p.bhs.u8(2) != 0) return Out::check_condition;
        return Out::other;
      case Opcode::r2t:
        return Out::r2t;
      case Opcode::nop_in:
        if (bad_itt != 0 && p.bhs.itt() == bad_itt) {
          *detail = "answered the corrupted ping";
          return Out::other;
        }
        if (ping_itt != 0 && p.bhs.itt() == ping_itt) return Out::ignored;
        if (p.bhs.itt() == scsipub::iscsi::kReservedTag) {
          // Target's own ping: answer it so we stay polite (11.18).
          Bhs b = nop_out(s, scsipub::iscsi::kReservedTag);
          b.set_u32(off::kTtt, p.bhs.u32(off::kTtt));
          s.c.send_pdu(b);
        }
        continue;
      default:
        continue;  // async message, logout response, ...: keep reading
    }
  }
  return Out::other;
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

// -------------------------------------------------------------- the attacks

const std::set<Out> kRejectOrClose{Out::rejected, Out::closed};

void garbage_before_login(const Options& o, Case& c, int round) {
  std::mt19937 rng(uint32_t(1000 + round));
  std::vector<std::vector<uint8_t>> variants;
  const char* labels[] = {"1 KiB noise", "HTTP request", "SCSI command before login", "login PDU announcing 16 MiB"};
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
    Bhs b;
    b.set_opcode(Opcode::scsi_command);
    b.set_flags(0x80 | 0x40 | 0x01);
    b.set_u8(off::kCdb, 0x00);  // TEST UNIT READY
    variants.emplace_back(b.bytes().begin(), b.bytes().end());
  }
  {  // a login request announcing a 16 MiB data segment (never sent)
    Bhs b = login_bhs(0, 1, true, 1, 0, 0x7777);
    b.set_data_segment_length(0xfffff0);
    variants.emplace_back(b.bytes().begin(), b.bytes().end());
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

bool login_or_flag(Session& s, const Options& o, Case& c, bool digests = false, uint16_t q = 0x100) {
  std::string why;
  if (!do_login(s, o, digests, q, &why)) {
    violation(c.name + ": setup login failed: " + why);
    return false;
  }
  return true;
}

void bad_data_segment_length(const Options& o, Case& c) {
  {  // announces 16 MiB, sends nothing: must not wait for it
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b = nop_out(s, 0x500);
    b.set_data_segment_length(0xfffff0);
    s.c.send_raw(std::vector<uint8_t>(b.bytes().begin(), b.bytes().end()));
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

void unknown_opcodes(const Options& o, Case& c) {
  for (uint8_t op : {uint8_t(0x07), uint8_t(0x0f), uint8_t(0x1a)}) {
    Session s;
    if (!login_or_flag(s, o, c)) return;
    Bhs b;
    b.bytes()[0] = op;
    b.set_flags(0x80);
    b.set_itt(s.itt++);
    b.set_u32(off::kCmdSn, s.cmdsn);
    b.set_u32(off::kExpStatSn, s.expstatsn);
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

void dataout_unknown(const Options& o, Case& c) {
  Session s;
  if (!login_or_flag(s, o, c)) return;
  Bhs b;
  b.set_opcode(Opcode::data_out);
  b.set_flags(0x80);
  b.set_data_segment_length(512);
  b.set_lun_raw(lun_field(o.lun));
  b.set_itt(0x7777);
  b.set_u32(off::kTtt, 0x8888);
  b.set_u32(off::kExpStatSn, s.expstatsn);
  b.set_u32(off::kDataSn, 0);
  b.set_u32(off::kBufferOffset, 0);
  s.c.send_pdu(b, std::vector<uint8_t>(512, 0xcd));
  s.c.send_pdu(nop_out(s, 0x600));
  std::string d;
  record(c, observe(s, o, 0x600, 0, &d), d);
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
    c.seen[Out::other] += 0;
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
  std::vector<uint8_t> d = text_keys({{"InitiatorName", "iqn.2025-01.test.hostile:mallory"},
                                      {"SessionType", "Normal"},
                                      {"TargetName", o.target},
                                      {"AuthMethod", "None"}});
  b.set_data_segment_length(uint32_t(d.size()));
  s.c.send_pdu(b, d);
  std::string det;
  record(c, observe(s, o, 0, 0, &det), det);
}

// ------------------------------------------------------------ honest session

struct Honest {
  std::atomic<bool> stop{false};
  std::atomic<long> ops{0};
  std::string error;  // written by the thread only, read after join
};

void honest_loop(const std::string& url, Honest* h) {
  std::string err;
  auto s = integ::Session::login(url, "iqn.2025-01.test.hostile:honest", 99, &err);
  if (!s) {
    h->error = err;
    return;
  }
  std::mt19937_64 rng(42);
  const uint64_t region = std::min<uint64_t>(32768, s->blocks() / 2);
  for (long i = 0; !h->stop.load() || i < 20; ++i) {
    const uint32_t n = uint32_t(1 + rng() % 128);
    const uint64_t lba = rng() % (region - n);
    std::vector<uint8_t> buf(size_t(n) * s->block_size()), got;
    integ::fill_pattern(buf, uint64_t(i) + 7, lba, s->block_size());
    if (!s->write(lba, buf, &err) || !s->read(lba, n, got, &err)) {
      h->error = "op " + std::to_string(i) + ": " + err;
      return;
    }
    if (long d = integ::first_diff(got, buf); d >= 0) {
      h->error = "op " + std::to_string(i) + ": wrong byte at lba " + std::to_string(lba) + " offset " + std::to_string(d);
      return;
    }
    h->ops++;
  }
  if (!s->logout(&err)) h->error = err;
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
    else if (a == "--rounds") o.rounds = std::stoi(next());
    else if (a == "--timeout-ms") o.timeout_ms = std::stoi(next());
    else {
      std::fprintf(stderr,
                   "usage: %s --port P --target IQN --honest-url URL [--host H] [--lun N] [--rounds R] "
                   "[--timeout-ms T]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.port == 0 || o.target.empty() || o.honest_url.empty()) {
    std::fprintf(stderr, "need --port, --target and --honest-url\n");
    return 2;
  }

  Honest honest;
  std::thread th(honest_loop, o.honest_url, &honest);

  std::vector<Case> cases{
      {"garbage before login", {Out::closed, Out::rejected, Out::login_rejected}, {}},
      {"data segment longer than negotiated", kRejectOrClose, {}},
      {"unknown opcode", kRejectOrClose, {}},
      {"immediate data beyond FirstBurstLength", {Out::rejected, Out::closed, Out::check_condition}, {}},
      {"Data-Out for unknown ITT/TTT", {Out::rejected, Out::closed, Out::ignored}, {}},
      {"truncated PDU then close", {Out::closed}, {}},
      {"header digest error", {Out::rejected, Out::closed, Out::ignored}, {}},
      {"data digest error", {Out::rejected, Out::closed, Out::check_condition}, {}},
      {"login PDU in full feature phase", kRejectOrClose, {}},
  };
  const auto t0 = Clock::now();
  for (int r = 0; r < o.rounds; ++r) {
    garbage_before_login(o, cases[0], r);
    bad_data_segment_length(o, cases[1]);
    unknown_opcodes(o, cases[2]);
    oversize_immediate(o, cases[3]);
    dataout_unknown(o, cases[4]);
    truncated_then_close(o, cases[5]);
    header_digest_error(o, cases[6]);
    data_digest_error(o, cases[7]);
    login_in_full_feature_phase(o, cases[8]);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  // The target still takes new logins and answers a ping.
  {
    Session s;
    std::string why;
    if (!do_login(s, o, false, 0x300, &why)) {
      violation("new login after the attacks failed: " + why);
    } else {
      s.c.send_pdu(nop_out(s, 0x900));
      std::string d;
      if (Out out = observe(s, o, 0x900, 0, &d); out != Out::ignored)
        violation(std::string("ping after the attacks: ") + name(out));
    }
  }
  honest.stop = true;
  th.join();
  if (!honest.error.empty()) violation("honest session: " + honest.error);

  std::fprintf(stderr, "hostile: %d rounds in %.1fs; honest session did %ld verified write+read ops\n", o.rounds, secs,
               honest.ops.load());
  for (auto& c : cases) {
    std::string seen;
    for (auto& [out, n] : c.seen) seen += std::string(seen.empty() ? "" : ", ") + name(out) + " x" + std::to_string(n);
    std::fprintf(stderr, "  %-42s %s\n", c.name.c_str(), seen.empty() ? "(not run)" : seen.c_str());
  }
  if (g_violations) {
    std::fprintf(stderr, "hostile: %d violation(s)\n", g_violations.load());
    return 1;
  }
  std::fprintf(stderr, "hostile: all checks passed\n");
  return 0;
}
