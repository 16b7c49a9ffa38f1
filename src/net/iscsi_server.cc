#include "net/iscsi_server.h"

#include <spdlog/spdlog.h>

#include <asio.hpp>
#include <list>
#include <mutex>
#include <unordered_map>

#include "common/address_group.h"
#include "iscsi/login_negotiator.h"
#include "net/connection_handler.h"

namespace scsipub::net {

namespace {

// Connections taken from the listen queue per turn of the accept loop.
constexpr size_t kAcceptBurst = 64;

// The address a connection was accepted on. A listener bound to one
// address knows it for every connection; only a wildcard listener asks the
// kernel (getsockname) per connection.
struct ListenAddress {
  std::optional<std::string> address;  // empty: bound to the wildcard
  uint16_t port = 0;
};

// What accept decided for one connection.
struct Admission {
  bool admitted = false;
  std::optional<Limit> refused_by;
};

// Which admission pool a connection's login holds. Accept admits a connection
// as `waiting`; its first whole PDU claims a general or reserved slot. Idle
// and half-sent sockets (slowloris) so never hold a login slot, only one of
// their address group's few unfinished-login places and a connection.
enum class LoginPool : uint8_t { waiting, general, reserved, none };

// What one address group holds; forgotten when it holds nothing.
struct GroupUse {
  size_t connections = 0;
  size_t waiting = 0;      // admitted, no whole PDU yet
  size_t logins = 0;       // in the general pool
  size_t auth_logins = 0;  // in the reserved pool
  size_t unfinished() const { return waiting + logins + auth_logins; }
  bool empty() const { return connections == 0 && unfinished() == 0; }
};

}  // namespace

struct IscsiServer::Impl {
  ServerConfig config;
  iscsi::TargetProvider& targets;
  iscsi::SessionRegistry& registry;
  // Heap trims as sessions end. Before the loops: connections that end as
  // the loops are destroyed still report to it.
  SessionEndTrim session_end_trim;

  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<WorkerPool> storage_pool;  // stopped after the loops, before they go
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  std::unique_ptr<asio::ip::tcp::acceptor> tls_acceptor;
  std::unique_ptr<asio::ssl::context> tls_context;
  size_t next_loop = 0;
  uint16_t bound_port = 0;
  uint16_t bound_tls_port = 0;

  mutable std::mutex mu;  // cold path: accept, connection end, shutdown
  std::list<std::weak_ptr<ConnectionControl>> live;
  size_t admitted = 0;
  size_t logins = 0;
  size_t auth_logins = 0;
  std::unordered_map<std::string, GroupUse> groups;
  std::atomic<size_t> refusing{0};
  std::atomic<size_t> connections{0};  // every live handler, admitted or refusing

  Impl(ServerConfig c, iscsi::TargetProvider& t, iscsi::SessionRegistry& r)
      : config(std::move(c)), targets(t), registry(r) {
    if (config.connection.limit_events == nullptr) config.connection.limit_events = config.limit_events;
  }

  std::unique_ptr<asio::ip::tcp::acceptor> listen(const std::string& host, uint16_t port);
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& from, bool tls);
  // Takes what is queued on `from`, up to kAcceptBurst: false when the queue
  // may hold more (the caller yields, then comes back).
  bool accept_queued(asio::ip::tcp::acceptor& from, const ListenAddress& local, bool tls, asio::error_code& ec);
  Admission admit(const std::string& group);
  iscsi::LoginAdmission claim(const std::string& group, const std::string& peer, LoginPool& held);
  void release(const std::string& group);
  void login_ended(const std::string& group, LoginPool held);
  void forget_if_unused(const std::string& group);
  void spawn(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& peer, const ListenAddress& local, bool tls);
  template <class Stream>
  void start_handler(Stream stream, iscsi::PortalInfo portal, const Admission& a);
};

IscsiServer::IscsiServer(ServerConfig config, iscsi::TargetProvider& targets, iscsi::SessionRegistry& registry)
    : impl_(std::make_unique<Impl>(std::move(config), targets, registry)) {}

IscsiServer::~IscsiServer() {
  if (!impl_->threads.empty()) shutdown(std::chrono::milliseconds(0));
}

uint16_t IscsiServer::port() const { return impl_->bound_port; }
uint16_t IscsiServer::tls_port() const { return impl_->bound_tls_port; }

size_t IscsiServer::connection_count() const { return impl_->connections.load(); }

