#pragma once
// The iSCSI listeners (plain TCP, and TLS when configured) and their event
// loops: one asio::io_context per thread, a connection pinned to one loop for
// its life, so the data path takes no lock. Admission (connection, per-address
// and unfinished-login limits, every per-address one counted per address
// group) happens at accept; a login slot is claimed when the connection's
// first whole PDU arrives, so sockets that send nothing hold none. A
// connection over a limit still gets a Login Response saying so (03/02)
// rather than a silent close, up to a small number of such refusals at once.
// When the general login pool (or the group's share of it) is full, a login
// may still take one of the slots reserved for CHAP logins
// (docs/SECURITY.md "Admission model").
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/limit_events.h"
#include "iscsi/connection.h"
#include "iscsi/session_registry.h"
#include "iscsi/target_provider.h"

namespace scsipub::net {

struct TlsListenConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 3261;
  // A context whose ClientHello callback picks the current certificate
  // (make_front_context); whoever made it keeps its reloader alive.
  std::shared_ptr<SSL_CTX> context;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 3260;
  std::optional<TlsListenConfig> tls;
  unsigned threads = 0;  // 0: one per core
  // Threads that run SCSI commands (their file I/O) off the event loops, so
  // a session on a slow disk stalls only itself. Each session occupies at
  // most one at a time; 0 runs commands on the loops.
  unsigned storage_threads = 16;
  size_t max_connections = 4096;
  size_t max_connections_per_ip = 64;          // per address group
  size_t max_logins_in_progress = 256;         // the general pool
  size_t max_logins_in_progress_per_ip = 4;    // of the general pool, per address group; a group's
                                               // unfinished logins (incl. no PDU yet) stop at this
                                               // plus reserved_auth_logins_per_ip
  size_t reserved_auth_logins = 64;            // the pool only a CHAP login may finish on
  size_t reserved_auth_logins_per_ip = 2;      // of the reserved pool, per address group
  unsigned ipv6_prefix_length = 64;            // IPv6 peers are grouped by this prefix
  // Connections answered with a refusal at once; past this, over-limit
  // connections are closed without a word (the refusal itself costs memory).
  size_t max_refusing = 64;
  iscsi::ConnectionConfig connection;
  LimitEvents* limit_events = nullptr;  // may be null
};

class IscsiServer {
 public:
  IscsiServer(ServerConfig config, iscsi::TargetProvider& targets, iscsi::SessionRegistry& registry);
  ~IscsiServer();
  IscsiServer(const IscsiServer&) = delete;
  IscsiServer& operator=(const IscsiServer&) = delete;

  // Binds and starts the loops; throws std::system_error when an address is unusable.
  void start();
  uint16_t port() const;
  uint16_t tls_port() const;  // 0 when there is no TLS listener
  // Stops accepting, asks every logged-in initiator to log out, waits up to
  // `grace` for them, then closes what is left and joins the loops.
  void shutdown(std::chrono::milliseconds grace);
  size_t connection_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scsipub::net
