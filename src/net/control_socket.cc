#include "net/control_socket.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace scsipub::net {
namespace {

bool send_line(int fd, const std::string& line) {
  std::string out = line + "\n";
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // gone, or SO_SNDTIMEO expired
    off += static_cast<size_t>(n);
  }
  return true;
}

// One line within the deadline and the cap; nullopt-like empty + false on failure.
bool read_line(int fd, size_t cap, std::chrono::milliseconds timeout, std::string& line, std::string& why) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[512];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      why = "request timed out";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // the deadline check above ends it
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = "connection closed before a full request line";
      return false;
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') return true;
      if (line.size() >= cap) {
        why = "request too long";
        return false;
      }
      line.push_back(buf[i]);
    }
  }
}

}  // namespace

ControlSocket::ControlSocket(std::filesystem::path path, Handler handler, ControlSocketLimits limits)
    : path_(std::move(path)), handler_(std::move(handler)), limits_(limits) {}

ControlSocket::~ControlSocket() { stop(); }

Status ControlSocket::start() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path_.string();
  if (p.size() >= sizeof addr.sun_path) return fail("control socket path too long: " + p);
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  struct stat st{};
  if (::lstat(p.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return fail(p + " exists and is not a socket");
    ::unlink(p.c_str());  // left by a server that died: the data dir lock says none runs
  }
  listen_fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_.valid()) return fail(std::string("control socket: ") + std::strerror(errno));
  if (::bind(listen_fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return fail("cannot bind " + p + ": " + std::strerror(errno));
  }
  // The peer uid check below is what guards it; 0600 says so to anyone looking.
  ::chmod(p.c_str(), 0600);
  if (::listen(listen_fd_.get(), 4) != 0) return fail("cannot listen on " + p + ": " + std::strerror(errno));
  stop_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!stop_fd_.valid()) return fail(std::string("eventfd: ") + std::strerror(errno));
  accept_thread_ = std::thread([this] { accept_loop(); });
  return ok_status();
}

void ControlSocket::stop() {
  if (accept_thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(stop_fd_.get(), &one, sizeof one);
    accept_thread_.join();
    ::unlink(path_.c_str());
  }
  std::lock_guard lock(job_mu_);
  if (job_.joinable()) job_.join();
}

void ControlSocket::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    UniqueFd client(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) continue;
    serve_client(std::move(client));
  }
}

void ControlSocket::serve_client(UniqueFd client) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(limits_.write_timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((limits_.write_timeout.count() % 1000) * 1000);
  ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != ::geteuid() && cred.uid != 0)) {
    spdlog::warn("control socket: refused a client of uid {}", cred.uid);
    send_line(client.get(), "error permission denied");
    return;
  }
  std::string line, why;
  if (!read_line(client.get(), limits_.max_request, limits_.read_timeout, line, why)) {
    send_line(client.get(), "error " + why);
    return;
  }
  std::lock_guard lock(job_mu_);
  if (job_running_.load()) {
    send_line(client.get(), "error busy: another backup is running");
    return;
  }
  if (job_.joinable()) job_.join();  // finished
  job_running_.store(true);
  auto fd = std::make_shared<UniqueFd>(std::move(client));
  job_ = std::thread([this, fd, request = std::move(line)] {
    handler_(request, [fd](const std::string& reply) { return send_line(fd->get(), reply); });
    job_running_.store(false);
  });
}

}  // namespace scsipub::net
