#include "web/http_server.h"

#include <fmt/format.h>
#include <microhttpd.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>
#include <exception>
#include <random>
#include <utility>

#include "web/peer_address.h"

namespace scsipub::web {

using Clock = std::chrono::steady_clock;

struct HttpServer::LiveConnection {
  int fd = -1;
  std::string key;   // address_key() of the peer
  std::string peer;  // peer_text() of the peer
  Clock::time_point request_start;  // connection start, then the end of each answer
  bool cut = false;                 // shut down by the request deadline
};

struct HttpServer::RequestState {
  bool headers_checked = false;
  HttpRequest request;
};

namespace {

// The libmicrohttpd pool per connection holds the read buffer (request line
// and headers, then body chunks), an index entry per header, and the
// answer's status line and headers. Allow the header bytes, an index entry
// per allowed header, and room for our answer's headers.
constexpr size_t kIndexBytesPerHeader = 64;
constexpr size_t kAnswerHeaderBytes = 4096;
constexpr size_t kListenBacklog = 128;

std::string host_port(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return v6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

// libmicrohttpd's own diagnostics (connection refused, out of pool memory,
// ...): every one is tied to a client, so debug level only; the limit
// counters say what happened at the scale that matters.
void log_mhd(void*, const char* format, va_list ap) {
  char line[512];
  std::vsnprintf(line, sizeof line, format, ap);
  std::string_view text(line);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  spdlog::debug("http: {}", text);
}

// Paths are routed as sent: a percent-decoded "%2F" must not become a
// segment separator, and ids never contain '%'.
size_t keep_escaped(void*, MHD_Connection*, char* s) { return std::char_traits<char>::length(s); }

std::optional<size_t> parse_length(const char* text) {
  if (text == nullptr) return std::nullopt;
  std::string_view v(text);
  size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return std::nullopt;
  return n;
}

struct HeaderTally {
  size_t count = 0;
  size_t bytes = 0;
  size_t max_headers = 0;
  std::vector<std::pair<std::string, std::string>>* out = nullptr;
};

MHD_Result tally_header(void* cls, MHD_ValueKind, const char* key, size_t key_size, const char* value,
                        size_t value_size) {
  auto* t = static_cast<HeaderTally*>(cls);
  ++t->count;
  t->bytes += key_size + value_size + 4;  // ": " and CRLF
  if (t->count <= t->max_headers) t->out->emplace_back(std::string(key, key_size), std::string(value, value_size));
  return MHD_YES;
}

}  // namespace

// The C entry points libmicrohttpd calls; each forwards to the server.
struct MhdCallbacks {
  static MHD_Result accept_policy(void* cls, const sockaddr* addr, socklen_t) {
    return static_cast<HttpServer*>(cls)->admit(address_key(addr)) ? MHD_YES : MHD_NO;
  }

  static void on_connection(void* cls, MHD_Connection* c, void** socket_context,
                            MHD_ConnectionNotificationCode event) {
    auto* server = static_cast<HttpServer*>(cls);
    if (event == MHD_CONNECTION_NOTIFY_STARTED) {
      *socket_context = server->connection_started(c);
    } else if (event == MHD_CONNECTION_NOTIFY_CLOSED) {
      server->connection_closed(static_cast<HttpServer::LiveConnection*>(*socket_context));
      *socket_context = nullptr;
    }
  }

  // Called once the request line is in: from here on libmicrohttpd reports
  // the request's end (and why) to on_completed, which frees this state.
  static void* on_request_line(void*, const char*, MHD_Connection*) { return new HttpServer::RequestState(); }

  static void on_completed(void* cls, MHD_Connection* c, void** request_context,
                           MHD_RequestTerminationCode reason) {
    auto* rs = static_cast<HttpServer::RequestState*>(*request_context);
    *request_context = nullptr;
    static_cast<HttpServer*>(cls)->request_finished(c, rs, static_cast<int>(reason));
    delete rs;
  }

