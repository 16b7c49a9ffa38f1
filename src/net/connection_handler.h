#pragma once
// Drives one iscsi::Connection over a TCP socket with C++20 coroutines: a
// reader that frames PDUs and writes replies with gathered writes, and a
// watchdog for login, NOP-In ping and stalled-write deadlines. Only the reader
// writes, so there is never more than one write in flight; the watchdog wakes
// it by cancelling the pending read.
#include <asio.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "iscsi/connection.h"

namespace scsipub::net {

struct ConnectionDeps {
  const iscsi::ConnectionConfig& config;
  iscsi::TargetProvider& targets;
  iscsi::SessionRegistry& registry;
  const scsi::CommandSet& commands;
};

class ConnectionHandler : public std::enable_shared_from_this<ConnectionHandler> {
 public:
  ConnectionHandler(asio::ip::tcp::socket socket, ConnectionDeps deps, iscsi::PortalInfo portal);
  ~ConnectionHandler();

  asio::awaitable<void> run();
  // Any thread: end this connection (session reinstatement, shutdown).
  void terminate();
  // Any thread: ask the initiator to log out (Async Message) within `seconds`.
  void request_logout(uint16_t seconds);

 private:
  asio::awaitable<void> watchdog();
  asio::awaitable<bool> flush();
  void wake_reader();
  void close_socket();

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  ConnectionDeps deps_;
  iscsi::PortalInfo portal_;
  std::unique_ptr<iscsi::Connection> conn_;
  std::vector<uint8_t> rbuf_;
  std::vector<iscsi::OutPdu> sending_;
  std::vector<asio::const_buffer> gather_;
  bool reading_ = false;
  bool writing_ = false;
  bool done_ = false;
  iscsi::Connection::Clock::time_point write_started_;
};

}  // namespace scsipub::net
