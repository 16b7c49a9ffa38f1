#include "sessions/side_probe.h"

#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace scsipub::bench {

namespace {

using Ms = std::chrono::duration<double, std::milli>;

// Waits for one whole PDU; false on timeout, error or end of stream.
bool read_pdu(int fd, std::vector<uint8_t>& rx, size_t& length, Clock::time_point deadline) {
  for (;;) {
    long n = framed_length(rx, 1u << 20);
    if (n < 0) return false;
    if (n > 0) {
      length = size_t(n);
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, int(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    uint8_t buf[4096];
    ssize_t k = ::recv(fd, buf, sizeof buf, 0);
    if (k <= 0) return false;
    rx.insert(rx.end(), buf, buf + k);
  }
}

bool send_all(int fd, const std::vector<uint8_t>& out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t k = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += size_t(k);
  }
  return true;
}

struct OneLogin {
  bool answered = false;
  bool logged_in = false;
  double first_ms = 0;    // from connect() to the first Login Response
  double connect_ms = 0;  // connect() alone (a dropped SYN costs a 1 s retransmission)
};

OneLogin login_once(const ProbeConfig& c) {
  OneLogin out;
  int fd = ::socket(c.portal.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const auto start = Clock::now();
  const auto deadline = start + c.timeout;
  bool ok = c.source.len == 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&c.source.addr), c.source.len) == 0;
  ok = ok && ::connect(fd, reinterpret_cast<const sockaddr*>(&c.portal.addr), c.portal.len) == 0;
  out.connect_ms = Ms(Clock::now() - start).count();
  LoginProgress at;
  LoginIdentity who{c.initiator, c.target, 0x7fff};
  std::vector<uint8_t> rx;
  for (int step = 0; ok && step < 4; ++step) {
    std::vector<uint8_t> tx;
    append_login_request(tx, who, at, c.one_round);
    size_t length = 0;
    if (!send_all(fd, tx) || !read_pdu(fd, rx, length, deadline)) break;
    if (!out.answered) {
      out.answered = true;
      out.first_ms = Ms(Clock::now() - start).count();
    }
    iscsi::LoginResponseHeader r(iscsi::Bhs(std::span<const uint8_t>(rx.data(), iscsi::kBhsSize)));
    rx.erase(rx.begin(), rx.begin() + long(length));
    if (r.opcode() != iscsi::Opcode::login_response || r.status_class() != kStatusSuccess) break;
    at.exp_stat_sn = r.stat_sn() + 1;
    if (r.transit() && r.nsg() == kFullFeature) {
      out.logged_in = true;
      std::vector<uint8_t> bye;
      append_logout(bye, 1, at.cmd_sn, at.exp_stat_sn);
      if (send_all(fd, bye)) read_pdu(fd, rx, length, Clock::now() + c.timeout);
      break;
    }
    at.repeat = !r.transit();
    if (r.transit()) at.stage = r.nsg();
    at.first = false;
  }
  ::close(fd);
  return out;
}

}  // namespace

SideProbe::SideProbe(ProbeConfig config) : config_(std::move(config)), thread_([this] { run(); }) {}

SideProbe::~SideProbe() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SideProbe::run() {
  while (!stop_) {
    OneLogin r = login_once(config_);
    ++attempts_;
    if (r.answered) {
      ++answered_;
      first_ms_.push_back(r.first_ms);
    }
    if (r.logged_in) ++logged_in_;
    max_connect_ms_ = std::max(max_connect_ms_, r.connect_ms);
    for (auto waited = std::chrono::milliseconds(0); waited < config_.interval && !stop_;
         waited += std::chrono::milliseconds(10)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

ProbeSummary SideProbe::finish() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ProbeSummary s;
  s.attempts = attempts_;
  s.answered = answered_;
  s.logged_in = logged_in_;
  s.max_connect_ms = max_connect_ms_;
  if (!first_ms_.empty()) {
    std::sort(first_ms_.begin(), first_ms_.end());
    s.max_first_ms = first_ms_.back();
    s.p50_first_ms = first_ms_[first_ms_.size() / 2];
  }
  return s;
}

}  // namespace scsipub::bench
