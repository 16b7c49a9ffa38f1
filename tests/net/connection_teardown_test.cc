// An exception out of the PDU handler (seen: std::bad_alloc under a memory
// limit) must end its connection like any other close: the socket closed, the
// session unregistered, the admission slot returned, and no event-loop thread
// left spinning on a deadline in the past.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <asio.hpp>
#include <chrono>
#include <new>
#include <thread>

#include "net/iscsi_server.h"

namespace scsipub::net {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
constexpr char kTarget[] = "iqn.2025-01.test:throws";

// Finds the target, then runs out of memory binding it: the throw happens in
// the middle of a Login Request, after the session was registered.
class ThrowingTargets final : public iscsi::TargetProvider {
 public:
  std::optional<iscsi::LoginTarget> find(std::string_view name, const iscsi::LoginRequester&, const iscsi::PortalInfo&) override {
    if (name != kTarget) return std::nullopt;
    return iscsi::LoginTarget{kTarget, "", false};
  }
  std::vector<iscsi::SendTargetsEntry> send_targets(std::string_view, std::string_view, std::string_view,
                                                    const iscsi::PortalInfo&) override {
    return {};
  }
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view, const lu::Nexus&,
                                                                       const iscsi::PortalInfo&) override {
    throw std::bad_alloc();
  }
};

std::vector<uint8_t> normal_login_pdu() {
  std::string text = std::string("InitiatorName=iqn.2025-01.test:ini") + '\0' + "SessionType=Normal" + '\0' +
                     "TargetName=" + kTarget + '\0';
  std::vector<uint8_t> pdu(48, 0);
  pdu[0] = 0x43;  // Login Request, immediate
  pdu[1] = 0x87;  // T=1 CSG=1 NSG=3
  pdu[6] = static_cast<uint8_t>(text.size() >> 8);
  pdu[7] = static_cast<uint8_t>(text.size());
  pdu[8] = 0x80;  // ISID
  pdu[13] = 1;
  pdu.insert(pdu.end(), text.begin(), text.end());
  pdu.resize((pdu.size() + 3) & ~size_t{3}, 0);
  return pdu;
}

std::chrono::microseconds process_cpu_time() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) { return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec); };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

// Reads until EOF or error; false if the peer kept the socket open past `limit`.
bool closed_within(tcp::socket& s, std::chrono::milliseconds limit) {
  asio::io_context& io = static_cast<asio::io_context&>(s.get_executor().context());
  std::array<uint8_t, 512> buf{};
  bool closed = false;
  std::function<void()> read_more = [&] {
    s.async_read_some(asio::buffer(buf), [&](asio::error_code ec, size_t) {
      if (ec) {
        closed = true;
      } else {
        read_more();
      }
    });
  };
  read_more();
  io.restart();
  io.run_for(limit);
  return closed;
}

TEST(ConnectionTeardown, ExceptionInTheHandlerClosesTheConnectionAndFreesEverything) {
  ThrowingTargets targets;
  iscsi::SessionRegistry registry;
  ServerConfig cfg;
  cfg.listen_port = 0;
  cfg.threads = 1;
  cfg.max_connections_per_ip = 1;
  // A short login deadline: the old code's watchdog spun once it had passed.
  cfg.connection.login_timeout = 200ms;
  IscsiServer server(cfg, targets, registry);
  server.start();

  asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  asio::write(s, asio::buffer(normal_login_pdu()));
  EXPECT_TRUE(closed_within(s, 2000ms)) << "the socket stayed open after the handler threw";
  for (int i = 0; i < 200 && server.connection_count() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.connection_count(), 0u);
  EXPECT_EQ(registry.size(), 0u) << "the session stayed registered";

  // Past the login deadline, nothing may burn CPU on this connection's behalf.
  std::this_thread::sleep_for(400ms);
  auto before = process_cpu_time();
  std::this_thread::sleep_for(1000ms);
  EXPECT_LT(process_cpu_time() - before, 300ms) << "an event loop is spinning";

  // The per-address slot came back: the same address connects and is served.
  tcp::socket again(io);
  again.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  asio::write(again, asio::buffer(normal_login_pdu()));
  EXPECT_TRUE(closed_within(again, 2000ms));
  server.shutdown(0ms);
}

}  // namespace
}  // namespace scsipub::net
