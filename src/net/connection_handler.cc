#include "net/connection_handler.h"

#include <spdlog/spdlog.h>

#include "common/memory_release.h"

#include <algorithm>
#include <cstring>

namespace scsipub::net {

using Clock = iscsi::Connection::Clock;

namespace {
// An idle connection reads into a small buffer: most of a session's life is
// waiting for the next command or NOP-Out, and tens of thousands of waiting
// sessions must not each pin a large one. A read that fills the buffer means
// the peer is sending more than one small PDU at a time, and the buffer grows
// to the size that batches many PDUs per syscall; after a quiet spell the
// watchdog's wake-up shrinks it back.
constexpr size_t kIdleReadBuffer = 256;
// Login Requests (an operational stage is ~300-500 bytes, CHAP more) fit
// one read; the buffer drops to the idle size once the session is in.
constexpr size_t kLoginReadBuffer = 2048;
constexpr size_t kBusyReadBuffer = 64u << 10;
constexpr auto kShrinkReadBufferAfter = std::chrono::seconds(5);
constexpr size_t kFlushThreshold = 1u << 20;    // flush mid-batch past this many queued bytes
constexpr size_t kTlsRecordChunk = 16u << 10;   // one TLS record's worth of plaintext
constexpr auto kStalledWrite = std::chrono::seconds(30);
constexpr auto kWatchdogRetry = std::chrono::milliseconds(250);
// A connection that held this much write data hands freed memory back to
// the OS when it ends (an attacker's burst must not stay resident).
constexpr uint64_t kReleaseMemoryAfter = 4u << 20;
}  // namespace

// Runs the connection's command batches on the storage pool and brings each
// completion back to the connection's loop, where the engine queues the
// Data-In and status PDUs; the reader is then woken to write them. The job
// holds the handler, and so the Connection with its LUs and buffers, until
// the completion has run: teardown never frees what a worker still uses.
template <class Stream>
class ConnectionHandler<Stream>::PoolExecutor final : public iscsi::TaskExecutor {
 public:
  PoolExecutor(ConnectionHandler& handler, WorkerPool& pool) : handler_(handler), pool_(pool) {}

  void submit(std::function<void()> work, std::function<void()> done) override {
    auto loop = handler_.stream_.get_executor();
    pool_.post([self = handler_.shared_from_this(), loop, work = std::move(work), done = std::move(done)]() mutable {
      work();
      asio::post(loop, [self = std::move(self), done = std::move(done)] {
        done();
        self->on_execution_done();
      });
    });
  }

  std::function<void()> resumer(std::function<void()> on_loop) override {
    return [self = handler_.shared_from_this(), loop = handler_.stream_.get_executor(),
            on_loop = std::move(on_loop)]() mutable {
      asio::post(loop, [self = std::move(self), on_loop = std::move(on_loop)] {
        on_loop();
        self->on_execution_done();
      });
    };
  }

 private:
  ConnectionHandler& handler_;
  WorkerPool& pool_;
};

template <class Stream>
ConnectionHandler<Stream>::ConnectionHandler(Stream stream, ConnectionDeps deps, iscsi::PortalInfo portal,
                                             std::function<iscsi::LoginAdmission()> claim_login,
                                             std::function<void()> on_login_ended)
    : stream_(std::move(stream)),
      timer_(stream_.get_executor()),
      deps_(deps),
      portal_(std::move(portal)),
      claim_login_(std::move(claim_login)),
      on_login_ended_(std::move(on_login_ended)) {}

template <class Stream>
ConnectionHandler<Stream>::~ConnectionHandler() {
  note_login_ended();
}

template <class Stream>
asio::ip::tcp::socket& ConnectionHandler<Stream>::socket() {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return stream_.next_layer();
  } else {
    return stream_;
  }
}

template <class Stream>
void ConnectionHandler<Stream>::note_login_ended() {
  if (on_login_ended_) {
    auto f = std::move(on_login_ended_);
    on_login_ended_ = nullptr;
    f();
  }
}

template <class Stream>
void ConnectionHandler<Stream>::terminate() {
  asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
    if (self->conn_) self->conn_->close(iscsi::CloseReason::reinstated);
    self->close_socket();
  });
}

