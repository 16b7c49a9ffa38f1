#pragma once
// The HTTP transport under the session API (and the coming web pages):
// GNU libmicrohttpd on epoll with a fixed pool of threads, fenced against
// hostile clients. docs/SECURITY.md ("HTTP") lists every limit.
//
// Why libmicrohttpd (docs/ARCHITECTURE.md): connections are multiplexed on
// epoll, so a client that trickles its headers holds one connection slot,
// never a thread; its per-connection memory pool bounds what one request's
// line and headers can cost; it has connection limits and idle timeouts.
// What it lacks is added here: a header count, /64 grouping for the
// per-address limit, a whole-request deadline, counted refusals, and request
// ids for 5xx answers.
//
// Handlers run on the `threads` epoll threads themselves: there is no queue
// to grow; at most max_connections requests exist at all.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "common/limit_events.h"
#include "common/result.h"
#include "web/http_message.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace scsipub::web {

struct HttpLimits {
  size_t max_connections = 1024;        // all clients together
  size_t max_connections_per_ip = 16;   // per IPv4 address or IPv6 /64
  size_t max_header_bytes = 16 * 1024;  // request line + headers
  size_t max_headers = 100;
  std::chrono::seconds idle_timeout{10};             // no byte in either direction
  std::chrono::milliseconds request_timeout{30000};  // one request, first byte to last byte of the answer
};

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral
  size_t threads = 4;
  size_t max_body = 64 * 1024;
  HttpLimits limits;
  LimitEvents* limit_events = nullptr;
  // The body of the errors the transport answers itself (413, 431, 500).
  std::function<HttpResponse(int status, std::string_view message, std::string_view request_id)> error_response;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // `handler` answers every request that passed the limits; an exception it
  // throws is logged with the request id and answered 500 without detail.
  HttpServer(HttpServerConfig config, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status start();
  uint16_t port() const { return port_; }
  void stop();  // idempotent; closes every connection

  // Memory one connection may use for its request line and headers (the
  // libmicrohttpd pool, which also holds the header index and the answer's
  // status line and headers).
  static size_t connection_memory(const HttpLimits& limits);

 private:
  struct LiveConnection;
  struct RequestState;

  friend struct MhdCallbacks;  // the C callbacks, in http_server.cc

  // Per-connection and per-request bookkeeping behind the callbacks.
  bool admit(const std::string& key);
  LiveConnection* connection_started(MHD_Connection* c);
  void connection_closed(LiveConnection* live);
  void request_finished(MHD_Connection* c, RequestState* rs, int reason);
  int on_request(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                 size_t* upload_data_size, RequestState& rs);
  int first_call(MHD_Connection* c, RequestState& rs);
  int answer(MHD_Connection* c, const HttpResponse& response, bool close_after);
  int refuse(MHD_Connection* c, const RequestState& rs, int status, std::string_view message, Limit limit);
  HttpResponse run_handler(RequestState& rs);
  HttpResponse error_response(int status, std::string_view message, std::string_view request_id) const;
  void enforce_deadlines();

  const HttpServerConfig config_;
  const Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  std::atomic<uint64_t> next_request_id_;

  // Live connections, for the per-address limit and the request deadline.
  std::mutex mu_;
  std::set<LiveConnection*> live_;
  std::map<std::string, size_t, std::less<>> per_address_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread deadline_thread_;
};

}  // namespace scsipub::web
