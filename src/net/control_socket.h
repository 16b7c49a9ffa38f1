#pragma once
// The server's local control socket (DATA_DIR/control.sock): how `scsipub
// backup create` reaches a running server, so the backup runs in the process
// that has the disks open. Mode 0600 and every peer's uid checked
// (SO_PEERCRED: the server's own uid or root). One request line per
// connection, at most `max_request` bytes, read within `read_timeout`; the
// handler then runs on a job thread of its own (never an iSCSI event loop)
// and answers with lines. One job at a time: a request while one runs is
// answered "error busy".
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/unique_fd.h"

namespace scsipub::net {

struct ControlSocketLimits {
  size_t max_request = 4096;
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{10000};  // a client that stops reading
};

class ControlSocket {
 public:
  // Sends one line ("\n" appended); false once the client is gone (the job
  // goes on).
  using Reply = std::function<bool(const std::string& line)>;
  using Handler = std::function<void(const std::string& request, const Reply& reply)>;

  ControlSocket(std::filesystem::path path, Handler handler, ControlSocketLimits limits = {});
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Binds (replacing a stale socket file: the caller holds the data dir
  // lock, so no other server owns it) and starts the accept thread.
  Status start();
  // Stops accepting, waits for a running job to finish, removes the file.
  void stop();

 private:
  void accept_loop();
  void serve_client(UniqueFd client);

  std::filesystem::path path_;
  Handler handler_;
  ControlSocketLimits limits_;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;  // eventfd: wakes the accept thread
  std::thread accept_thread_;
  std::mutex job_mu_;
  std::thread job_;
  std::atomic<bool> job_running_{false};
};

}  // namespace scsipub::net
