#include "web/api_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

#include "web/api_json.h"

namespace scsipub::web {
namespace {

using namespace std::chrono_literals;
using httplib::Request;
using httplib::Response;

constexpr std::string_view kApiPrefix = "/api/v1/";
constexpr auto kIoTimeout = 10s;         // a slow client holds a worker at most this long per read
constexpr size_t kMaxTokenLength = 512;  // longer is not a token we issued
constexpr size_t kMaxIdLength = 128;

enum class Endpoint { none, disks, disk, images };

struct Route {
  Endpoint endpoint = Endpoint::none;
  std::string_view id;  // for Endpoint::disk, a view into the request path
};

Route match_route(std::string_view path) {
  if (!path.starts_with(kApiPrefix)) return {};
  std::string_view rest = path.substr(kApiPrefix.size());
  if (rest == "disks") return {Endpoint::disks, {}};
  if (rest == "images") return {Endpoint::images, {}};
  constexpr std::string_view kDisks = "disks/";
  if (!rest.starts_with(kDisks)) return {};
  std::string_view id = rest.substr(kDisks.size());
  if (id.empty() || id.find('/') != std::string_view::npos) return {};
  return {Endpoint::disk, id};
}

// Ids are ours; anything outside their alphabet cannot name a disk, and is
// never handed on (nor logged raw) by way of the service.
bool plausible_id(std::string_view id) {
  if (id.size() > kMaxIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const char* allowed_methods(Endpoint e) {
  switch (e) {
    case Endpoint::disks: return "GET, HEAD, POST";
    case Endpoint::disk: return "GET, HEAD, DELETE";
    case Endpoint::images: return "GET, HEAD";
    case Endpoint::none: break;
  }
  return "";
}

bool method_allowed(Endpoint e, std::string_view method) {
  if (method == "GET" || method == "HEAD") return e != Endpoint::none;
  if (method == "POST") return e == Endpoint::disks;
  if (method == "DELETE") return e == Endpoint::disk;
  return false;
}

int http_status(control::ServiceErrc code) {
  switch (code) {
    case control::ServiceErrc::bad_request: return 400;
    case control::ServiceErrc::unauthorized: return 401;
    case control::ServiceErrc::not_found: return 404;
    case control::ServiceErrc::limit_exceeded: return 403;
    case control::ServiceErrc::conflict: return 409;
    case control::ServiceErrc::internal: return 500;
  }
  return 500;
}

// Bodies for the errors httplib produces itself (no route, oversized body,
// malformed request line), so every error a client sees is JSON.
const char* default_error_message(int status) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timed out";
    case 413: return "request body is larger than 64 KiB";
    case 414: return "request URI too long";
    default: return status >= 500 ? "internal error" : "request refused";
  }
}

void reply(Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void reply_error(Response& res, int status, std::string_view message) {
  reply(res, status, error_json(message));
}

void reply_unauthorized(Response& res, bool token_given, std::string_view message) {
  // RFC 6750 3: a bad token is told apart from a missing one.
  res.set_header("WWW-Authenticate", token_given ? "Bearer error=\"invalid_token\"" : "Bearer");
  reply_error(res, 401, message);
}

void reply_service_error(const Request& req, Response& res, const control::ServiceError& e) {
  int status = http_status(e.code);
  if (status >= 500) spdlog::warn("api: {} {}: {}", req.method, req.path, e.message);
  if (status == 401) return reply_unauthorized(res, true, e.message);
  reply_error(res, status, e.message);
}

// The token of "Authorization: Bearer <token>" (scheme case-insensitive,
// RFC 7235 2.1), or nothing.
std::optional<std::string> bearer_token(const Request& req) {
  std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = header[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  size_t begin = header.find_first_not_of(' ', kScheme.size());
  size_t end = header.find_last_not_of(' ');
  if (begin == std::string::npos) return std::nullopt;
  std::string token = header.substr(begin, end + 1 - begin);
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  return token;
}

void create_disk(control::DiskService& service, const control::Caller& caller, const Request& req,
                 Response& res) {
  auto request = parse_create_disk_request(req.body);
  if (!request) return reply_error(res, 400, request.error());
  auto disk = service.create_disk(caller, *request);
  if (!disk) return reply_service_error(req, res, disk.error());
  reply(res, 201, to_json(*disk, service.portals(), /*include_secret=*/true));
}

void list_disks(control::DiskService& service, const control::Caller& caller, const Request& req,
                Response& res) {
  auto disks = service.list_disks(caller);
  if (!disks) return reply_service_error(req, res, disks.error());
  // A listing is what ends up in dashboards and logs; secrets are fetched
  // one disk at a time.
  reply(res, 200, disks_json(*disks, service.portals(), /*include_secret=*/false));
}

void get_disk(control::DiskService& service, const control::Caller& caller, std::string_view id,
              const Request& req, Response& res) {
  auto disk = service.get_disk(caller, id);
  if (!disk) return reply_service_error(req, res, disk.error());
  reply(res, 200, to_json(*disk, service.portals(), /*include_secret=*/true));
}

void delete_disk(control::DiskService& service, const control::Caller& caller, std::string_view id,
                 const Request& req, Response& res) {
  auto done = service.delete_disk(caller, id);
  if (!done) return reply_service_error(req, res, done.error());
  res.status = 204;
}

void on_exception(const Request& req, Response& res, const std::exception_ptr& ep) {
  std::string what = "unknown exception";
  try {
    if (ep) std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  spdlog::warn("api: {} {}: exception: {}", req.method, req.path, what);
  res.headers.clear();  // whatever the handler had set is not this response's
  reply_error(res, 500, "internal error");
}

// httplib's default prefers SO_REUSEPORT, under which a second server on a
// busy port binds silently and steals half the connections.
void reuse_address_only(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

std::string host_port(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

ApiServer::ApiServer(control::DiskService& service, ApiServerConfig config)
    : service_(service), config_(std::move(config)), server_(std::make_unique<httplib::Server>()) {
  install_routes();
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::install_routes() {
  httplib::Server& s = *server_;
  const size_t threads = config_.threads == 0 ? 1 : config_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_socket_options(reuse_address_only);
  s.set_payload_max_length(kMaxRequestBody);
  s.set_read_timeout(kIoTimeout);
  s.set_write_timeout(kIoTimeout);
  s.set_exception_handler(on_exception);
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const Request&, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
    reply_error(res, res.status, default_error_message(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  // The request line and status only: headers (tokens) and bodies (secrets)
  // never reach the log.
  s.set_logger([](const Request& req, const Response& res) {
    spdlog::debug("api: {} {} {} -> {}", req.remote_addr, req.method, req.path, res.status);
  });
  // One handler for every method so a known path with the wrong method
  // answers 405 instead of httplib's 404.
  if (config_.metrics) {
    s.Get("/metrics", [this](const Request&, Response& res) {
      res.status = 200;
      res.set_content(config_.metrics(), "text/plain; version=0.0.4");
    });
  }
  const std::string pattern = "/api/.*";
  auto handler = [this](const Request& req, Response& res) { handle(req, res); };
  s.Get(pattern, handler);
  s.Post(pattern, handler);
  s.Put(pattern, handler);
  s.Patch(pattern, handler);
  s.Delete(pattern, handler);
  s.Options(pattern, handler);
}

void ApiServer::handle(const Request& req, Response& res) {
  const Route route = match_route(req.path);
  if (route.endpoint == Endpoint::none) return reply_error(res, 404, "no such API endpoint");
  if (!method_allowed(route.endpoint, req.method)) {
    res.set_header("Allow", allowed_methods(route.endpoint));
    return reply_error(res, 405, "method not allowed on this endpoint");
  }
  if (route.endpoint == Endpoint::images) return reply(res, 200, images_json(service_.images()));

  auto token = bearer_token(req);
  if (!token) return reply_unauthorized(res, false, "an Authorization: Bearer token is required");
  auto caller = service_.authenticate(*token);
  if (!caller) return reply_service_error(req, res, caller.error());

  if (route.endpoint == Endpoint::disks) {
    if (req.method == "POST") return create_disk(service_, *caller, req, res);
    return list_disks(service_, *caller, req, res);
  }
  if (!plausible_id(route.id)) return reply_error(res, 404, "no such disk");
  if (req.method == "DELETE") return delete_disk(service_, *caller, route.id, req, res);
  get_disk(service_, *caller, route.id, req, res);
}

Status ApiServer::start() {
  if (thread_.joinable()) return fail("HTTP API server already started");
  const std::string where = host_port(config_.host, config_.port);
  int bound = -1;
  if (config_.port == 0) {
    bound = server_->bind_to_any_port(config_.host);
  } else if (server_->bind_to_port(config_.host, config_.port)) {
    bound = config_.port;
  }
  if (bound <= 0) {
    return fail("cannot listen for HTTP on " + where +
                " (address in use, not a local address, or not permitted)");
  }
  port_ = static_cast<uint16_t>(bound);

  thread_ = std::thread([this] {
    server_->listen_after_bind();
    finished_.store(true);
  });
  // stop() only takes effect once the accept loop runs (httplib ignores it
  // before), so wait for that here rather than let an early stop() hang.
  while (!server_->is_running() && !finished_.load()) std::this_thread::sleep_for(1ms);
  if (!server_->is_running()) {
    thread_.join();
    return fail("HTTP API server on " + where + " stopped as it started");
  }
  spdlog::info("HTTP API on http://{}", host_port(config_.host, port_));
  return ok_status();
}

void ApiServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace scsipub::web
