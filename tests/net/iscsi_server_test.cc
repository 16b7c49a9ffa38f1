// IscsiServer over real loopback sockets: admission limits answered with a
// Login Response 03/02 (not a silent close), and the same session code over
// TLS, with SendTargets leaving out the plain portal's address.
#include "net/iscsi_server.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "iscsi/login_negotiator.h"
#include "net/test_certificates.h"
#include "net/tls_certificates.h"
#include "storage/temp_dir.h"

namespace scsipub::net {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
constexpr char kTarget[] = "iqn.2025-01.test:t";

class NoLuns final : public scsi::LunMap {
 public:
  lu::LogicalUnit* find(uint64_t) const override { return nullptr; }
  std::span<const uint64_t> luns() const override { return {}; }
};

class EmptyBinding final : public iscsi::TargetBinding {
 public:
  const scsi::LunMap& luns() const override { return luns_; }

 private:
  NoLuns luns_;
};

class OneTarget final : public iscsi::TargetProvider {
 public:
  std::optional<iscsi::LoginTarget> find(std::string_view name, const iscsi::PortalInfo&) override {
    if (name != kTarget) return std::nullopt;
    return iscsi::LoginTarget{kTarget, "", false};
  }
  std::vector<iscsi::SendTargetsEntry> send_targets(std::string_view, std::string_view, std::string_view,
                                                    const iscsi::PortalInfo& portal) override {
    std::vector<std::string> addresses;
    if (!portal.tls) addresses.push_back("127.0.0.1:3260,1");
    return {{kTarget, addresses}};
  }
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view, const lu::Nexus&,
                                                                       const iscsi::PortalInfo&) override {
    return std::unique_ptr<iscsi::TargetBinding>(std::make_unique<EmptyBinding>());
  }
};

// One Login Request that goes straight to Full Feature Phase (T=1, CSG=1, NSG=3).
std::vector<uint8_t> login_pdu(const std::string& session_type) {
  std::string text = "InitiatorName=iqn.2025-01.test:ini";
  text += '\0';
  text += "SessionType=" + session_type;
  text += '\0';
  if (session_type == "Normal") {
    text += std::string("TargetName=") + kTarget;
    text += '\0';
  }
  std::vector<uint8_t> pdu(48, 0);
  pdu[0] = 0x43;  // Login Request, immediate
  pdu[1] = 0x87;  // T=1 CSG=1 NSG=3
  pdu[5] = static_cast<uint8_t>(text.size() >> 16);
  pdu[6] = static_cast<uint8_t>(text.size() >> 8);
  pdu[7] = static_cast<uint8_t>(text.size());
  pdu[8] = 0x80;  // ISID
  pdu[13] = 1;
  pdu.insert(pdu.end(), text.begin(), text.end());
  pdu.resize((pdu.size() + 3) & ~size_t{3}, 0);
  return pdu;
}

// A Text Request asking SendTargets=All.
std::vector<uint8_t> send_targets_pdu() {
  std::string text = "SendTargets=All";
  text += '\0';
  std::vector<uint8_t> pdu(48, 0);
  pdu[0] = 0x44;  // Text Request, immediate
  pdu[1] = 0x80;  // F
  pdu[7] = static_cast<uint8_t>(text.size());
  pdu[19] = 2;  // ITT
  pdu[20] = pdu[21] = pdu[22] = pdu[23] = 0xff;  // TTT
  pdu.insert(pdu.end(), text.begin(), text.end());
  pdu.resize((pdu.size() + 3) & ~size_t{3}, 0);
  return pdu;
}

struct Reply {
  std::vector<uint8_t> bhs;
  std::string data;
  uint8_t status_class() const { return bhs[36]; }
  uint8_t status_detail() const { return bhs[37]; }
};

template <class Stream>
Reply round_trip(Stream& s, const std::vector<uint8_t>& pdu) {
  asio::write(s, asio::buffer(pdu));
  Reply r;
  r.bhs.resize(48);
  asio::read(s, asio::buffer(r.bhs));
  size_t len = (size_t{r.bhs[5]} << 16) | (size_t{r.bhs[6]} << 8) | r.bhs[7];
  std::vector<uint8_t> data((len + 3) & ~size_t{3});
  asio::read(s, asio::buffer(data));
  r.data.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len));
  return r;
}

class IscsiServerTest : public ::testing::Test {
 protected:
  void start(ServerConfig cfg) {
    cfg.listen_port = 0;
    cfg.threads = 1;
    cfg.limit_events = &events;
    if (cfg.tls) cfg.tls->port = 0;
    server = std::make_unique<IscsiServer>(std::move(cfg), targets, registry, commands);
    server->start();
  }
  void TearDown() override {
    if (server) server->shutdown(0ms);
  }
  // Both listeners, the TLS one serving a self-signed certificate with `serial`.
  void start_with_tls(long serial) {
    auto pem = testing::make_pem("scsipub-test", serial);
    std::ofstream(tmp.path() / "cert.pem") << pem.cert;
    std::ofstream(tmp.path() / "key.pem") << pem.key;
    reloader = std::make_unique<CertificateReloader>(TlsFiles{tmp.path() / "cert.pem", tmp.path() / "key.pem"});
    ASSERT_TRUE(reloader->load_initial());
    auto front = make_front_context(*reloader);
    ASSERT_TRUE(front.ok());
    ServerConfig cfg;
    cfg.tls = TlsListenConfig{"127.0.0.1", 0, front.value()};
    start(cfg);
  }
  tcp::socket connect(uint16_t port) {
    tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    return s;
  }

