#include "sessions/session_pool.h"

#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace scsipub::bench {

namespace {

constexpr uint64_t kSignalKey = ~uint64_t{0};
// A Login Response or NOP-In carries a few hundred bytes at most; anything
// far larger means the stream is not what we think it is.
constexpr uint32_t kMaxDataSegment = 1u << 20;
constexpr uint8_t kAsyncLogoutRequested = 1;  // RFC 7143 11.9.1 AsyncEvent 1
constexpr uint8_t kAsyncDropConnection = 2;
constexpr uint8_t kAsyncDropAll = 3;

}  // namespace

SessionPool::SessionPool(PoolConfig config) : config_(std::move(config)), sessions_(config_.sessions) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  // SIGINT/SIGTERM end a run politely (logout) instead of killing the process.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kSignalKey;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev);
  }
}

SessionPool::~SessionPool() {
  for (auto& s : sessions_) {
    if (s.fd >= 0) ::close(s.fd);
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

size_t SessionPool::pending() const { return sessions_.size() - logged_in_ - given_up_; }

void SessionPool::start_logins() {
  const auto now = Clock::now();
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (sessions_[i].state == State::idle) queue_.push({now, i});
  }
}

Clock::duration SessionPool::backoff(uint32_t attempts) {
  auto d = config_.backoff_min * (uint64_t{1} << std::min<uint32_t>(attempts, 16));
  d = std::min<std::chrono::milliseconds>(d, config_.backoff_max);
  // Between half and all of it, so a crowd refused together does not come back together.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::duration_cast<Clock::duration>(d * jitter(random_));
}

void SessionPool::launch_due(Clock::time_point now) {
  while (!queue_.empty() && in_flight_ < config_.in_flight && queue_.top().at <= now) {
    size_t i = queue_.top().index;
    queue_.pop();
    if (sessions_[i].state == State::idle) launch(i, now);
  }
}

void SessionPool::launch(size_t i, Clock::time_point now) {
  Session& s = sessions_[i];
  const Endpoint& to = config_.portal;
  int fd = ::socket(to.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    // Out of descriptors or memory: try again later rather than give up.
    ++counters_.retried;
    queue_.push({now + backoff(s.attempts++), i});
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!config_.sources.empty()) {
    const Endpoint& from = config_.sources[i % config_.sources.size()];
    // Pick the local port at connect time, per destination, so each source
    // address has its whole ephemeral range for this one portal.
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&from.addr), from.len) != 0) {
      ::close(fd);
      ++counters_.retried;
      queue_.push({now + backoff(s.attempts++), i});
      return;
    }
  }
  s.fd = fd;
  s.state = State::connecting;
  s.deadline = now + config_.login_timeout;
  s.rx.clear();
  s.tx.clear();
  s.tx_sent = 0;
  s.login = LoginProgress{};
  s.keys = NegotiatedKeys{};
  s.cmd_sn = 1;
  s.exp_stat_sn = 0;
  s.our_logout = false;
  ++in_flight_;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = i;
  s.wants_out = true;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0 && errno != EINPROGRESS) {
    ++counters_.unanswered;
    close(i, true);
  }
}

void SessionPool::watch_output(size_t i, bool on) {
  Session& s = sessions_[i];
  if (s.wants_out == on) return;
  s.wants_out = on;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.u64 = i;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &ev);
}

void SessionPool::leave_state(Session& s) {
  switch (s.state) {
    case State::connecting:
    case State::login: --in_flight_; break;
    case State::full_feature:
    case State::logout: --logged_in_; break;
    default: break;
  }
}

void SessionPool::close(size_t i, bool retry, SessionEnd how) {
  Session& s = sessions_[i];
  const bool was_logged_in = s.state == State::full_feature || s.state == State::logout;
  if (s.fd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
    ::close(s.fd);
    s.fd = -1;
  }
  leave_state(s);
  s.state = State::idle;
  s.wants_out = false;
  std::vector<uint8_t>().swap(s.rx);
  std::vector<uint8_t>().swap(s.tx);
  if (retry) {
    ++counters_.retried;
    queue_.push({Clock::now() + backoff(s.attempts++), i});
  }
  if (was_logged_in && config_.listener != nullptr) config_.listener->on_session_end(i, how);
}

void SessionPool::login_later(size_t i, Clock::duration delay) { queue_.push({Clock::now() + delay, i}); }

bool SessionPool::send(size_t i, std::span<const uint8_t> pdu) {
  Session& s = sessions_[i];
  if (s.fd < 0) return false;
  s.tx.insert(s.tx.end(), pdu.begin(), pdu.end());
  return flush(i);
}

void SessionPool::logout(size_t i) {
  Session& s = sessions_[i];
  if (s.state != State::full_feature) return;
  s.state = State::logout;
  s.our_logout = true;
  append_logout(s.tx, 0x30, s.cmd_sn, s.exp_stat_sn);
  if (!flush(i)) lost(i);
}

