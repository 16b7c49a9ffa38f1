#include "net/iscsi_server.h"

#include <spdlog/spdlog.h>

#include <asio.hpp>
#include <list>
#include <mutex>

#include "net/connection_handler.h"

namespace scsipub::net {

struct IscsiServer::Impl {
  ServerConfig config;
  iscsi::TargetProvider& targets;
  iscsi::SessionRegistry& registry;
  const scsi::CommandSet& commands;

  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  size_t next_loop = 0;
  uint16_t bound_port = 0;

  mutable std::mutex mu;  // cold path: accept and shutdown only
  std::list<std::weak_ptr<ConnectionHandler>> live;
  std::atomic<size_t> connections{0};

  Impl(ServerConfig c, iscsi::TargetProvider& t, iscsi::SessionRegistry& r, const scsi::CommandSet& cs)
      : config(std::move(c)), targets(t), registry(r), commands(cs) {}

  asio::awaitable<void> accept_loop();
  void spawn(asio::ip::tcp::socket socket);
};

IscsiServer::IscsiServer(ServerConfig config, iscsi::TargetProvider& targets, iscsi::SessionRegistry& registry,
                         const scsi::CommandSet& commands)
    : impl_(std::make_unique<Impl>(std::move(config), targets, registry, commands)) {}

IscsiServer::~IscsiServer() {
  if (!impl_->threads.empty()) shutdown(std::chrono::milliseconds(0));
}

uint16_t IscsiServer::port() const { return impl_->bound_port; }

size_t IscsiServer::connection_count() const { return impl_->connections.load(); }

void IscsiServer::start() {
  Impl& s = *impl_;
  unsigned n = s.config.threads != 0 ? s.config.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    s.loops.push_back(std::make_unique<asio::io_context>(1));
    s.guards.push_back(asio::make_work_guard(*s.loops.back()));
  }
  auto addr = asio::ip::make_address(s.config.listen_host);
  asio::ip::tcp::endpoint ep(addr, s.config.listen_port);
  s.acceptor = std::make_unique<asio::ip::tcp::acceptor>(*s.loops[0]);
  s.acceptor->open(ep.protocol());
  s.acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true));
  s.acceptor->bind(ep);
  s.acceptor->listen(asio::socket_base::max_listen_connections);
  s.bound_port = s.acceptor->local_endpoint().port();
  asio::co_spawn(*s.loops[0], s.accept_loop(), asio::detached);
  for (auto& loop : s.loops) {
    s.threads.emplace_back([io = loop.get()] { io->run(); });
  }
  spdlog::info("iSCSI listening on {}:{} with {} event loop(s)", s.config.listen_host, s.bound_port, n);
}

asio::awaitable<void> IscsiServer::Impl::accept_loop() {
  for (;;) {
    // Accepted sockets go round-robin to the loops and stay there.
    asio::io_context& target = *loops[next_loop++ % loops.size()];
    asio::error_code ec;
    asio::ip::tcp::socket sock = co_await acceptor->async_accept(target, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (connections.load() >= config.max_connections) {
      spdlog::warn("refusing connection: {} connections open (limit)", connections.load());
      sock.close(ec);
      continue;
    }
    spawn(std::move(sock));
  }
}

void IscsiServer::Impl::spawn(asio::ip::tcp::socket sock) {
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
  auto exec = sock.get_executor();
  auto handler = std::make_shared<ConnectionHandler>(std::move(sock), ConnectionDeps{config.connection, targets, registry, commands},
                                                     std::move(portal));
  {
    std::lock_guard lock(mu);
    live.remove_if([](const auto& w) { return w.expired(); });
    live.push_back(handler);
  }
  connections.fetch_add(1);
  asio::co_spawn(exec, handler->run(), [this, handler](std::exception_ptr ep) {
    // One bad peer costs only its own connection.
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        spdlog::error("connection ended by exception: {}", e.what());
      }
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
  });
  std::vector<std::shared_ptr<ConnectionHandler>> handlers;
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
}

}  // namespace scsipub::net
