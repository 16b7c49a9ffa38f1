#pragma once
// Drives one iscsi::Connection over a byte stream (plain TCP or TLS) with
// C++20 coroutines: a reader that frames PDUs and writes replies, and a
// watchdog for login, NOP-In ping and stalled-write deadlines. Only the reader
// writes, so there is never more than one write in flight; the watchdog wakes
// it by cancelling the pending read. Because the reader writes before it reads
// again, a peer that does not drain its responses stops being read from: its
// memory is bounded by one outbox, not by what it sends.
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/memory_release.h"
#include "common/worker_pool.h"
#include "iscsi/connection.h"
#include "iscsi/task_executor.h"

namespace scsipub::net {

struct ConnectionDeps {
  const iscsi::ConnectionConfig& config;
  iscsi::TargetProvider& targets;
  iscsi::SessionRegistry& registry;
  // Where SCSI commands (their storage I/O) run; null: on the loop itself.
  WorkerPool* storage_pool = nullptr;
  // When ended sessions trim the heap; null: only when the last one ends.
  SessionEndTrim* session_end_trim = nullptr;
};

// What the server needs from a connection of either transport.
class ConnectionControl {
 public:
  virtual ~ConnectionControl() = default;
  // Any thread: end this connection (session reinstatement, shutdown).
  virtual void terminate() = 0;
  // Any thread: ask the initiator to log out (Async Message) within `seconds`.
  virtual void request_logout(uint16_t seconds) = 0;
};

using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

// Stream is asio::ip::tcp::socket or TlsStream.
template <class Stream>
class ConnectionHandler final : public ConnectionControl,
                                public std::enable_shared_from_this<ConnectionHandler<Stream>> {
 public:
  // `claim_login`: called once, when the first whole PDU has arrived, for
  // the login slot it may use (or a refusal: the first Login Request is then
  // answered with that status and the connection closed). A socket that never
  // sends a whole PDU so holds no login slot.
  // `on_login_ended`: called once when the login phase ends (success or not,
  // or the connection closing first).
  ConnectionHandler(Stream stream, ConnectionDeps deps, iscsi::PortalInfo portal,
                    std::function<iscsi::LoginAdmission()> claim_login, std::function<void()> on_login_ended);
  ~ConnectionHandler() override;

  asio::awaitable<void> run();
  void terminate() override;
  void request_logout(uint16_t seconds) override;
  // Any thread: the operator ends the session: a logout request, then the
  // connection is dropped after `seconds` if the initiator has not gone.
  void end_session(uint16_t seconds);

 private:
  asio::ip::tcp::socket& socket();
  asio::awaitable<bool> handshake();
  asio::awaitable<bool> flush();
  // Login, NOP-In and stalled-write deadlines; `last_tick`: when it last ran.
  void arm_watchdog(iscsi::Connection::Clock::time_point last_tick);
  void on_watchdog();
  void tick_watchdog();
  void wake_reader();
  void close_socket();
  void shrink_idle_buffers();
  void note_login_ended();
  class Teardown;
  class PoolExecutor;
  void teardown(bool by_exception);
  void release_connection();
  void defer_trim(SessionEndTrim& policy);
  void on_execution_done();

  Stream stream_;
  asio::steady_timer timer_;
  ConnectionDeps deps_;
  iscsi::PortalInfo portal_;
  std::function<iscsi::LoginAdmission()> claim_login_;
  std::function<void()> on_login_ended_;
  std::unique_ptr<PoolExecutor> executor_;
  std::unique_ptr<iscsi::Connection> conn_;
  std::vector<uint8_t> rbuf_;
  std::vector<iscsi::OutPdu> sending_;
  std::vector<asio::const_buffer> gather_;
  std::vector<uint8_t> coalesce_;  // TLS: small PDUs joined into one record
  bool reading_ = false;
  bool writing_ = false;
  bool done_ = false;
  bool held_much_ = false;  // release freed memory once the connection is gone
  bool was_session_ = false;  // it logged in: its end may empty the server
  iscsi::Connection::Clock::time_point write_started_;
};

extern template class ConnectionHandler<asio::ip::tcp::socket>;
extern template class ConnectionHandler<TlsStream>;

}  // namespace scsipub::net
