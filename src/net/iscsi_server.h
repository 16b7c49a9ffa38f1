#pragma once
// The iSCSI listener and its event loops: one asio::io_context per thread, a
// connection pinned to one loop for its life, so the data path takes no lock.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "iscsi/connection.h"
#include "iscsi/session_registry.h"
#include "iscsi/target_provider.h"
#include "scsi/command_set.h"

namespace scsipub::net {

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 3260;
  unsigned threads = 0;  // 0: one per core
  size_t max_connections = 4096;
  iscsi::ConnectionConfig connection;
};

class IscsiServer {
 public:
  IscsiServer(ServerConfig config, iscsi::TargetProvider& targets, iscsi::SessionRegistry& registry,
              const scsi::CommandSet& commands);
  ~IscsiServer();
  IscsiServer(const IscsiServer&) = delete;
  IscsiServer& operator=(const IscsiServer&) = delete;

  // Binds and starts the loops; throws std::system_error when the address is unusable.
  void start();
  uint16_t port() const;
  // Stops accepting, asks every logged-in initiator to log out, waits up to
  // `grace` for them, then closes what is left and joins the loops.
  void shutdown(std::chrono::milliseconds grace);
  size_t connection_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scsipub::net