std::unique_ptr<asio::ip::tcp::acceptor> IscsiServer::Impl::listen(const std::string& host, uint16_t port) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
  auto a = std::make_unique<asio::ip::tcp::acceptor>(*loops[0]);
  a->open(ep.protocol());
  a->set_option(asio::ip::tcp::acceptor::reuse_address(true));
  // iSCSI PDUs are request/response: a reply held back by Nagle waits for
  // the peer's delayed ACK. Linux copies the option to every accepted
  // socket, which saves a setsockopt per connection.
  a->set_option(asio::ip::tcp::no_delay(true));
  a->bind(ep);
  a->listen(asio::socket_base::max_listen_connections);
  a->non_blocking(true);  // accept_loop drains the queue without blocking the loop
  return a;
}

void IscsiServer::start() {
  Impl& s = *impl_;
  unsigned n = s.config.threads != 0 ? s.config.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    s.loops.push_back(std::make_unique<asio::io_context>(1));
    s.guards.push_back(asio::make_work_guard(*s.loops.back()));
  }
  if (s.config.storage_threads != 0) s.storage_pool = std::make_unique<WorkerPool>(s.config.storage_threads);
  s.acceptor = s.listen(s.config.listen_host, s.config.listen_port);
  s.bound_port = s.acceptor->local_endpoint().port();
  if (s.config.tls) {
    s.tls_acceptor = s.listen(s.config.tls->host, s.config.tls->port);
    s.bound_tls_port = s.tls_acceptor->local_endpoint().port();
    // asio::ssl::context frees what it wraps; it gets its own reference.
    SSL_CTX_up_ref(s.config.tls->context.get());
    s.tls_context = std::make_unique<asio::ssl::context>(s.config.tls->context.get());
    asio::co_spawn(*s.loops[0], s.accept_loop(*s.tls_acceptor, true), asio::detached);
  }
  asio::co_spawn(*s.loops[0], s.accept_loop(*s.acceptor, false), asio::detached);
  for (auto& loop : s.loops) {
    s.threads.emplace_back([io = loop.get()] { io->run(); });
  }
  spdlog::info("iSCSI listening on {}:{} with {} event loop(s)", s.config.listen_host, s.bound_port, n);
  if (s.config.tls) spdlog::info("iSCSI over TLS listening on {}:{}", s.config.tls->host, s.bound_tls_port);
}