  static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                               const char* upload_data, size_t* upload_data_size, void** request_context) {
    if (*request_context == nullptr) *request_context = new HttpServer::RequestState();
    auto* rs = static_cast<HttpServer::RequestState*>(*request_context);
    return static_cast<MHD_Result>(
        static_cast<HttpServer*>(cls)->on_request(c, url, method, upload_data, upload_data_size, *rs));
  }
};

size_t HttpServer::connection_memory(const HttpLimits& limits) {
  return limits.max_header_bytes + limits.max_headers * kIndexBytesPerHeader + kAnswerHeaderBytes;
}

HttpServer::HttpServer(HttpServerConfig config, Handler handler)
    : config_(std::move(config)), handler_(std::move(handler)), next_request_id_(std::random_device{}()) {}

HttpServer::~HttpServer() { stop(); }

bool HttpServer::admit(const std::string& key) {
  std::lock_guard lock(mu_);
  if (live_.size() >= config_.limits.max_connections) {
    count_limit(config_.limit_events, Limit::http_connections_total, key);
    return false;
  }
  auto it = per_address_.find(key);
  if (it != per_address_.end() && it->second >= config_.limits.max_connections_per_ip) {
    count_limit(config_.limit_events, Limit::http_connections_per_ip, key);
    return false;
  }
  return true;
}

HttpServer::LiveConnection* HttpServer::connection_started(MHD_Connection* c) {
  auto live = std::make_unique<LiveConnection>();
  const MHD_ConnectionInfo* addr = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const MHD_ConnectionInfo* fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  live->key = address_key(addr != nullptr ? addr->client_addr : nullptr);
  live->peer = peer_text(addr != nullptr ? addr->client_addr : nullptr);
  live->fd = fd != nullptr ? fd->connect_fd : -1;
  live->request_start = Clock::now();
  std::lock_guard lock(mu_);
  ++per_address_[live->key];
  return *live_.insert(live.release()).first;
}

// libmicrohttpd calls this before it closes the socket, so the deadline
// thread (which shuts sockets down under mu_) never touches a reused fd.
void HttpServer::connection_closed(LiveConnection* live) {
  if (live == nullptr) return;
  std::unique_ptr<LiveConnection> owned(live);
  std::lock_guard lock(mu_);
  live_.erase(live);
  auto it = per_address_.find(live->key);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void HttpServer::request_finished(MHD_Connection* c, RequestState* rs, int reason) {
  const std::string_view peer = rs != nullptr ? std::string_view(rs->request.peer) : std::string_view("client");
  if (reason == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
    count_limit(config_.limit_events, Limit::http_timeout, peer, "idle");
  } else if (reason == MHD_REQUEST_TERMINATED_WITH_ERROR && rs != nullptr && !rs->headers_checked) {
    // libmicrohttpd answered by itself: request line or headers past the
    // connection's memory (414/431) or malformed (400).
    count_limit(config_.limit_events, Limit::http_request_refused, peer, "request line or headers");
  }
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (info == nullptr || info->socket_context == nullptr) return;
  std::lock_guard lock(mu_);
  static_cast<LiveConnection*>(info->socket_context)->request_start = Clock::now();
}

HttpResponse HttpServer::error_response(int status, std::string_view message, std::string_view request_id) const {
  if (config_.error_response) return config_.error_response(status, message, request_id);
  return {status, "text/plain", std::string(message) + "\n", {}};
}

namespace {

// A shared body is handed to libmicrohttpd as is; this reference keeps it
// alive until libmicrohttpd lets go of the response.
void release_shared_body(void* cls) { delete static_cast<std::shared_ptr<const std::string>*>(cls); }

MHD_Response* response_from(const HttpResponse& response) {
  if (response.shared_body) {
    auto* keep = new std::shared_ptr<const std::string>(response.shared_body);
    MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
        (*keep)->size(), const_cast<char*>((*keep)->data()), &release_shared_body, keep);
    if (r == nullptr) delete keep;
    return r;
  }
  return MHD_create_response_from_buffer(response.body.size(), const_cast<char*>(response.body.data()),
                                         MHD_RESPMEM_MUST_COPY);
}

}  // namespace

int HttpServer::answer(MHD_Connection* c, const HttpResponse& response, bool close_after) {
  MHD_Response* r = response_from(response);
  if (r == nullptr) return MHD_NO;
  if (!response.content_type.empty()) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, response.content_type.c_str());
  for (const auto& [name, value] : response.headers) MHD_add_response_header(r, name.c_str(), value.c_str());
  if (response.shared_headers) {
    for (const auto& [name, value] : *response.shared_headers) MHD_add_response_header(r, name.c_str(), value.c_str());
  }
  if (close_after) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  MHD_Result queued = MHD_queue_response(c, static_cast<unsigned>(response.status), r);
  MHD_destroy_response(r);
  return queued;
}