template <class Stream>
void ConnectionHandler<Stream>::request_logout(uint16_t seconds) {
  asio::post(stream_.get_executor(), [self = this->shared_from_this(), seconds] {
    if (!self->conn_) return;
    self->conn_->request_logout(seconds);
    self->wake_reader();
  });
}

template <class Stream>
void ConnectionHandler<Stream>::end_session(uint16_t seconds) {
  request_logout(seconds);
  // RFC 7143 11.9.1: Parameter3 is the time the initiator has to log out.
  auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), std::chrono::seconds(seconds));
  timer->async_wait([timer, weak = this->weak_from_this()](const asio::error_code&) {
    if (auto s = weak.lock()) s->terminate();
  });
}

template <class Stream>
void ConnectionHandler<Stream>::close_socket() {
  asio::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  timer_.cancel();
}

template <class Stream>
void ConnectionHandler<Stream>::wake_reader() {
  if (reading_) {
    asio::error_code ignored;
    socket().cancel(ignored);
  }
}

template <class Stream>
asio::awaitable<bool> ConnectionHandler<Stream>::handshake() {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    // The login deadline already runs: a peer that stalls the handshake is
    // closed by the watchdog like one that stalls its Login Request.
    asio::error_code ec;
    reading_ = true;
    co_await stream_.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    reading_ = false;
    if (ec) {
      spdlog::debug("TLS handshake with {}:{} failed: {}", portal_.peer_address, portal_.peer_port, ec.message());
      co_return false;
    }
    co_return !conn_->closing();
  } else {
    co_return true;
  }
}

template <class Stream>
asio::awaitable<bool> ConnectionHandler<Stream>::flush() {
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
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      // SSL_write takes one buffer at a time: 48-byte headers written alone
      // would each become a TLS record and a syscall. Join into record-sized
      // chunks; big payloads go as they are.
      for (size_t i = 0; i < gather_.size() && !ec;) {
        if (gather_[i].size() >= kTlsRecordChunk) {
          co_await asio::async_write(stream_, asio::buffer(gather_[i]), asio::redirect_error(asio::use_awaitable, ec));
          ++i;
          continue;
        }
        coalesce_.clear();
        while (i < gather_.size() && gather_[i].size() < kTlsRecordChunk &&
               coalesce_.size() + gather_[i].size() <= kTlsRecordChunk) {
          const auto* p = static_cast<const uint8_t*>(gather_[i].data());
          coalesce_.insert(coalesce_.end(), p, p + gather_[i].size());
          ++i;
        }
        co_await asio::async_write(stream_, asio::buffer(coalesce_), asio::redirect_error(asio::use_awaitable, ec));
      }
    } else {
      co_await asio::async_write(stream_, gather_, asio::redirect_error(asio::use_awaitable, ec));
    }
    writing_ = false;
    sending_.clear();
    conn_->on_flushed();
    if (ec) co_return false;
  }
  co_return true;
}

// Ends the connection however run() leaves: a normal close, a transport
// error, or an exception out of the PDU handler (std::bad_alloc under a memory
// limit, a bug). Without it an exception skipped the teardown: the socket
// stayed open, the session stayed registered with its overlay on disk, and
// the watchdog kept re-arming a deadline in the past.
template <class Stream>
class ConnectionHandler<Stream>::Teardown {
 public:
  explicit Teardown(ConnectionHandler& h) : h_(h) {}
  Teardown(const Teardown&) = delete;
  Teardown& operator=(const Teardown&) = delete;
  ~Teardown() { h_.teardown(std::uncaught_exceptions() > 0); }

 private:
  ConnectionHandler& h_;
};

template <class Stream>
void ConnectionHandler<Stream>::teardown(bool by_exception) {
  done_ = true;
  close_socket();
  note_login_ended();
  if (!conn_) return;
  spdlog::debug("connection from {}:{} closed ({})", portal_.peer_address, portal_.peer_port,
                by_exception ? "exception" : iscsi::to_string(conn_->close_reason()));
  held_much_ = conn_->peak_buffered_bytes() >= kReleaseMemoryAfter;
  was_session_ = conn_->logged_in();
  sending_.clear();
  std::vector<uint8_t>().swap(rbuf_);
  std::vector<uint8_t>().swap(coalesce_);
  if (conn_->executing()) {
    // A worker is running this session's commands on its LUs: the session
    // ends when they come back (on_execution_done), commands not yet
    // started are skipped.
    conn_->cancel_execution();
    return;
  }
  release_connection();
}