asio::awaitable<void> IscsiServer::Impl::accept_loop(asio::ip::tcp::acceptor& from, bool tls) {
  ListenAddress local;
  {
    asio::error_code ec;
    auto ep = from.local_endpoint(ec);
    if (!ep.address().is_unspecified()) local.address = ep.address().to_string();
    local.port = ep.port();
  }
  auto executor = co_await asio::this_coro::executor;
  // Accept failures (EMFILE: out of descriptors) last as long as their cause:
  // one warning a minute with the count, not one per 100 ms retry.
  std::chrono::steady_clock::time_point next_failure_warning{};
  uint64_t quiet_failures = 0;
  for (;;) {
    // Take what is queued before waiting: the acceptor is non-blocking and
    // edge-triggered, so the wait below only ends when the queue was seen
    // empty. Each resumption of this coroutine waits its turn behind every
    // handler ready on loop 0; one accept per turn would let a login storm
    // pile up in the listen queue, where admission cannot see it and a side
    // login waits behind thousands. So a turn takes a bounded burst.
    asio::error_code ec;
    if (!accept_queued(from, local, tls, ec)) {
      if (!from.is_open()) co_return;
      if (ec) {
        // EMFILE and friends: back off instead of spinning.
        if (const auto now = std::chrono::steady_clock::now(); now >= next_failure_warning) {
          spdlog::warn("accept failed: {} (retrying every 100 ms; {} more failures in the last minute not logged)",
                       ec.message(), quiet_failures);
          next_failure_warning = now + std::chrono::minutes(1);
          quiet_failures = 0;
        } else {
          ++quiet_failures;
        }
        asio::steady_timer t(executor, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await asio::post(executor, asio::use_awaitable);  // a full burst: let the loop's other work run
      }
      continue;
    }
    // The queue is empty: sleep until a connection arrives. (The wait is
    // queued on this thread right after accept said EAGAIN, before the loop
    // can poll again, so no arrival falls between the two.)
    co_await from.async_wait(asio::socket_base::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !from.is_open()) co_return;
  }
}

bool IscsiServer::Impl::accept_queued(asio::ip::tcp::acceptor& from, const ListenAddress& local, bool tls,
                                      asio::error_code& ec) {
  for (size_t burst = 0; burst < kAcceptBurst; ++burst) {
    if (!from.is_open()) return false;
    // Accepted sockets go round-robin to the loops and stay there.
    asio::ip::tcp::socket sock(*loops[next_loop % loops.size()]);
    asio::ip::tcp::endpoint peer;  // from accept itself: no getpeername per connection
    from.accept(sock, peer, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec.clear();
      return true;
    }
    // A peer that reset while queued costs only itself.
    if (ec == asio::error::connection_aborted) {
      ec.clear();
      continue;
    }
    if (ec) return false;
    ++next_loop;
    spawn(std::move(sock), peer, local, tls);
  }
  return false;
}

Admission IscsiServer::Impl::admit(const std::string& group) {
  std::lock_guard lock(mu);
  Admission a;
  GroupUse& g = groups[group];
  if (admitted >= config.max_connections) {
    a.refused_by = Limit::connections_total;
  } else if (g.connections >= config.max_connections_per_ip) {
    a.refused_by = Limit::connections_per_ip;
  } else if (g.unfinished() >= config.max_logins_in_progress_per_ip +
                                    (config.reserved_auth_logins != 0 ? config.reserved_auth_logins_per_ip : 0)) {
    a.refused_by = Limit::logins_in_progress_per_ip;
  } else {
    a.admitted = true;
    ++admitted;
    ++g.connections;
    ++g.waiting;
  }
  if (!a.admitted && g.empty()) groups.erase(group);
  return a;
}

// The first whole PDU arrived: take a general login slot, or else one of the
// reserved slots only a CHAP login may finish on (strangers holding the
// general pool must not keep paying users out), or else refuse with 03/02.
iscsi::LoginAdmission IscsiServer::Impl::claim(const std::string& group, const std::string& peer, LoginPool& held) {
  iscsi::LoginAdmission out;
  std::optional<Limit> refused_by;
  {
    std::lock_guard lock(mu);
    GroupUse& g = groups[group];
    if (g.waiting != 0) --g.waiting;
    if (logins < config.max_logins_in_progress && g.logins < config.max_logins_in_progress_per_ip) {
      ++logins;
      ++g.logins;
      held = LoginPool::general;
    } else if (auth_logins < config.reserved_auth_logins && g.auth_logins < config.reserved_auth_logins_per_ip) {
      ++auth_logins;
      ++g.auth_logins;
      held = LoginPool::reserved;
      out.auth_only = true;
    } else {
      held = LoginPool::none;
      refused_by = g.logins >= config.max_logins_in_progress_per_ip ? Limit::logins_in_progress_per_ip
                                                                     : Limit::logins_in_progress;
      out.refusal = iscsi::LoginRefusal{iscsi::login_status::kTargetError, iscsi::login_status::kOutOfResources};
    }
  }
  if (refused_by) count_limit(config.limit_events, *refused_by, peer);
  return out;
}

void IscsiServer::Impl::forget_if_unused(const std::string& group) {
  if (auto it = groups.find(group); it != groups.end() && it->second.empty()) groups.erase(it);
}

void IscsiServer::Impl::release(const std::string& group) {
  std::lock_guard lock(mu);
  --admitted;
  if (auto it = groups.find(group); it != groups.end() && it->second.connections != 0) --it->second.connections;
  forget_if_unused(group);
}

void IscsiServer::Impl::login_ended(const std::string& group, LoginPool held) {
  std::lock_guard lock(mu);
  auto it = groups.find(group);
  if (it == groups.end()) return;
  GroupUse& g = it->second;
  auto drop = [](size_t& n) { n -= n != 0 ? 1 : 0; };
  switch (held) {
    case LoginPool::waiting: drop(g.waiting); break;
    case LoginPool::general: drop(logins); drop(g.logins); break;
    case LoginPool::reserved: drop(auth_logins); drop(g.auth_logins); break;
    case LoginPool::none: break;
  }
  forget_if_unused(group);
}

void IscsiServer::Impl::spawn(asio::ip::tcp::socket sock, const asio::ip::tcp::endpoint& peer,
                              const ListenAddress& local, bool tls) {
  asio::error_code ec;
  iscsi::PortalInfo portal;
  if (local.address) {
    portal.local_address = *local.address;
    portal.local_port = local.port;
  } else {
    auto ep = sock.local_endpoint(ec);
    if (ec) return;
    portal.local_address = ep.address().to_string();
    portal.local_port = ep.port();
  }
  portal.peer_address = peer.address().to_string();
  portal.peer_port = peer.port();
  portal.tls = tls;
  portal.peer_group = address_group(portal.peer_address, config.ipv6_prefix_length);
  Admission a = admit(portal.peer_group);
  if (!a.admitted) {
    count_limit(config.limit_events, *a.refused_by, portal.peer_address);
    if (refusing.load() >= config.max_refusing) {
      sock.close(ec);
      return;
    }
  }
  if (tls) {
    start_handler(TlsStream(std::move(sock), *tls_context), std::move(portal), a);
  } else {
    start_handler(std::move(sock), std::move(portal), a);
  }
}

template <class Stream>
void IscsiServer::Impl::start_handler(Stream stream, iscsi::PortalInfo portal, const Admission& a) {
  std::string group = portal.peer_group;
  std::function<iscsi::LoginAdmission()> claim_login;
  std::function<void()> on_login_ended;
  if (a.admitted) {
    // Both run on the connection's loop; the pool it holds lives with them.
    auto held = std::make_shared<LoginPool>(LoginPool::waiting);
    claim_login = [this, group, peer = portal.peer_address, held] { return claim(group, peer, *held); };
    on_login_ended = [this, group, held] { login_ended(group, *held); };
  } else {
    iscsi::LoginAdmission refused;
    refused.refusal = iscsi::LoginRefusal{iscsi::login_status::kTargetError, iscsi::login_status::kOutOfResources};
    claim_login = [refused] { return refused; };
    refusing.fetch_add(1);
  }
  auto exec = stream.get_executor();
  auto handler = std::make_shared<ConnectionHandler<Stream>>(
      std::move(stream), ConnectionDeps{config.connection, targets, registry, storage_pool.get(), &session_end_trim}, std::move(portal),
      std::move(claim_login), std::move(on_login_ended));
  // Each connection removes its own entry when it ends: no per-accept sweep
  // over every live connection.
  std::list<std::weak_ptr<ConnectionControl>>::iterator entry;
  {
    std::lock_guard lock(mu);
    entry = live.insert(live.end(), handler);
  }
  connections.fetch_add(1);
  asio::co_spawn(exec, handler->run(), [this, handler, group, entry, was_admitted = a.admitted](std::exception_ptr ep) {
    // One bad peer costs only its own connection.
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        spdlog::error("connection ended by exception: {}", e.what());
      }
    }
    {
      std::lock_guard lock(mu);
      live.erase(entry);
    }
    if (was_admitted) {
      release(group);
    } else {
      refusing.fetch_sub(1);
    }
    connections.fetch_sub(1);
  });
}