int HttpServer::refuse(MHD_Connection* c, const RequestState& rs, int status, std::string_view message,
                       Limit limit) {
  count_limit(config_.limit_events, limit, rs.request.peer, message);
  return answer(c, error_response(status, message, rs.request.request_id), /*close_after=*/true);
}

// Headers are complete: enforce what libmicrohttpd does not (count, exact
// byte total, declared body size) before reading any body.
int HttpServer::first_call(MHD_Connection* c, RequestState& rs) {
  rs.headers_checked = true;
  HttpRequest& req = rs.request;
  req.request_id = fmt::format("{:08x}", next_request_id_.fetch_add(1, std::memory_order_relaxed) & 0xffffffffu);
  const MHD_ConnectionInfo* addr = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  req.peer = peer_text(addr != nullptr ? addr->client_addr : nullptr);

  HeaderTally tally{0, 0, config_.limits.max_headers, &req.headers};
  MHD_get_connection_values_n(c, MHD_HEADER_KIND, tally_header, &tally);
  if (tally.count > config_.limits.max_headers) {
    return refuse(c, rs, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                  fmt::format("more than {} header fields", config_.limits.max_headers), Limit::http_request_refused);
  }
  if (tally.bytes > config_.limits.max_header_bytes) {
    return refuse(c, rs, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                  fmt::format("header fields larger than {} bytes", config_.limits.max_header_bytes),
                  Limit::http_request_refused);
  }
  const char* length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (length != nullptr) {
    auto n = parse_length(length);
    if (n && *n > config_.max_body) {
      return refuse(c, rs, MHD_HTTP_CONTENT_TOO_LARGE,
                    fmt::format("request body is larger than {} KiB", config_.max_body / 1024),
                    Limit::http_request_refused);
    }
  }
  return MHD_YES;  // libmicrohttpd now sends 100 Continue if asked, then the body
}

HttpResponse HttpServer::run_handler(RequestState& rs) {
  try {
    return handler_(rs.request);
  } catch (const std::exception& e) {
    spdlog::error("http [{}] {} {}: exception: {}", rs.request.request_id, rs.request.method, rs.request.path,
                  e.what());
  } catch (...) {
    spdlog::error("http [{}] {} {}: unknown exception", rs.request.request_id, rs.request.method, rs.request.path);
  }
  return error_response(500, "internal error", rs.request.request_id);
}

