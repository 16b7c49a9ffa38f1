#include "web/http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>

namespace scsipub::web::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Waits for input until `deadline`; false on timeout.
bool wait_readable(int fd, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

std::optional<HttpReply> parse_head(const std::string& head) {
  HttpReply r;
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::nullopt;
  r.status = std::atoi(status_line.c_str() + 9);
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      size_t v = line.find_first_not_of(' ', colon + 1);
      r.headers.emplace_back(line.substr(0, colon), v == std::string::npos ? "" : line.substr(v));
    }
    pos = end + 2;
  }
  return r;
}

}  // namespace

std::string HttpReply::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

TestSocket::TestSocket(uint16_t port, const std::string& source) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return;
  }
  // A server that stops reading must fail the test, not hang it.
  timeval send_timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  fd_ = fd;
}

TestSocket::~TestSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool TestSocket::send_all(const std::string& bytes) {
  size_t done = 0;
  while (fd_ >= 0 && done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

std::optional<HttpReply> TestSocket::read_reply(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data;
  std::optional<HttpReply> reply;
  size_t body_start = 0;
  long content_length = -1;
  char buf[16384];
  while (fd_ >= 0) {
    if (!reply) {
      size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        reply = parse_head(data.substr(0, end));
        if (!reply) return std::nullopt;
        body_start = end + 4;
        std::string cl = reply->header("Content-Length");
        if (!cl.empty()) content_length = std::atol(cl.c_str());
      }
    }
    if (reply && content_length >= 0 && data.size() - body_start >= static_cast<size_t>(content_length)) {
      reply->body = data.substr(body_start, static_cast<size_t>(content_length));
      return reply;
    }
    if (!wait_readable(fd_, deadline)) return std::nullopt;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (or reset): a reply without Content-Length ends here
    data.append(buf, static_cast<size_t>(n));
  }
  if (!reply) {
    size_t end = data.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    reply = parse_head(data.substr(0, end));
    if (!reply) return std::nullopt;
    body_start = end + 4;
  }
  if (content_length >= 0) return std::nullopt;  // cut short
  reply->body = data.substr(body_start);
  return reply;
}

bool TestSocket::closed_by_peer_within(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (fd_ >= 0) {
    if (!wait_readable(fd_, deadline)) return false;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
  }
  return false;
}

std::string build_request(const std::string& method, const std::string& path, const Headers& headers,
                          const std::string& body) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  r += "\r\n";
  r += body;
  return r;
}

std::optional<HttpReply> http_request(uint16_t port, const std::string& method, const std::string& path,
                                      const Headers& headers, const std::string& body,
                                      std::chrono::milliseconds timeout, const std::string& source) {
  TestSocket s(port, source);
  if (s.fd() < 0) return std::nullopt;
  if (!s.send_all(build_request(method, path, headers, body))) return std::nullopt;
  return s.read_reply(timeout);
}

long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace scsipub::web::testing
