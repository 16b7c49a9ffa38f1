// IscsiServer over real loopback sockets: admission limits answered with a
// Login Response 03/02 (not a silent close), the admission model (address
// groups, the reserved CHAP login pool, session reservations; client sockets
// bound to 127.0.0.N stand in for other addresses), and the same session code
// over TLS, with SendTargets leaving out the plain portal's address.
#include "net/iscsi_server.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "iscsi/chap.h"
#include "iscsi/login_negotiator.h"
#include "net/test_certificates.h"
#include "net/tls_certificates.h"
#include "storage/temp_dir.h"

namespace scsipub::net {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
constexpr char kTarget[] = "iqn.2025-01.test:t";          // anonymous (free tier)
constexpr char kPaidTarget[] = "iqn.2025-01.test:paid";   // CHAP only
constexpr char kChapUser[] = "payer";
constexpr char kChapSecret[] = "a-long-enough-secret";

class EmptyBinding final : public iscsi::TargetBinding {
 public:
  const scsi::LunMap& luns() const override { return luns_; }

 private:
  scsi::LunMap luns_;  // no logical units
};

// A free target and a CHAP target (kChapUser / kChapSecret).
class OneTarget final : public iscsi::TargetProvider {
 public:
  std::optional<iscsi::LoginTarget> find(std::string_view name, const iscsi::LoginRequester&, const iscsi::PortalInfo&) override {
    if (name == kPaidTarget) return iscsi::LoginTarget{kPaidTarget, "", true};
    if (name != kTarget) return std::nullopt;
    return iscsi::LoginTarget{kTarget, "", false};
  }
  std::unique_ptr<iscsi::Authenticator> authenticator(std::string_view method, const iscsi::LoginTarget& target,
                                                      std::string_view, const iscsi::PortalInfo&) override {
    if (method != "CHAP") return nullptr;
    auto lookup = [](std::string_view, std::string_view user) -> std::optional<iscsi::ChapCredentials> {
      if (user != kChapUser) return std::nullopt;
      return iscsi::ChapCredentials{kChapSecret, std::nullopt, ""};
    };
    return std::make_unique<iscsi::ChapAuthenticator>(target.name, lookup, iscsi::openssl_random_bytes);
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

// A Login Request (RFC 7143 11.12) carrying `keys`; `isid_low` tells sessions
// of one initiator apart (the same ISID from the same address reinstates).
std::vector<uint8_t> login_request(const std::vector<std::string>& keys, uint8_t csg, uint8_t nsg, bool transit,
                                   uint8_t isid_low = 1) {
  std::string text;
  for (const auto& k : keys) {
    text += k;
    text += '\0';
  }
  std::vector<uint8_t> pdu(48, 0);
  pdu[0] = 0x43;  // Login Request, immediate
  pdu[1] = static_cast<uint8_t>((transit ? 0x80 : 0) | (csg << 2) | nsg);
  pdu[5] = static_cast<uint8_t>(text.size() >> 16);
  pdu[6] = static_cast<uint8_t>(text.size() >> 8);
  pdu[7] = static_cast<uint8_t>(text.size());
  pdu[8] = 0x80;  // ISID
  pdu[13] = isid_low;
  pdu.insert(pdu.end(), text.begin(), text.end());
  pdu.resize((pdu.size() + 3) & ~size_t{3}, 0);
  return pdu;
}

// One Login Request that goes straight to Full Feature Phase (T=1, CSG=1, NSG=3).
std::vector<uint8_t> login_pdu(const std::string& session_type, uint8_t isid_low = 1) {
  std::vector<std::string> keys{"InitiatorName=iqn.2025-01.test:ini", "SessionType=" + session_type};
  if (session_type == "Normal") keys.push_back(std::string("TargetName=") + kTarget);
  return login_request(keys, 1, 3, true, isid_low);
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

std::map<std::string, std::string> keys_of(const std::string& data) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at < data.size()) {
    size_t end = data.find('\0', at);
    if (end == std::string::npos) end = data.size();
    std::string kv = data.substr(at, end - at);
    if (auto eq = kv.find('='); eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
    at = end + 1;
  }
  return out;
}

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

// A CHAP login (RFC 7143 12.1.3) to `target` (empty: discovery), straight
// from the security stage to Full Feature Phase. Returns the last response.
Reply chap_login(tcp::socket& s, const std::string& target, const std::string& secret = kChapSecret,
                 uint8_t isid_low = 7) {
  std::vector<std::string> first{"InitiatorName=iqn.2025-01.test:payer", "AuthMethod=CHAP"};
  if (target.empty()) {
    first.emplace_back("SessionType=Discovery");
  } else {
    first.emplace_back("SessionType=Normal");
    first.push_back("TargetName=" + target);
  }
  Reply r = round_trip(s, login_request(first, 0, 1, false, isid_low));
  if (r.status_class() != 0) return r;
  r = round_trip(s, login_request({"CHAP_A=5"}, 0, 1, false, isid_low));
  if (r.status_class() != 0) return r;
  auto keys = keys_of(r.data);
  auto challenge = iscsi::decode_chap_binary(keys["CHAP_C"], 1024);
  EXPECT_TRUE(challenge.has_value()) << r.data;
  if (!challenge) return r;
  auto md5 = iscsi::chap_md5_response(static_cast<uint8_t>(std::stoi(keys["CHAP_I"])), secret, *challenge);
  EXPECT_TRUE(md5.has_value());
  return round_trip(s, login_request({std::string("CHAP_N=") + kChapUser, "CHAP_R=" + iscsi::encode_chap_hex(*md5)},
                                     0, 3, true, isid_low));
}

// Starts a login and leaves it unfinished (security stage, T=0): the
// connection holds a login slot until the login deadline.
Reply hold_login(tcp::socket& s, uint8_t isid_low = 1) {
  return round_trip(s, login_request({"InitiatorName=iqn.2025-01.test:holder", std::string("TargetName=") + kTarget,
                                      "AuthMethod=None"},
                                     0, 1, false, isid_low));
}

bool refused_out_of_resources(const Reply& r) {
  return r.status_class() == iscsi::login_status::kTargetError &&
         r.status_detail() == iscsi::login_status::kOutOfResources;
}

class IscsiServerTest : public ::testing::Test {
 protected:
  void start(ServerConfig cfg) {
    cfg.listen_port = 0;
    cfg.threads = 1;
    cfg.limit_events = &events;
    if (cfg.tls) cfg.tls->port = 0;
    server = std::make_unique<IscsiServer>(std::move(cfg), targets, registry);
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
  tcp::socket connect(uint16_t port) { return connect_from("127.0.0.1", port); }
  // From another loopback address: a different subscriber as far as the server knows.
  tcp::socket connect_from(const std::string& local, uint16_t port) {
    tcp::socket s(io);
    auto address = asio::ip::make_address(local);
    s.open(address.is_v4() ? tcp::v4() : tcp::v6());
    s.bind({address, 0});
    s.connect({address.is_v4() ? asio::ip::make_address("127.0.0.1") : asio::ip::make_address("::1"), port});
    return s;
  }
  // Waits until the server has seen `n` connections (accept runs on its own thread).
  void wait_connections(size_t n) {
    for (int i = 0; i < 200 && server->connection_count() < n; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_GE(server->connection_count(), n);
  }

  asio::io_context io;
  OneTarget targets;
  iscsi::SessionRegistry registry;
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
  cfg.reserved_auth_logins = 0;  // the general pool alone
  start(cfg);
  auto done = connect(server->port());
  EXPECT_EQ(round_trip(done, login_pdu("Normal")).status_class(), 0);  // finished: holds no slot
  auto a = connect(server->port());
  EXPECT_EQ(hold_login(a, 2).status_class(), 0);  // unfinished: holds the one slot
  auto b = connect(server->port());
  Reply refused = round_trip(b, login_pdu("Normal", 3));
  EXPECT_EQ(refused.status_detail(), iscsi::login_status::kOutOfResources);
  EXPECT_EQ(events.count(Limit::logins_in_progress), 1u);
  a.close();  // an ended login frees its slot
  b.close();
  wait_connections(1);
  auto c = connect(server->port());
  EXPECT_EQ(round_trip(c, login_pdu("Normal", 4)).status_class(), 0);
}

// A slot is claimed by the first whole PDU: sockets that send nothing, or
// half a header, hold only their group's few unfinished-login places.
TEST_F(IscsiServerTest, SocketsThatSendNothingHoldNoLoginSlot) {
  ServerConfig cfg;
  cfg.max_logins_in_progress = 2;
  cfg.max_logins_in_progress_per_ip = 2;
  cfg.reserved_auth_logins = 0;
  start(cfg);
  std::vector<tcp::socket> idle;
  for (int host = 2; host <= 6; ++host) {
    for (int i = 0; i < 2; ++i) idle.push_back(connect_from("127.0.0." + std::to_string(host), server->port()));
  }
  std::array<uint8_t, 24> half_header{0x43};
  for (size_t i = 0; i < idle.size(); i += 2) asio::write(idle[i], asio::buffer(half_header));
  wait_connections(idle.size());
  auto late = connect_from("127.0.0.7", server->port());
  EXPECT_EQ(round_trip(late, login_pdu("Normal")).status_class(), 0);
  EXPECT_EQ(events.count(Limit::logins_in_progress), 0u);
  // Past its share of unfinished logins, one more socket from a group is refused at accept.
  auto third = connect_from("127.0.0.2", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(third, login_pdu("Normal", 2))));
  EXPECT_EQ(events.count(Limit::logins_in_progress_per_ip), 1u);
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

// ---- the admission model (docs/SECURITY.md) ----

TEST_F(IscsiServerTest, LoginsInProgressPerAddressAreCapped) {
  ServerConfig cfg;
  cfg.max_logins_in_progress_per_ip = 2;
  cfg.reserved_auth_logins = 0;
  start(cfg);
  auto a = connect_from("127.0.0.2", server->port());
  auto b = connect_from("127.0.0.2", server->port());
  EXPECT_EQ(hold_login(a, 5).status_class(), 0);
  EXPECT_EQ(hold_login(b, 6).status_class(), 0);
  auto c = connect_from("127.0.0.2", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(c, login_pdu("Normal"))));
  EXPECT_EQ(events.count(Limit::logins_in_progress_per_ip), 1u);
  EXPECT_EQ(events.count(Limit::logins_in_progress), 0u);
  // Another address is not affected.
  auto d = connect_from("127.0.0.3", server->port());
  EXPECT_EQ(round_trip(d, login_pdu("Normal")).status_class(), 0);
  // An ended login frees its slot for the same address.
  a.close();
  c.close();
  wait_connections(2);
  auto e = connect_from("127.0.0.2", server->port());
  EXPECT_EQ(round_trip(e, login_pdu("Normal", 3)).status_class(), 0);
}

// The general pool is full of unfinished logins from other addresses: a CHAP
// login still gets a reserved slot; an anonymous one on such a slot is 03/02.
TEST_F(IscsiServerTest, ReservedPoolAdmitsChapLoginsWhileStrangersHoldTheGeneralPool) {
  ServerConfig cfg;
  cfg.max_logins_in_progress = 8;
  cfg.max_logins_in_progress_per_ip = 2;
  cfg.reserved_auth_logins = 8;  // room for every refused connection still closing
  cfg.reserved_auth_logins_per_ip = 2;
  start(cfg);
  std::vector<tcp::socket> idle;
  for (int host = 2; host <= 5; ++host) {
    for (int i = 0; i < 2; ++i) {
      idle.push_back(connect_from("127.0.0." + std::to_string(host), server->port()));
      EXPECT_EQ(hold_login(idle.back(), uint8_t(10 + i)).status_class(), 0);
    }
  }
  wait_connections(idle.size());  // the general pool: 4 addresses x 2 = 8, full

  auto paid = connect_from("127.0.0.6", server->port());
  Reply ok = chap_login(paid, kPaidTarget);
  EXPECT_EQ(ok.status_class(), 0) << int(ok.status_class()) << "/" << int(ok.status_detail());
  EXPECT_EQ(ok.bhs[1] & 0x83, 0x83);  // T=1, NSG=3: logged in

  // A free-tier login on a reserved slot is refused as soon as it shows.
  auto free_login = connect_from("127.0.0.7", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(free_login, login_pdu("Normal"))));
  EXPECT_EQ(events.count(Limit::auth_only_login), 1u);
  // So is AuthMethod=None to a free target in the security stage...
  auto none = connect_from("127.0.0.9", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(
      none, login_request({"InitiatorName=iqn.2025-01.test:x", "TargetName=" + std::string(kTarget),
                           "AuthMethod=None"},
                          0, 1, true))));
  // ...and anonymous discovery.
  auto discovery = connect_from("127.0.0.8", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(discovery, login_pdu("Discovery"))));
  EXPECT_EQ(events.count(Limit::auth_only_login), 3u);
  // CHAP discovery on a reserved slot is served.
  auto chap_discovery = connect_from("127.0.0.10", server->port());
  EXPECT_EQ(chap_login(chap_discovery, "").status_class(), 0);
}

TEST_F(IscsiServerTest, WithoutTheReservedPoolIdleStrangersRefuseTheChapLogin) {
  ServerConfig cfg;
  cfg.max_logins_in_progress = 8;
  cfg.max_logins_in_progress_per_ip = 2;
  cfg.reserved_auth_logins = 0;  // what the server did before the reserved pool
  start(cfg);
  std::vector<tcp::socket> idle;
  for (int host = 2; host <= 5; ++host) {
    for (int i = 0; i < 2; ++i) {
      idle.push_back(connect_from("127.0.0." + std::to_string(host), server->port()));
      EXPECT_EQ(hold_login(idle.back(), uint8_t(10 + i)).status_class(), 0);
    }
  }
  wait_connections(idle.size());
  auto paid = connect_from("127.0.0.6", server->port());
  EXPECT_TRUE(refused_out_of_resources(chap_login(paid, kPaidTarget)));
  EXPECT_EQ(events.count(Limit::logins_in_progress), 1u);
}

// The outside review's numbers with the default limits: four addresses opening 64
// idle sockets each used to fill all 256 login slots.
TEST_F(IscsiServerTest, FourAddressesOfIdleSocketsDoNotStarveLoginsWithDefaults) {
  start(ServerConfig{});
  std::vector<tcp::socket> idle;
  for (int host = 2; host <= 5; ++host) {
    for (int i = 0; i < 64; ++i) idle.push_back(connect_from("127.0.0." + std::to_string(host), server->port()));
  }
  // Each address keeps 4 + 2 unfinished-login places (holding no login slot: nothing was sent); the rest were refused.
  for (int i = 0; i < 200 && events.count(Limit::logins_in_progress_per_ip) < 4 * (64 - 6); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(events.count(Limit::logins_in_progress_per_ip), 4u * (64 - 6));
  auto paid = connect_from("127.0.0.6", server->port());
  EXPECT_EQ(chap_login(paid, kPaidTarget).status_class(), 0);
  auto anonymous = connect_from("127.0.0.7", server->port());
  EXPECT_EQ(round_trip(anonymous, login_pdu("Normal")).status_class(), 0);
}

TEST_F(IscsiServerTest, AnonymousSessionsLeaveTheReservedSessionsToChap) {
  ServerConfig cfg;
  cfg.connection.max_sessions = 4;
  cfg.connection.reserved_auth_sessions = 2;
  start(cfg);
  auto a = connect_from("127.0.0.2", server->port());
  auto b = connect_from("127.0.0.3", server->port());
  EXPECT_EQ(round_trip(a, login_pdu("Normal")).status_class(), 0);
  EXPECT_EQ(round_trip(b, login_pdu("Discovery")).status_class(), 0);
  auto c = connect_from("127.0.0.4", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(c, login_pdu("Normal"))));
  EXPECT_EQ(events.count(Limit::sessions_anonymous), 1u);
  // CHAP sessions may use the reserved ones, up to max_sessions.
  auto p1 = connect_from("127.0.0.4", server->port());
  auto p2 = connect_from("127.0.0.5", server->port());
  EXPECT_EQ(chap_login(p1, kPaidTarget, kChapSecret, 8).status_class(), 0);
  EXPECT_EQ(chap_login(p2, kPaidTarget, kChapSecret, 9).status_class(), 0);
  EXPECT_EQ(registry.size(), 4u);
  auto p3 = connect_from("127.0.0.6", server->port());
  EXPECT_TRUE(refused_out_of_resources(chap_login(p3, kPaidTarget, kChapSecret, 10)));
  EXPECT_EQ(events.count(Limit::sessions_total), 1u);
}

TEST_F(IscsiServerTest, AnonymousSessionsPerAddressAndDiscoverySessionsAreCapped) {
  ServerConfig cfg;
  cfg.connection.max_sessions_per_ip = 2;
  cfg.connection.max_discovery_sessions = 2;
  start(cfg);
  auto a = connect_from("127.0.0.2", server->port());
  auto b = connect_from("127.0.0.2", server->port());
  EXPECT_EQ(round_trip(a, login_pdu("Normal", 1)).status_class(), 0);
  EXPECT_EQ(round_trip(b, login_pdu("Discovery", 2)).status_class(), 0);  // discovery counts too
  auto c = connect_from("127.0.0.2", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(c, login_pdu("Normal", 3))));
  EXPECT_EQ(events.count(Limit::sessions_per_ip), 1u);
  // A CHAP session from the same address is not an anonymous one.
  auto paid = connect_from("127.0.0.2", server->port());
  EXPECT_EQ(chap_login(paid, kPaidTarget).status_class(), 0);
  // Discovery sessions server-wide: one more fits, the next is refused.
  auto d1 = connect_from("127.0.0.3", server->port());
  auto d2 = connect_from("127.0.0.4", server->port());
  EXPECT_EQ(round_trip(d1, login_pdu("Discovery")).status_class(), 0);
  EXPECT_TRUE(refused_out_of_resources(round_trip(d2, login_pdu("Discovery"))));
  EXPECT_EQ(events.count(Limit::discovery_sessions), 1u);
  // CHAP discovery is not an anonymous discovery session.
  auto chap_discovery = connect_from("127.0.0.4", server->port());
  EXPECT_EQ(chap_login(chap_discovery, "").status_class(), 0);
  // A logout frees the address's slot.
  a.close();
  for (int i = 0; i < 200 && registry.anonymous_sessions("127.0.0.2") > 1; ++i) std::this_thread::sleep_for(10ms);
  auto e = connect_from("127.0.0.2", server->port());
  EXPECT_EQ(round_trip(e, login_pdu("Normal", 4)).status_class(), 0);
}

TEST_F(IscsiServerTest, Ipv6PeersAreCountedByPrefix) {
  ServerConfig cfg;
  cfg.listen_host = "::1";
  cfg.max_connections_per_ip = 2;
  try {
    start(cfg);
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback: " << e.what();
  }
  auto a = connect_from("::1", server->port());
  auto b = connect_from("::1", server->port());
  EXPECT_EQ(round_trip(a, login_pdu("Normal")).status_class(), 0);
  auto records = registry.snapshot();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].peer_address, "::1");
  EXPECT_EQ(records[0].group, "::/64");
  EXPECT_EQ(registry.anonymous_sessions("::/64"), 1u);
  wait_connections(2);
  auto c = connect_from("::1", server->port());
  EXPECT_TRUE(refused_out_of_resources(round_trip(c, login_pdu("Normal", 2))));
  EXPECT_EQ(events.count(Limit::connections_per_ip), 1u);
}

}  // namespace
}  // namespace scsipub::net