void IscsiServer::shutdown(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (s.threads.empty()) return;
  asio::post(*s.loops[0], [&s] {
    asio::error_code ec;
    if (s.acceptor) s.acceptor->close(ec);
    if (s.tls_acceptor) s.tls_acceptor->close(ec);
  });
  std::vector<std::shared_ptr<ConnectionControl>> handlers;
  {
    std::lock_guard lock(s.mu);
    for (auto& w : s.live) {
      if (auto h = w.lock()) handlers.push_back(std::move(h));
    }
  }
  auto seconds = static_cast<uint16_t>(std::max<int64_t>(1, grace.count() / 1000));
  if (grace.count() > 0) {
    for (auto& h : handlers) h->request_logout(seconds);
  }
  handlers.clear();
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.connections.load() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::lock_guard lock(s.mu);
    for (auto& w : s.live) {
      if (auto h = w.lock()) h->terminate();
    }
  }
  auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.connections.load() != 0 && std::chrono::steady_clock::now() < hard) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& g : s.guards) g.reset();
  for (auto& loop : s.loops) loop->stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  // Jobs still on the pool post their completion to a loop: finish them
  // while the loops exist (stopped; those completions go with them).
  if (s.storage_pool) s.storage_pool->stop();
  s.acceptor.reset();
  s.tls_acceptor.reset();
  // Connections still parked in a loop are destroyed with it, and their
  // destructors report to this Impl: do it now, while every member is alive.
  s.guards.clear();
  s.loops.clear();
}

}  // namespace scsipub::net
