#pragma once
// The session API over HTTP: JSON in, JSON out, bearer tokens, status codes.
// Every rule lives behind control::DiskService; this class only routes,
// authenticates the header, translates errors to status codes and fences the
// process from hostile requests (size cap, timeouts, exception boundary).
//
//   POST   /api/v1/disks        201 disk (with secrets and iscsiadm commands)
//   GET    /api/v1/disks        200 {"disks": [...]} (without secrets)
//   GET    /api/v1/disks/{id}   200 disk (with secrets and iscsiadm commands)
//   DELETE /api/v1/disks/{id}   204
//   GET    /api/v1/images       200 {"images": [...]}, no token needed
//   GET    /metrics             200 Prometheus text (when configured), no token
//
// DiskService is called from `threads` worker threads at once.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/result.h"
#include "control/disk_service.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace scsipub::web {

struct ApiServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = an ephemeral port, see ApiServer::port()
  size_t threads = 4;
  // GET /metrics (Prometheus text, no token) when set; called per scrape.
  std::function<std::string()> metrics;
};

class ApiServer {
 public:
  ApiServer(control::DiskService& service, ApiServerConfig config);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds, then serves on a thread of its own until stop(). Fails (without
  // a thread) when the address cannot be bound. Call once.
  Status start();
  // The bound port once start() succeeded.
  uint16_t port() const { return port_; }
  // Stops accepting, finishes requests in flight, joins. Idempotent.
  void stop();

 private:
  void install_routes();
  void handle(const httplib::Request& req, httplib::Response& res);

  control::DiskService& service_;
  ApiServerConfig config_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};  // the serving thread left its accept loop
  uint16_t port_ = 0;
};

}  // namespace scsipub::web