  asio::io_context io;
  OneTarget targets;
  iscsi::SessionRegistry registry;
  scsi::CommandSet commands;
  LimitEvents events;
  scsipub::testing::TempDir tmp;
  std::unique_ptr<CertificateReloader> reloader;  // outlives the server (declared first)
  std::unique_ptr<IscsiServer> server;
};

TEST_F(IscsiServerTest, ConnectionsPastThePerAddressLimitGetOutOfResources) {
  ServerConfig cfg;
  cfg.max_connections_per_ip = 2;
  start(cfg);
  auto a = connect(server->port());
  auto b = connect(server->port());
  auto c = connect(server->port());
  Reply refused = round_trip(c, login_pdu("Normal"));
  EXPECT_EQ(refused.bhs[0] & 0x3f, 0x23);  // Login Response
  EXPECT_EQ(refused.status_class(), iscsi::login_status::kTargetError);
  EXPECT_EQ(refused.status_detail(), iscsi::login_status::kOutOfResources);
  // The refusal ends that connection only.
  std::array<uint8_t, 1> byte{};
  asio::error_code ec;
  c.read_some(asio::buffer(byte), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(events.count(Limit::connections_per_ip), 1u);

  Reply ok = round_trip(a, login_pdu("Normal"));
  EXPECT_EQ(ok.status_class(), 0);
  // Once one closes, the address may connect again.
  b.close();
  for (int i = 0; i < 100 && server->connection_count() > 1; ++i) std::this_thread::sleep_for(10ms);
  auto d = connect(server->port());
  EXPECT_EQ(round_trip(d, login_pdu("Normal")).status_class(), 0);
}

TEST_F(IscsiServerTest, LoginsInProgressAreLimitedButFinishedLoginsDoNotCount) {
  ServerConfig cfg;
  cfg.max_logins_in_progress = 1;
  start(cfg);
  auto a = connect(server->port());
  auto b = connect(server->port());  // a has not logged in yet: b is refused
  Reply refused = round_trip(b, login_pdu("Normal"));
  EXPECT_EQ(refused.status_detail(), iscsi::login_status::kOutOfResources);
  EXPECT_EQ(events.count(Limit::logins_in_progress), 1u);
  EXPECT_EQ(round_trip(a, login_pdu("Normal")).status_class(), 0);
  auto c = connect(server->port());  // a finished its login
  EXPECT_EQ(round_trip(c, login_pdu("Normal")).status_class(), 0);
}

TEST_F(IscsiServerTest, SessionCodeRunsOverTls) {
  start_with_tls(7);
  ASSERT_NE(server->tls_port(), 0);

  asio::ssl::context client_ctx(asio::ssl::context::tls_client);
  asio::ssl::stream<tcp::socket> tls(connect(server->tls_port()), client_ctx);
  tls.handshake(asio::ssl::stream_base::client);
  X509* peer = SSL_get1_peer_certificate(tls.native_handle());
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(X509_get0_serialNumber(peer)), 7);
  X509_free(peer);

  Reply login = round_trip(tls, login_pdu("Discovery"));
  EXPECT_EQ(login.status_class(), 0);
  Reply targets_reply = round_trip(tls, send_targets_pdu());
  EXPECT_NE(targets_reply.data.find(std::string("TargetName=") + kTarget), std::string::npos);
  EXPECT_EQ(targets_reply.data.find("TargetAddress"), std::string::npos) << targets_reply.data;

  // Plain iSCSI still works next to it, and keeps its address.
  auto plain = connect(server->port());
  EXPECT_EQ(round_trip(plain, login_pdu("Discovery")).status_class(), 0);
  EXPECT_NE(round_trip(plain, send_targets_pdu()).data.find("TargetAddress=127.0.0.1:3260,1"), std::string::npos);
}

TEST_F(IscsiServerTest, PlainIscsiOnTheTlsPortCostsOnlyThatConnection) {
  start_with_tls(8);
  auto wrong = connect(server->tls_port());
  asio::write(wrong, asio::buffer(login_pdu("Normal")));
  std::array<uint8_t, 64> buf{};
  asio::error_code ec;
  for (int i = 0; i < 10 && !ec; ++i) wrong.read_some(asio::buffer(buf), ec);  // a TLS alert, then EOF
  EXPECT_TRUE(ec);
  auto plain = connect(server->port());
  EXPECT_EQ(round_trip(plain, login_pdu("Normal")).status_class(), 0);
}

}  // namespace
}  // namespace scsipub::net