void SessionPool::drop(size_t i) { close(i, false, SessionEnd::dropped); }

void SessionPool::lost(size_t i) {
  // A login in flight is retried; a logged-in session counts as dropped and
  // comes back only with `reconnect`; after our own Logout it is simply over.
  Session& s = sessions_[i];
  if (s.state == State::logout && s.our_logout) {
    close(i, false, SessionEnd::logged_out);
  } else if (s.state == State::full_feature || s.state == State::logout) {
    ++counters_.drops;
    close(i, config_.reconnect);
  } else {
    ++counters_.unanswered;
    close(i, true);
  }
}

void SessionPool::give_up(size_t i) {
  close(i, false);
  sessions_[i].state = State::given_up;
  ++counters_.failed;
  ++given_up_;
}

const ChapSecret* SessionPool::chap_of(size_t i) const {
  if (config_.listener != nullptr || config_.targets.empty()) return nullptr;
  const auto& chap = config_.targets[i % config_.targets.size()].chap;
  return chap ? &*chap : nullptr;
}

void SessionPool::send_login_request(size_t i) {
  Session& s = sessions_[i];
  LoginIdentity who;
  if (config_.listener != nullptr) {
    who = config_.listener->identity(i);
  } else {
    who = LoginIdentity{config_.initiator_prefix + ":" + std::to_string(i),
                        config_.targets[i % config_.targets.size()].name, uint16_t(i), chap_of(i)};
  }
  append_login_request(s.tx, who, s.login, config_.one_round);
  flush(i);
}

bool SessionPool::flush(size_t i) {
  Session& s = sessions_[i];
  while (s.tx_sent < s.tx.size()) {
    ssize_t k = ::send(s.fd, s.tx.data() + s.tx_sent, s.tx.size() - s.tx_sent, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) {
      watch_output(i, true);
      return true;
    }
    if (k <= 0) return false;
    s.tx_sent += size_t(k);
  }
  s.tx.clear();
  s.tx_sent = 0;
  watch_output(i, false);
  return true;
}

void SessionPool::on_connected(size_t i) {
  Session& s = sessions_[i];
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    ++counters_.unanswered;
    close(i, true);
    return;
  }
  s.state = State::login;
  send_login_request(i);
}