template <class Stream>
void ConnectionHandler<Stream>::release_connection() {
  conn_.reset();  // ends the session: unregisters, releases the target binding
  // What ended sessions used is free but still resident in the allocator's
  // heap; hand it back when the last one ends and, on a server that keeps
  // some, after many have ended (throttled: a logout storm pays for a few
  // trims, not one per session; connections that never logged in do not
  // count).
  bool trim = held_much_;
  if (was_session_) {
    const size_t left = deps_.registry.size();
    if (SessionEndTrim* policy = deps_.session_end_trim) {
      switch (policy->session_ended(left, Clock::now())) {
        case SessionEndTrim::Decision::now: trim = true; break;
        case SessionEndTrim::Decision::later: defer_trim(*policy); break;
        case SessionEndTrim::Decision::none: break;
      }
    } else {
      trim = trim || left == 0;
    }
  }
  if (trim) release_free_memory();
}

// The trim owed to sessions that ended inside the throttle interval, run on
// this loop when the interval is over. The timer holds only the policy (the
// server's, which outlives the loops), not this handler.
template <class Stream>
void ConnectionHandler<Stream>::defer_trim(SessionEndTrim& policy) {
  auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), policy.retry_at());
  timer->async_wait([timer, &policy](const asio::error_code& ec) {
    if (!ec && policy.deferred(Clock::now())) release_free_memory();
  });
}

// On the loop, after the engine queued what a command batch produced.
template <class Stream>
void ConnectionHandler<Stream>::on_execution_done() {
  if (!conn_) return;
  if (done_) {
    if (!conn_->executing()) release_connection();
    return;
  }
  // The reader writes the outbox before it reads again; if it is waiting for
  // a read, wake it. If it is writing, its flush loop takes the new PDUs.
  wake_reader();
}

template <class Stream>
asio::awaitable<void> ConnectionHandler<Stream>::run() {
  auto self = this->shared_from_this();
  Teardown teardown(*this);
  // The registry may call this from another loop's thread; terminate() hops to ours.
  auto terminate = [weak = this->weak_from_this()] {
    if (auto s = weak.lock()) s->terminate();
  };
  conn_ = std::make_unique<iscsi::Connection>(deps_.config, deps_.targets, deps_.registry, portal_,
                                              terminate, Clock::now());
  conn_->set_end_session([weak = this->weak_from_this()](uint16_t seconds) {
    if (auto s = weak.lock()) s->end_session(seconds);
  });
  if (deps_.storage_pool != nullptr) {
    executor_ = std::make_unique<PoolExecutor>(*this, *deps_.storage_pool);
    conn_->set_executor(executor_.get());
  }
  arm_watchdog(Clock::time_point{});
  bool alive = co_await handshake();
  rbuf_.resize(alive ? kLoginReadBuffer : 0);
  bool login_buffer = alive;
  Clock::time_point last_input = Clock::now();
  size_t head = 0;
  size_t tail = 0;
  bool filled = false;  // the last read, after login, filled rbuf_ to its end
  bool quiet = false;   // woken after a quiet spell: shrink once the wake's writes are out
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
        if (claim_login_) {
          conn_->admit(claim_login_());
          claim_login_ = nullptr;
        }
        conn_->on_pdu(view, Clock::now());
        // A PDU may bring the connection's deadline closer (a held login
        // answer): the watchdog must wake for it.
        if (conn_->next_deadline() < timer_.expiry()) arm_watchdog(Clock::time_point{});
      }
      head += fc.total;
      if (on_login_ended_ && conn_->logged_in()) {
        note_login_ended();
        conn_->release_login_state();
      }
      if (conn_->closing()) break;
      if (conn_->outbox().bytes() >= kFlushThreshold && !co_await flush()) {
        alive = false;
        break;
      }
    }
    // Everything read is handled: the commands it made ready run (memory
    // work here, the rest on the storage pool as one batch).
    if (alive && !conn_->closing()) conn_->start_commands();
    if (!alive || !co_await flush()) break;
    // After the flush, so the NOP-In (or whatever the wake queued) does not
    // allocate the write queues again the moment they were freed.
    if (quiet && head == tail) shrink_idle_buffers();
    quiet = false;
    if (conn_->closing() || done_) break;
    // A read in full feature phase that filled the buffer: the peer has more
    // to send than small reads take, so batch. (A login PDU larger than the
    // small buffer only grows it to that PDU's size.)
    const bool busy = filled;
    // Keep the partial frame at the front and make room for all of it; the
    // codec already checked `want` against the negotiated maximum.
    if (head == tail) {
      head = tail = 0;
    } else if (head != 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + head, tail - head);
      tail -= head;
      head = 0;
    }
    if (login_buffer && conn_->logged_in() && head == tail) {
      std::vector<uint8_t>(kIdleReadBuffer).swap(rbuf_);
      login_buffer = false;
    }
    if (busy && rbuf_.size() < kBusyReadBuffer) rbuf_.resize(kBusyReadBuffer);
    if (rbuf_.size() < want) rbuf_.resize(want);
    asio::error_code ec;
    reading_ = true;
    size_t n = co_await stream_.async_read_some(asio::buffer(rbuf_.data() + tail, rbuf_.size() - tail),
                                                asio::redirect_error(asio::use_awaitable, ec));
    reading_ = false;
    // Woken by the watchdog. A TLS record cut short stays in the engine's
    // input buffer, so the next read resumes it.
    if (ec == asio::error::operation_aborted && socket().is_open()) {
      filled = false;
      quiet = Clock::now() - last_input >= kShrinkReadBufferAfter;
      continue;
    }
    if (ec) break;
    tail += n;
    last_input = Clock::now();
    filled = tail == rbuf_.size() && conn_->logged_in();
  }
}

