#pragma once
// A deliberately small HTTP/1.1 client over raw loopback sockets, so tests
// can behave the way attackers do (partial requests, trickled headers,
// chosen source addresses) as well as the way honest clients do.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace scsipub::web::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;
  Headers headers;
  std::string body;
  // Case-insensitive; empty when absent.
  std::string header(const std::string& name) const;
};

// An owned TCP socket connected to 127.0.0.1:port from `source` (any
// 127.0.0.0/8 address). Invalid (fd() < 0) when the connect failed.
class TestSocket {
 public:
  TestSocket(uint16_t port, const std::string& source = "127.0.0.1");
  ~TestSocket();
  TestSocket(TestSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  TestSocket& operator=(TestSocket&&) = delete;
  TestSocket(const TestSocket&) = delete;
  TestSocket& operator=(const TestSocket&) = delete;

  int fd() const { return fd_; }
  // False once the peer closed or reset the connection (or on any error).
  bool send_all(const std::string& bytes);
  // Reads one response (Content-Length framed, or to EOF) within `timeout`.
  std::optional<HttpReply> read_reply(std::chrono::milliseconds timeout);
  // True when the peer closed (EOF or reset) within `timeout`; bytes it sent
  // first are skipped.
  bool closed_by_peer_within(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// "METHOD path HTTP/1.1" with Host, Connection: close, Content-Length when
// there is a body, and `headers`.
std::string build_request(const std::string& method, const std::string& path, const Headers& headers = {},
                          const std::string& body = {});

// One request on a fresh connection; nothing when no full reply came in time.
std::optional<HttpReply> http_request(uint16_t port, const std::string& method, const std::string& path,
                                      const Headers& headers = {}, const std::string& body = {},
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                      const std::string& source = "127.0.0.1");

// VmRSS of this process in KiB (Linux /proc/self/status).
long resident_kib();

}  // namespace scsipub::web::testing