void SessionPool::on_event(size_t i, uint32_t events) {
  Session& s = sessions_[i];
  if (s.fd < 0) return;
  if (s.state == State::connecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    on_connected(i);
    if (s.fd < 0) return;
  } else if ((events & EPOLLOUT) && !flush(i)) {
    lost(i);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(i);
}

void SessionPool::on_readable(size_t i) {
  Session& s = sessions_[i];
  uint8_t buf[16384];
  for (int rounds = 0; rounds < 16; ++rounds) {
    ssize_t k = ::recv(s.fd, buf, sizeof buf, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return;
    if (k <= 0) {
      lost(i);
      return;
    }
    s.rx.insert(s.rx.end(), buf, buf + k);
    for (;;) {
      long n = framed_length(s.rx, kMaxDataSegment);
      if (n < 0) {
        give_up(i);
        return;
      }
      if (n == 0) break;
      if (!on_pdu(i, std::span<const uint8_t>(s.rx.data(), size_t(n)))) return;
      s.rx.erase(s.rx.begin(), s.rx.begin() + n);
    }
  }
}

bool SessionPool::on_pdu(size_t i, std::span<const uint8_t> pdu) {
  Session& s = sessions_[i];
  iscsi::Bhs bhs(pdu.first(iscsi::kBhsSize));
  const size_t data_at = iscsi::kBhsSize + bhs.total_ahs_bytes();
  auto data = pdu.subspan(data_at, bhs.data_segment_length());
  if (s.state == State::login) return on_login_response(i, bhs, data);
  return on_full_feature_pdu(i, bhs, data);
}

bool SessionPool::on_login_response(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data) {
  Session& s = sessions_[i];
  if (bhs.opcode() != iscsi::Opcode::login_response) {
    give_up(i);
    return false;
  }
  iscsi::LoginResponseHeader r(bhs);
  s.login.exp_stat_sn = r.stat_sn() + 1;
  if (r.status_class() != kStatusSuccess) {
    if (r.status_class() == kStatusTargetError) {
      // 03/xx: the target is busy or unavailable now; come back later.
      if (r.status_detail() == kDetailOutOfResources) ++counters_.busy;
      close(i, true);
    } else {
      give_up(i);
    }
    return false;
  }
  read_login_keys(data, s.keys);
  if (r.continue_bit()) return true;  // more of this response follows (RFC 7143 6.2)
  if (const ChapSecret* chap = chap_of(i); chap != nullptr && s.login.stage == kSecurityStage) {
    if (!r.transit()) {
      // The target answered our offer or our CHAP_A: send the next step.
      if (!advance_chap(s.login.chap, data, *chap)) {
        give_up(i);
        return false;
      }
      s.login.first = false;
      send_login_request(i);
      return true;
    }
    // RFC 7143 12.1.3: leaving the security stage before our answer would be
    // a target that did not authenticate us at all.
    if (s.login.chap.step != ChapStep::answer) {
      give_up(i);
      return false;
    }
  }
  if (r.transit() && r.nsg() == kFullFeature) {
    --in_flight_;
    ++logged_in_;
    ++counters_.logins;
    s.state = State::full_feature;
    s.attempts = 0;
    s.exp_stat_sn = s.login.exp_stat_sn;
    s.cmd_sn = s.login.cmd_sn;  // Login Requests are immediate: CmdSN is not consumed
    if (config_.listener != nullptr) config_.listener->on_logged_in(i, s.keys);
    return true;
  }
  s.login.repeat = !r.transit();
  if (r.transit()) s.login.stage = r.nsg();
  s.login.first = false;
  send_login_request(i);
  return true;
}

bool SessionPool::on_full_feature_pdu(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data) {
  Session& s = sessions_[i];
  switch (bhs.opcode()) {
    case iscsi::Opcode::nop_in: {
      iscsi::NopInHeader ping(bhs);
      if (ping.ttt() == iscsi::kReservedTag) return true;
      // A ping's StatSN is the current one, not a new one (RFC 7143 11.19.2).
      s.exp_stat_sn = ping.stat_sn();
      append_ping_reply(s.tx, ping, data, s.cmd_sn, s.exp_stat_sn);
      ++counters_.pings;
      if (!flush(i)) {
        lost(i);
        return false;
      }
      return true;
    }
    case iscsi::Opcode::async_message: {
      iscsi::AsyncMessageHeader m(bhs);
      s.exp_stat_sn = m.stat_sn() + 1;
      if (m.async_event() == kAsyncLogoutRequested && s.state == State::full_feature) {
        // The target is going away (shutdown): log out, then log in again later.
        ++counters_.target_logouts;
        s.state = State::logout;
        s.our_logout = false;
        append_logout(s.tx, 0x10, s.cmd_sn, s.exp_stat_sn);
        if (!flush(i)) {
          lost(i);
          return false;
        }
      } else if (m.async_event() == kAsyncDropConnection || m.async_event() == kAsyncDropAll) {
        ++counters_.drops;
        close(i, config_.reconnect);
        return false;
      }
      return true;
    }
    case iscsi::Opcode::logout_response: {
      const bool ours = s.our_logout;
      if (ours) ++counters_.logouts;
      close(i, !ours && config_.reconnect, ours ? SessionEnd::logged_out : SessionEnd::lost);
      return false;
    }
    default:
      if (config_.listener != nullptr && !config_.listener->on_session_pdu(i, bhs, data)) {
        lost(i);
        return false;
      }
      return true;  // without a driver nothing else is expected; ignore it
  }
}

void SessionPool::expire_logins(Clock::time_point now) {
  if (now < next_expiry_scan_) return;
  next_expiry_scan_ = now + std::chrono::milliseconds(100);
  for (size_t i = 0; i < sessions_.size(); ++i) {
    const Session& s = sessions_[i];
    if ((s.state == State::connecting || s.state == State::login) && now >= s.deadline) {
      ++counters_.timeouts;
      close(i, true);
    }
  }
}

void SessionPool::run_until(const std::function<bool()>& done, Clock::time_point deadline) {
  std::vector<epoll_event> events(1024);
  while (!interrupted_ && !done()) {
    auto now = Clock::now();
    if (now >= deadline) return;
    launch_due(now);
    expire_logins(now);
    int timeout_ms = 50;
    if (!queue_.empty() && in_flight_ < config_.in_flight) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(queue_.top().at - now).count();
      timeout_ms = int(std::clamp<int64_t>(wait, 0, 50));
    }
    int n = ::epoll_wait(epoll_fd_, events.data(), int(events.size()), timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    for (int k = 0; k < n; ++k) {
      if (events[size_t(k)].data.u64 == kSignalKey) {
        signalfd_siginfo info;
        while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
        }
        interrupted_ = true;
        continue;
      }
      on_event(size_t(events[size_t(k)].data.u64), events[size_t(k)].events);
    }
  }
}

void SessionPool::logout_all(Clock::time_point deadline) {
  // No new logins from here on.
  queue_ = {};
  for (size_t i = 0; i < sessions_.size(); ++i) {
    Session& s = sessions_[i];
    if (s.state == State::connecting || s.state == State::login) {
      close(i, false);
    } else if (s.state == State::full_feature) {
      s.state = State::logout;
      s.our_logout = true;
      append_logout(s.tx, 0x20, s.cmd_sn, s.exp_stat_sn);
      if (!flush(i)) close(i, false);
    }
  }
  const bool was_interrupted = interrupted_;
  interrupted_ = false;  // a second signal still stops the wait
  run_until([this] { return logged_in_ == 0; }, deadline);
  interrupted_ = interrupted_ || was_interrupted;
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (sessions_[i].fd >= 0) close(i, false);
  }
}

}  // namespace scsipub::bench