// Only between reads with nothing buffered: no partial frame is in rbuf_ and
// nothing queued for the socket references the others.
template <class Stream>
void ConnectionHandler<Stream>::shrink_idle_buffers() {
  std::vector<uint8_t>(kIdleReadBuffer).swap(rbuf_);
  std::vector<iscsi::OutPdu>().swap(sending_);
  std::vector<asio::const_buffer>().swap(gather_);
  std::vector<uint8_t>().swap(coalesce_);
  conn_->outbox().release_storage();
}

// The watchdog is a timer callback, not a coroutine: an idle session then
// holds one pending wait on the timer and no coroutine frame of its own.
// Each wake-up re-arms for the connection's next deadline until teardown.
template <class Stream>
void ConnectionHandler<Stream>::arm_watchdog(Clock::time_point last_tick) {
  if (done_ || !conn_) return;
  Clock::time_point deadline = conn_->next_deadline();
  if (writing_) deadline = std::min(deadline, write_started_ + kStalledWrite);
  // A deadline the last tick did not move (the reader has not acted on it
  // yet) must not become a busy loop: wait a little instead.
  if (deadline <= last_tick) deadline = last_tick + kWatchdogRetry;
  timer_.expires_at(deadline);
  // expires_at() cancels the wait it replaces: that one ends here, the new
  // one carries on (and close_socket()'s cancel ends the last).
  timer_.async_wait([self = this->shared_from_this()](const asio::error_code& ec) {
    if (ec != asio::error::operation_aborted) self->on_watchdog();
  });
}

template <class Stream>
void ConnectionHandler<Stream>::on_watchdog() {
  if (done_ || !conn_) return;
  try {
    tick_watchdog();
  } catch (const std::exception& e) {
    // As when the watchdog was a detached coroutine: it stops, the reader
    // and its teardown carry on.
    spdlog::error("connection from {}:{}: watchdog stopped: {}", portal_.peer_address, portal_.peer_port, e.what());
  }
}

template <class Stream>
void ConnectionHandler<Stream>::tick_watchdog() {
  Clock::time_point now = Clock::now();
  if (writing_ && now - write_started_ >= kStalledWrite) {
    // A peer that stops reading holds one stuck write, never unbounded memory.
    count_limit(deps_.config.limit_events, Limit::stalled_write, portal_.peer_address);
    close_socket();
    return;
  }
  conn_->on_tick(now);
  if (!conn_->outbox().empty() || conn_->closing()) wake_reader();
  arm_watchdog(now);
}

template class ConnectionHandler<asio::ip::tcp::socket>;
template class ConnectionHandler<TlsStream>;

}  // namespace scsipub::net
