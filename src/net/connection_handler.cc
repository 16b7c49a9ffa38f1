#include "net/connection_handler.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace scsipub::net {

using Clock = iscsi::Connection::Clock;

namespace {
constexpr size_t kInitialReadBuffer = 64u << 10;
constexpr size_t kFlushThreshold = 1u << 20;  // flush mid-batch past this many queued bytes
}  // namespace

ConnectionHandler::ConnectionHandler(asio::ip::tcp::socket socket, ConnectionDeps deps, iscsi::PortalInfo portal)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), deps_(deps), portal_(std::move(portal)) {}

ConnectionHandler::~ConnectionHandler() = default;

void ConnectionHandler::terminate() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->conn_) self->conn_->close(iscsi::CloseReason::reinstated);
    self->close_socket();
  });
}

void ConnectionHandler::request_logout(uint16_t seconds) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), seconds] {
    if (!self->conn_) return;
    self->conn_->request_logout(seconds);
    self->wake_reader();
  });
}

void ConnectionHandler::close_socket() {
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  timer_.cancel();
}

void ConnectionHandler::wake_reader() {
  if (reading_) {
    asio::error_code ignored;
    socket_.cancel(ignored);
  }
}

asio::awaitable<bool> ConnectionHandler::flush() {
  while (!conn_->outbox().empty()) {
    conn_->outbox().take(sending_);
    gather_.clear();
    for (const auto& pdu : sending_) {
      gather_.emplace_back(pdu.header.data(), pdu.header_len);
      if (!pdu.data.empty()) gather_.emplace_back(pdu.data.data(), pdu.data.size());
      if (pdu.trailer_len != 0) gather_.emplace_back(pdu.trailer.data(), pdu.trailer_len);
    }
    asio::error_code ec;
    writing_ = true;
    write_started_ = Clock::now();
    co_await asio::async_write(socket_, gather_, asio::redirect_error(asio::use_awaitable, ec));
    writing_ = false;
    sending_.clear();
    conn_->on_flushed();
    if (ec) co_return false;
  }
  co_return true;
}

asio::awaitable<void> ConnectionHandler::run() {
  auto self = shared_from_this();
  // The registry may call this from another loop's thread; terminate() hops to ours.
  auto terminate = [weak = weak_from_this()] {
    if (auto s = weak.lock()) s->terminate();
  };
  conn_ = std::make_unique<iscsi::Connection>(deps_.config, deps_.targets, deps_.registry, deps_.commands, portal_,
                                              terminate, Clock::now());
  rbuf_.resize(kInitialReadBuffer);
  asio::co_spawn(socket_.get_executor(), watchdog(), asio::detached);
  size_t head = 0;
  size_t tail = 0;
  bool alive = true;
  while (alive) {
    // Frame and handle every complete PDU already read.
    size_t want = iscsi::kBhsSize;
    for (;;) {
      std::span<const uint8_t> avail(rbuf_.data() + head, tail - head);
      iscsi::FrameLimits limits = conn_->frame_limits();
      iscsi::FrameCheck fc = iscsi::check_frame(avail, limits);
      if (fc.kind == iscsi::FrameCheck::Kind::error) {
        conn_->on_frame_error(fc.error, avail.first(iscsi::kBhsSize));
        break;
      }
      if (fc.kind == iscsi::FrameCheck::Kind::need_more) {
        want = fc.total != 0 ? fc.total : iscsi::kBhsSize;
        break;
      }
      iscsi::PduView view;
      iscsi::FrameError fe = iscsi::parse_frame(avail.first(fc.total), limits, view);
      if (fe != iscsi::FrameError::none) {
        conn_->on_frame_error(fe, avail.first(iscsi::kBhsSize));
      } else {
        conn_->on_pdu(view, Clock::now());
      }
      head += fc.total;
      if (conn_->closing()) break;
      if (conn_->outbox().bytes() >= kFlushThreshold && !co_await flush()) {
        alive = false;
        break;
      }
    }
    if (!alive || !co_await flush()) break;
    if (conn_->closing() || done_) break;
    // Keep the partial frame at the front and make room for all of it; the
    // codec already checked `want` against the negotiated maximum.
    if (head == tail) {
      head = tail = 0;
    } else if (head != 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + head, tail - head);
      tail -= head;
      head = 0;
    }
    if (rbuf_.size() < want) rbuf_.resize(want);
    asio::error_code ec;
    reading_ = true;
    size_t n = co_await socket_.async_read_some(asio::buffer(rbuf_.data() + tail, rbuf_.size() - tail),
                                                asio::redirect_error(asio::use_awaitable, ec));
    reading_ = false;
    if (ec == asio::error::operation_aborted && socket_.is_open()) continue;  // woken by the watchdog
    if (ec) break;
    tail += n;
  }
  done_ = true;
  close_socket();
  spdlog::debug("connection from {}:{} closed ({})", portal_.peer_address, portal_.peer_port,
                iscsi::to_string(conn_->close_reason()));
  conn_.reset();  // ends the session: unregisters, releases the target binding
}

asio::awaitable<void> ConnectionHandler::watchdog() {
  auto self = shared_from_this();
  while (!done_) {
    Clock::time_point deadline = conn_ ? conn_->next_deadline() : Clock::now();
    if (writing_) deadline = std::min(deadline, write_started_ + std::chrono::seconds(30));
    timer_.expires_at(deadline);
    asio::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (done_ || !conn_) co_return;
    Clock::time_point now = Clock::now();
    if (writing_ && now - write_started_ >= std::chrono::seconds(30)) {
      // A peer that stops reading holds one stuck write, never unbounded memory.
      close_socket();
      co_return;
    }
    conn_->on_tick(now);
    if (!conn_->outbox().empty() || conn_->closing()) wake_reader();
  }
}

}  // namespace scsipub::net
