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

// What accept decided for one connection.
struct Admission {
  bool admitted = false;
  bool auth_only = false;  // holds a slot of the reserved (CHAP-only) login pool
  std::optional<Limit> refused_by;
};

// What one address group holds; forgotten when it holds nothing.
struct GroupUse {
  size_t connections = 0;
  size_t logins = 0;       // in the general pool
  size_t auth_logins = 0;  // in the reserved pool
  bool empty() const { return connections == 0 && logins == 0 && auth_logins == 0; }
};

}  // namespace

struct IscsiServer::Impl {
  ServerConfig config;
  iscsi::TargetProvider& targets;
  iscsi::SessionRegistry& registry;
  const scsi::CommandSet& commands;

  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
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

  Impl(ServerConfig c, iscsi::TargetProvider& t, iscsi::SessionRegistry& r, const scsi::CommandSet& cs)
      : config(std::move(c)), targets(t), registry(r), commands(cs) {
    if (config.connection.limit_events == nullptr) config.connection.limit_events = config.limit_events;
  }

  std::unique_ptr<asio::ip::tcp::acceptor> listen(const std::string& host, uint16_t port);
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& from, bool tls);
  Admission admit(const std::string& group);
  void release(const std::string& group);
  void login_ended(const std::string& group, bool auth_only);
  void forget_if_unused(const std::string& group);
  void spawn(asio::ip::tcp::socket socket, bool tls);
  template <class Stream>
  void start_handler(Stream stream, iscsi::PortalInfo portal, const Admission& a);
};

IscsiServer::IscsiServer(ServerConfig config, iscsi::TargetProvider& targets, iscsi::SessionRegistry& registry,
                         const scsi::CommandSet& commands)
    : impl_(std::make_unique<Impl>(std::move(config), targets, registry, commands)) {}

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
  a->bind(ep);
  a->listen(asio::socket_base::max_listen_connections);
  return a;
}

void IscsiServer::start() {
  Impl& s = *impl_;
  unsigned n = s.config.threads != 0 ? s.config.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    s.loops.push_back(std::make_unique<asio::io_context>(1));
    s.guards.push_back(asio::make_work_guard(*s.loops.back()));
  }
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
  for (;;) {
    // Accepted sockets go round-robin to the loops and stay there.
    asio::io_context& target = *loops[next_loop++ % loops.size()];
    asio::error_code ec;
    asio::ip::tcp::socket sock = co_await from.async_accept(target, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !from.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    spawn(std::move(sock), tls);
  }
}

Admission IscsiServer::Impl::admit(const std::string& group) {
  std::lock_guard lock(mu);
  Admission a;
  GroupUse& g = groups[group];
  if (admitted >= config.max_connections) {
    a.refused_by = Limit::connections_total;
  } else if (g.connections >= config.max_connections_per_ip) {
    a.refused_by = Limit::connections_per_ip;
  } else if (logins < config.max_logins_in_progress && g.logins < config.max_logins_in_progress_per_ip) {
    a.admitted = true;
    ++logins;
    ++g.logins;
  } else if (auth_logins < config.reserved_auth_logins && g.auth_logins < config.reserved_auth_logins_per_ip) {
    // Strangers holding the general pool must not keep paying users out.
    a.admitted = true;
    a.auth_only = true;
    ++auth_logins;
    ++g.auth_logins;
  } else {
    a.refused_by = g.logins >= config.max_logins_in_progress_per_ip ? Limit::logins_in_progress_per_ip
                                                                     : Limit::logins_in_progress;
  }
  if (a.admitted) {
    ++admitted;
    ++g.connections;
  } else if (g.empty()) {
    groups.erase(group);
  }
  return a;
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

void IscsiServer::Impl::login_ended(const std::string& group, bool auth_only) {
  std::lock_guard lock(mu);
  size_t& pool = auth_only ? auth_logins : logins;
  --pool;
  if (auto it = groups.find(group); it != groups.end()) {
    size_t& held = auth_only ? it->second.auth_logins : it->second.logins;
    if (held != 0) --held;
  }
  forget_if_unused(group);
}

void IscsiServer::Impl::spawn(asio::ip::tcp::socket sock, bool tls) {
  asio::error_code ec;
  sock.set_option(asio::ip::tcp::no_delay(true), ec);
  iscsi::PortalInfo portal;
  auto local = sock.local_endpoint(ec);
  auto peer = sock.remote_endpoint(ec);
  if (ec) return;
  portal.local_address = local.address().to_string();
  portal.local_port = local.port();
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
  iscsi::LoginAdmission admission;
  std::function<void()> on_login_ended;
  if (a.admitted) {
    admission.auth_only = a.auth_only;
    on_login_ended = [this, group, auth_only = a.auth_only] { login_ended(group, auth_only); };
  } else {
    admission.refusal = iscsi::LoginRefusal{iscsi::login_status::kTargetError, iscsi::login_status::kOutOfResources};
    refusing.fetch_add(1);
  }
  auto exec = stream.get_executor();
  auto handler = std::make_shared<ConnectionHandler<Stream>>(
      std::move(stream), ConnectionDeps{config.connection, targets, registry, commands}, std::move(portal), admission,
      std::move(on_login_ended));
  {
    std::lock_guard lock(mu);
    live.remove_if([](const auto& w) { return w.expired(); });
    live.push_back(handler);
  }
  connections.fetch_add(1);
  asio::co_spawn(exec, handler->run(), [this, handler, group, was_admitted = a.admitted](std::exception_ptr ep) {
    // One bad peer costs only its own connection.
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        spdlog::error("connection ended by exception: {}", e.what());
      }
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
  s.acceptor.reset();
  s.tls_acceptor.reset();
  // Connections still parked in a loop are destroyed with it, and their
  // destructors report to this Impl: do it now, while every member is alive.
  s.guards.clear();
  s.loops.clear();
}

}  // namespace scsipub::net