int HttpServer::on_request(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                           size_t* upload_data_size, RequestState& rs) {
  if (!rs.headers_checked) {
    rs.request.method = method;
    rs.request.path = url;
    return first_call(c, rs);
  }
  if (*upload_data_size > 0) {
    // A chunked body has no declared length: it is cut at the cap. An
    // answer cannot be queued mid-body, so the connection is closed.
    if (rs.request.body.size() + *upload_data_size > config_.max_body) {
      count_limit(config_.limit_events, Limit::http_request_refused, rs.request.peer, "chunked body over the cap");
      return MHD_NO;
    }
    rs.request.body.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  const HttpResponse response = run_handler(rs);
  spdlog::debug("http [{}] {} {} {} -> {}", rs.request.request_id, rs.request.peer, rs.request.method,
                rs.request.path, response.status);
  return answer(c, response, /*close_after=*/false);
}

// A trickling client resets libmicrohttpd's idle timer with every byte; the
// request deadline bounds the whole request instead. Shutting the socket
// down makes libmicrohttpd see the end of the stream and close it itself.
void HttpServer::enforce_deadlines() {
  const auto timeout = config_.limits.request_timeout;
  const auto interval = std::clamp<Clock::duration>(timeout / 10, std::chrono::milliseconds(20), std::chrono::seconds(1));
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, interval);
    const auto now = Clock::now();
    for (LiveConnection* live : live_) {
      if (live->cut || live->fd < 0 || now - live->request_start < timeout) continue;
      live->cut = true;
      ::shutdown(live->fd, SHUT_RDWR);
      count_limit(config_.limit_events, Limit::http_timeout, live->peer, "request deadline");
    }
  }
}

Status HttpServer::start() {
  if (daemon_ != nullptr) return fail("HTTP server already started");
  const std::string where = host_port(config_.host, config_.port);
  const auto cannot_listen = [&](std::string_view why) {
    return fail(fmt::format("cannot listen for HTTP on {} ({})", where, why));
  };

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(config_.port);
  if (int rc = ::getaddrinfo(config_.host.c_str(), port_text.c_str(), &hints, &found); rc != 0 || found == nullptr) {
    return cannot_listen(::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  const int family = found->ai_family;
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return cannot_listen(std::strerror(errno));
  // SO_REUSEADDR only: with SO_REUSEPORT a second server on a busy port
  // would bind silently and steal half the connections.
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return cannot_listen(why);
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                   : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  const HttpLimits& l = config_.limits;
  const unsigned threads = static_cast<unsigned>(std::clamp<size_t>(config_.threads, 1, 64));
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  if (family == AF_INET6) flags |= MHD_USE_IPv6;
  // libmicrohttpd's own connection cap is a backstop a little above ours, so
  // that ours (which counts and logs) is the one clients meet.
  const unsigned backstop = static_cast<unsigned>(l.max_connections + threads);
  daemon_ = MHD_start_daemon(
      flags, 0, &MhdCallbacks::accept_policy, this, &MhdCallbacks::on_request, this,  //
      MHD_OPTION_LISTEN_SOCKET, fd,                                                  //
      MHD_OPTION_THREAD_POOL_SIZE, threads,                                          //
      MHD_OPTION_CONNECTION_LIMIT, backstop,                                         //
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(std::max<int64_t>(l.idle_timeout.count(), 1)),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory(l),                      //
      MHD_OPTION_NOTIFY_CONNECTION, &MhdCallbacks::on_connection, this,              //
      MHD_OPTION_NOTIFY_COMPLETED, &MhdCallbacks::on_completed, this,                //
      MHD_OPTION_URI_LOG_CALLBACK, &MhdCallbacks::on_request_line, this,             //
      MHD_OPTION_UNESCAPE_CALLBACK, &keep_escaped, this,                             //
      MHD_OPTION_EXTERNAL_LOGGER, &log_mhd, this,                                    //
      MHD_OPTION_STRICT_FOR_CLIENT, 1,                                               //
      MHD_OPTION_END);
  if (daemon_ == nullptr) {
    ::close(fd);  // not adopted on failure
    return fail("HTTP server on " + where + " did not start");
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  deadline_thread_ = std::thread([this] { enforce_deadlines(); });
  return ok_status();
}

void HttpServer::stop() {
  if (daemon_ == nullptr) return;
  MHD_stop_daemon(daemon_);  // joins its threads and closes every connection
  daemon_ = nullptr;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  deadline_thread_.join();
}

}  // namespace scsipub::web
