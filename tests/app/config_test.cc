#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <tuple>
#include <utility>
#include <vector>

namespace scsipub::app {
namespace {

std::filesystem::path write_file(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / name;
  std::ofstream(p) << text;
  return p;
}

TEST(HostPort, ParsesNamesV4AndV6) {
  auto a = parse_host_port("127.0.0.1:3261", 3260);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 3261);
  auto b = parse_host_port("scsipub.example.org", 3260);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 3260);
  auto c = parse_host_port("[::1]:3262", 3260);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 3262);
  auto d = parse_host_port("::1", 3260);  // bare IPv6: no port
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 3260);
}

TEST(HostPort, RejectsGarbage) {
  EXPECT_FALSE(parse_host_port("", 1).ok());
  EXPECT_FALSE(parse_host_port(":3260", 1).ok());
  EXPECT_FALSE(parse_host_port("host:99999", 1).ok());
  EXPECT_FALSE(parse_host_port("host:12x", 1).ok());
  EXPECT_FALSE(parse_host_port("[::1", 1).ok());
  EXPECT_FALSE(parse_host_port("[::1]x", 1).ok());
}

TEST(Config, TomlOverridesDefaults) {
  auto f = write_file("scsipub-config-test.toml", R"(
data_dir = "/srv/scsipub"
[iscsi]
listen = "0.0.0.0:3260"
public_host = "example.org"
nop_interval_ms = 5000
[free_tier]
blank_size = 2097152
multi_images = ["a", "b"]
)");
  Config cfg;
  ASSERT_TRUE(load_toml(f, cfg).ok());
  EXPECT_EQ(cfg.data_dir, "/srv/scsipub");
  EXPECT_EQ(cfg.iscsi_listen, "0.0.0.0:3260");
  EXPECT_EQ(cfg.public_host, "example.org");
  EXPECT_EQ(cfg.nop_interval, std::chrono::milliseconds(5000));
  EXPECT_EQ(cfg.free_tier.blank_size, 2097152u);
  EXPECT_EQ(cfg.free_tier.multi_images, (std::vector<std::string>{"a", "b"}));
  auto valid = validate(cfg);
  ASSERT_TRUE(valid.ok()) << valid.error().message;
  EXPECT_EQ(cfg.images_dir, std::filesystem::path("/srv/scsipub/images"));
  std::filesystem::remove(f);
}

TEST(Config, UnknownKeysAndBadSyntaxAreErrors) {
  Config cfg;
  auto typo = write_file("scsipub-config-typo.toml", "[iscsi]\nlisten_addr = \"x\"\n");
  auto r = load_toml(typo, cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("listen_addr"), std::string::npos);
  auto bad = write_file("scsipub-config-bad.toml", "data_dir = \n");
  EXPECT_FALSE(load_toml(bad, cfg).ok());
  std::filesystem::remove(typo);
  std::filesystem::remove(bad);
}

TEST(Config, ValidationRefusesNonsense) {
  Config a;
  a.iscsi_listen = "nohost:70000";
  EXPECT_FALSE(validate(a).ok());
  Config b;
  b.free_tier.blank_size = 1000;
  EXPECT_FALSE(validate(b).ok());
  Config c;
  c.free_tier.multi_images = {"only-one"};
  EXPECT_FALSE(validate(c).ok());
  Config d;
  d.max_recv_data_segment = 100;
  EXPECT_FALSE(validate(d).ok());
}

TEST(Config, DefaultDataDirFollowsXdg) {
  ::setenv("XDG_DATA_HOME", "/xdg", 1);
  EXPECT_EQ(default_data_dir(), std::filesystem::path("/xdg/scsipub"));
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_data_dir(), std::filesystem::path("/home/u/.local/share/scsipub"));
}

TEST(Config, ServerConfigCarriesLimits) {
  Config cfg;
  cfg.iscsi_listen = "127.0.0.1:13260";
  cfg.cmd_window = 64;
  cfg.max_recv_data_segment = 65536;
  auto s = server_config(cfg);
  EXPECT_EQ(s.listen_port, 13260);
  EXPECT_EQ(s.connection.cmd_window, 64u);
  EXPECT_EQ(s.connection.login.max_recv_dsl, 65536u);
}

TEST(Config, StrangerLimitsAndTlsFromToml) {
  auto f = write_file("scsipub-config-limits.toml", R"(
[iscsi]
max_connections_per_ip = 8
max_logins_in_progress = 16
max_sessions = 100
connection_memory = 33554432
max_burst_length = 1048576
first_burst_length = 65536
[tls]
listen = "0.0.0.0:3261"
cert = "/etc/scsipub/fullchain.pem"
key = "/etc/scsipub/privkey.pem"
reload_cooldown_seconds = 30
[free_tier]
overlay_bytes_per_ip = 1073741824
)");
  Config cfg;
  auto loaded = load_toml(f, cfg);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  auto valid = validate(cfg);
  ASSERT_TRUE(valid.ok()) << valid.error().message;
  EXPECT_EQ(cfg.tls_listen, "0.0.0.0:3261");
  EXPECT_EQ(cfg.tls_cert, "/etc/scsipub/fullchain.pem");
  EXPECT_EQ(cfg.tls_reload_cooldown, std::chrono::seconds(30));
  EXPECT_EQ(cfg.free_tier.overlay_bytes_per_ip, 1u << 30);
  auto s = server_config(cfg);
  EXPECT_EQ(s.max_connections_per_ip, 8u);
  EXPECT_EQ(s.max_logins_in_progress, 16u);
  EXPECT_EQ(s.connection.max_sessions, 100u);
  EXPECT_EQ(s.connection.login.max_burst_length, 1u << 20);
  EXPECT_EQ(s.connection.login.first_burst_length, 65536u);
  EXPECT_EQ(s.connection.engine.max_buffered_bytes + s.connection.max_stash_bytes, 32u << 20);
  std::filesystem::remove(f);
}

TEST(Config, AdmissionDefaults) {
  Config cfg;
  cfg.data_dir = "/srv/scsipub";
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_EQ(cfg.overlay_dir, std::filesystem::path("/srv/scsipub/overlays"));
  auto s = server_config(cfg);
  EXPECT_EQ(s.max_logins_in_progress, 256u);
  EXPECT_EQ(s.max_logins_in_progress_per_ip, 4u);
  EXPECT_EQ(s.reserved_auth_logins, 64u);
  EXPECT_EQ(s.reserved_auth_logins_per_ip, 2u);
  EXPECT_EQ(s.ipv6_prefix_length, 64u);
  EXPECT_EQ(s.connection.max_sessions, 2048u);
  EXPECT_EQ(s.connection.reserved_auth_sessions, 256u);
  EXPECT_EQ(s.connection.max_sessions_per_ip, 16u);
  EXPECT_EQ(s.connection.max_discovery_sessions, 128u);
  auto d = directory_config(cfg);
  EXPECT_EQ(d.overlay_dir, cfg.overlay_dir);
  EXPECT_EQ(d.free_tier.overlay_bytes_total, 34359738368u);
  EXPECT_EQ(d.chap_throttle.per_user, 5u);
  EXPECT_EQ(d.chap_throttle.per_group, 60u);
}

TEST(Config, AdmissionFromToml) {
  auto f = write_file("scsipub-config-admission.toml", R"(
[iscsi]
max_logins_in_progress_per_ip = 3
reserved_auth_logins = 32
reserved_auth_sessions = 100
max_sessions_per_ip = 8
max_discovery_sessions = 64
ipv6_prefix_length = 56
[auth]
chap_failures_per_minute = 4
chap_attempts_per_minute_per_ip = 40
[free_tier]
overlay_bytes_total = 1073741824
overlay_dir = "/mnt/free/overlays"
)");
  Config cfg;
  auto loaded = load_toml(f, cfg);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_TRUE(validate(cfg).ok());
  auto s = server_config(cfg);
  EXPECT_EQ(s.max_logins_in_progress_per_ip, 3u);
  EXPECT_EQ(s.reserved_auth_logins, 32u);
  EXPECT_EQ(s.ipv6_prefix_length, 56u);
  EXPECT_EQ(s.connection.reserved_auth_sessions, 100u);
  EXPECT_EQ(s.connection.max_sessions_per_ip, 8u);
  EXPECT_EQ(s.connection.max_discovery_sessions, 64u);
  auto d = directory_config(cfg);
  EXPECT_EQ(d.overlay_dir, std::filesystem::path("/mnt/free/overlays"));
  EXPECT_EQ(d.free_tier.overlay_bytes_total, 1u << 30);
  EXPECT_EQ(d.chap_throttle.per_user, 4u);
  EXPECT_EQ(d.chap_throttle.per_group, 40u);
  std::filesystem::remove(f);
}

TEST(Config, AdmissionValidation) {
  Config a;
  a.ipv6_prefix_length = 31;
  EXPECT_FALSE(validate(a).ok());
  a.ipv6_prefix_length = 129;
  EXPECT_FALSE(validate(a).ok());
  a.ipv6_prefix_length = 128;
  EXPECT_TRUE(validate(a).ok());
  Config b;
  b.max_sessions = 100;
  b.reserved_auth_sessions = 101;
  EXPECT_FALSE(validate(b).ok());
  b.reserved_auth_sessions = 100;  // CHAP sessions only: allowed
  EXPECT_TRUE(validate(b).ok());
  // Lowering max_sessions alone keeps room for strangers: the reserve shrinks to 1/8.
  Config c;
  c.max_sessions = 100;
  ASSERT_TRUE(validate(c).ok());
  EXPECT_EQ(server_config(c).connection.reserved_auth_sessions, 12u);
  for (auto field : {&Config::max_logins_in_progress_per_ip, &Config::max_sessions_per_ip,
                     &Config::max_discovery_sessions}) {
    Config z;
    z.*field = 0;
    EXPECT_FALSE(validate(z).ok());
  }
  Config r;
  r.reserved_auth_logins = 0;  // no reserved pool: allowed
  EXPECT_TRUE(validate(r).ok());
  Config t;
  t.chap_attempts_per_minute_per_ip = 0;
  EXPECT_FALSE(validate(t).ok());
  auto f = write_file("scsipub-config-negative.toml", "[iscsi]\nmax_sessions_per_ip = -1\n");
  Config n;
  EXPECT_FALSE(load_toml(f, n).ok());
  std::filesystem::remove(f);
}

TEST(Config, FreeTierRetainSeconds) {
  Config d;
  ASSERT_TRUE(validate(d).ok());
  EXPECT_EQ(directory_config(d).free_tier.retain, std::chrono::seconds(20));  // DefaultTime2Retain
  for (auto [text, ok, want] : {std::tuple{"0", true, 0}, {"3600", true, 3600}, {"3601", false, 0}, {"-1", false, 0}}) {
    auto f = write_file("scsipub-config-retain.toml", std::string("[free_tier]\nretain_seconds = ") + text + "\n");
    Config cfg;
    const bool good = load_toml(f, cfg).ok() && validate(cfg).ok();
    EXPECT_EQ(good, ok) << text;
    if (ok) {
      EXPECT_EQ(directory_config(cfg).free_tier.retain, std::chrono::seconds(want)) << text;
    }
    std::filesystem::remove(f);
  }
}

TEST(Config, LimitValidation) {
  Config a;
  a.max_connections_per_ip = 0;
  EXPECT_FALSE(validate(a).ok());
  Config b;
  b.first_burst_length = 2u << 20;
  b.max_burst_length = 1u << 20;
  EXPECT_FALSE(validate(b).ok());
  Config c;
  c.connection_memory = 1u << 20;
  EXPECT_FALSE(validate(c).ok());
  Config d;
  d.tls_cert = "/x.pem";  // without a key
  EXPECT_FALSE(validate(d).ok());
  Config e;
  e.tls_listen = "off";
  EXPECT_TRUE(validate(e).ok());
}

TEST(Config, StorageThreadsDefaultTomlAndBounds) {
  Config dflt;
  EXPECT_EQ(dflt.storage_threads, 16u);
  EXPECT_EQ(server_config(dflt).storage_threads, 16u);
  auto f = write_file("scsipub-config-storage.toml", "[iscsi]\nstorage_threads = 0\n");
  Config zero;
  ASSERT_TRUE(load_toml(f, zero).ok());
  EXPECT_TRUE(validate(zero).ok());
  EXPECT_EQ(server_config(zero).storage_threads, 0u);  // commands on the loops, as before
  Config big;
  big.storage_threads = 1025;
  EXPECT_FALSE(validate(big).ok());
  auto g = write_file("scsipub-config-storage-neg.toml", "[iscsi]\nstorage_threads = -1\n");
  Config neg;
  EXPECT_TRUE(!load_toml(g, neg).ok() || !validate(neg).ok());
  std::filesystem::remove(f);
  std::filesystem::remove(g);
}

}  // namespace
}  // namespace scsipub::app

namespace scsipub::app {
namespace {

TEST(ConfigTiers, DefaultIsOneStandardTier) {
  Config cfg;
  ASSERT_NE(cfg.tiers.find("standard"), nullptr);
  EXPECT_EQ(cfg.tiers.all().size(), 1u);
  EXPECT_EQ(cfg.http_listen, "127.0.0.1:8080");
  EXPECT_FALSE(is_postgres_url(cfg.database));
}

TEST(ConfigTiers, TablesReplaceTheDefaults) {
  auto p = write_file("scsipub-tiers.toml", R"(
database = "postgresql://scsipub@127.0.0.1:5432/scsipub"
[http]
listen = "0.0.0.0:8081"
[auth]
chap_failures_per_minute = 3
[tiers.pro]
max_disks = 10
max_luns_per_disk = 8
max_disk_size = 1073741824
blank_size = 536870912
write_limit = 0
max_sessions_per_disk = 2
expiry_seconds = 86400
[tiers.hobby]
max_disks = 1
)");
  Config cfg;
  auto s = load_toml(p, cfg);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_TRUE(is_postgres_url(cfg.database));
  EXPECT_EQ(cfg.http_listen, "0.0.0.0:8081");
  EXPECT_EQ(cfg.chap_failures_per_minute, 3u);
  EXPECT_EQ(cfg.tiers.find("standard"), nullptr);
  const control::Tier* pro = cfg.tiers.find("pro");
  ASSERT_NE(pro, nullptr);
  EXPECT_EQ(pro->max_disks, 10u);
  EXPECT_EQ(pro->max_sessions_per_disk, 2u);
  EXPECT_EQ(pro->expiry, std::chrono::hours(24));
  ASSERT_NE(cfg.tiers.find("hobby"), nullptr);
  EXPECT_EQ(cfg.tiers.find("hobby")->max_luns_per_disk, control::Tier{}.max_luns_per_disk);
}

TEST(ConfigTiers, RejectsBadTiers) {
  for (const char* text : {"[tiers.pro]\nmax_disks = 0\n", "[tiers.pro]\nbogus = 1\n", "[tiers.anonymous]\n",
                           "[tiers.pro]\nblank_size = 1000\n", "[tiers.pro]\nmax_disks = -1\n", "[tiers]\n",
                           "[http]\nport = 1\n"}) {
    auto p = write_file("scsipub-bad-tiers.toml", text);
    Config cfg;
    EXPECT_FALSE(load_toml(p, cfg).ok()) << text;
  }
  Config cfg;
  cfg.http_listen = "nonsense:port";
  EXPECT_FALSE(validate(cfg).ok());
}

TEST(ConfigHttp, LimitsHaveDefaultsAndTomlKeys) {
  Config defaults;
  ASSERT_TRUE(validate(defaults).ok());
  EXPECT_EQ(defaults.http_limits.max_connections_per_ip, 16u);
  EXPECT_EQ(defaults.http_limits.max_header_bytes, 16u * 1024);
  auto p = write_file("scsipub-http.toml", R"(
[http]
listen = "127.0.0.1:8081"
threads = 2
max_connections = 100
max_connections_per_ip = 4
max_header_bytes = 8192
max_headers = 50
idle_timeout_seconds = 5
request_timeout_ms = 15000
)");
  Config cfg;
  auto s = load_toml(p, cfg);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_EQ(cfg.http_threads, 2u);
  EXPECT_EQ(cfg.http_limits.max_connections, 100u);
  EXPECT_EQ(cfg.http_limits.max_connections_per_ip, 4u);
  EXPECT_EQ(cfg.http_limits.max_header_bytes, 8192u);
  EXPECT_EQ(cfg.http_limits.max_headers, 50u);
  EXPECT_EQ(cfg.http_limits.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(cfg.http_limits.request_timeout, std::chrono::milliseconds(15000));
}

TEST(ConfigHttp, RejectsLimitsThatLimitNothingOrEveryone) {
  for (const char* text : {"[http]\nmax_connections = 0\n", "[http]\nmax_connections_per_ip = 0\n",
                           "[http]\nmax_connections = 8\nmax_connections_per_ip = 9\n",
                           "[http]\nmax_header_bytes = 100\n", "[http]\nmax_headers = 0\n",
                           "[http]\nidle_timeout_seconds = 0\n", "[http]\nrequest_timeout_ms = 10\n",
                           "[http]\nthreads = 0\n", "[http]\nthreads = -1\n"}) {
    auto p = write_file("scsipub-bad-http.toml", text);
    Config cfg;
    bool loaded = load_toml(p, cfg).ok();
    EXPECT_FALSE(loaded && validate(cfg).ok()) << text;
  }
}

TEST(ConfigAdmin, DashboardLoginLimitsHaveDefaultsTomlKeysAndBounds) {
  Config defaults;
  ASSERT_TRUE(validate(defaults).ok());
  EXPECT_EQ(defaults.admin.max_sessions, 32u);
  EXPECT_EQ(defaults.admin.session_ttl, std::chrono::hours(8));
  EXPECT_FALSE(defaults.admin.trust_forwarded_proto);
  auto p = write_file("scsipub-admin.toml", "[admin]\nmax_sessions = 4\nsession_ttl_seconds = 600\ntrust_forwarded_proto = true\n");
  Config cfg;
  auto s = load_toml(p, cfg);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_EQ(cfg.admin.max_sessions, 4u);
  EXPECT_EQ(cfg.admin.session_ttl, std::chrono::seconds(600));
  EXPECT_TRUE(cfg.admin.trust_forwarded_proto);
  for (const char* text : {"[admin]\nmax_sessions = 0\n", "[admin]\nsession_ttl_seconds = 5\n",
                           "[admin]\nsession_ttl_seconds = 99999999\n", "[admin]\nbogus = 1\n",
                           "[admin]\nmax_sessions = -3\n"}) {
    auto bad = write_file("scsipub-admin-bad.toml", text);
    Config c;
    EXPECT_FALSE(load_toml(bad, c).ok() && validate(c).ok()) << text;
  }
}

TEST(Config, CephSectionIsReadAndValidated) {
  Config none;
  EXPECT_FALSE(none.ceph.enabled());
  EXPECT_TRUE(validate_ceph(none.ceph).ok()) << "no [ceph]: local storage";

  auto conf = write_file("scsipub-config-test-ceph.conf", "[global]\n");
  auto f = write_file("scsipub-config-test-ceph.toml", "[ceph]\nconf = \"" + conf.string() + R"("
pool = "rbd"
user = "scsipub"
image_prefix = "node-"
op_timeout_seconds = 12
sweep_interval_seconds = 120
sweep_grace_seconds = 600
)");
  Config cfg;
  ASSERT_TRUE(load_toml(f, cfg).ok());
  EXPECT_TRUE(cfg.ceph.enabled());
  EXPECT_EQ(cfg.ceph.conf, conf.string());
  EXPECT_EQ(cfg.ceph.pool, "rbd");
  EXPECT_EQ(cfg.ceph.user, "scsipub");
  EXPECT_EQ(cfg.ceph.keyring, "");
  EXPECT_EQ(cfg.ceph.image_prefix, "node-");
  EXPECT_EQ(cfg.ceph.op_timeout_seconds, 12u);
  EXPECT_EQ(cfg.ceph.sweep_interval_seconds, 120u);
  EXPECT_EQ(cfg.ceph.sweep_grace_seconds, 600u);
  EXPECT_EQ(Config{}.ceph.sweep_interval_seconds, 600u) << "the sweep is on by default";
#ifdef SCSIPUB_WITH_RBD
  EXPECT_TRUE(validate_ceph(cfg.ceph).ok());
  auto bad = [&](auto change) {
    CephConfig c = cfg.ceph;
    change(c);
    return !validate_ceph(c).ok();
  };
  EXPECT_TRUE(bad([](CephConfig& c) { c.pool = "a/b"; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.pool = std::string(65, 'p'); }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.user = "client admin"; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.user = ""; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.image_prefix = "x@"; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.op_timeout_seconds = 0; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.op_timeout_seconds = 601; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.conf = "/nonexistent/ceph.conf"; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.keyring = "/nonexistent/keyring"; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.sweep_interval_seconds = 59; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.sweep_interval_seconds = 86401; }));
  EXPECT_FALSE(bad([](CephConfig& c) { c.sweep_interval_seconds = 0; })) << "0 = off";
  EXPECT_TRUE(bad([](CephConfig& c) { c.sweep_grace_seconds = 299; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.sweep_grace_seconds = 7 * 86400 + 1; }));
  EXPECT_TRUE(bad([](CephConfig& c) { c.image_prefix = ""; })) << "the sweep matches names: it needs a prefix";
  EXPECT_FALSE(bad([](CephConfig& c) {
    c.image_prefix = "";
    c.sweep_interval_seconds = 0;
  }));
#else
  EXPECT_FALSE(validate_ceph(cfg.ceph).ok()) << "a build without librbd refuses [ceph]";
#endif

  Config missing_pool;
  EXPECT_FALSE(load_toml(write_file("scsipub-config-test-ceph2.toml", "[ceph]\nuser = \"a\"\n"), missing_pool).ok());
  Config unknown;
  EXPECT_FALSE(load_toml(write_file("scsipub-config-test-ceph3.toml", "[ceph]\npool = \"rbd\"\nmonitors = \"x\"\n"),
                         unknown)
                   .ok());
}

}  // namespace
}  // namespace scsipub::app

namespace scsipub::app {
namespace {

constexpr const char* kFleetToml =
    "database = \"postgresql://scsipub@db.example/scsipub\"\n"
    "[fleet]\n"
    "enabled = true\n"
    "node_id = \"node-a\"\n"
    "iscsi_portal = \"10.0.0.1:3260\"\n"
    "tls_portal = \"10.0.0.1:3261\"\n"
    "http_address = \"10.0.0.1:8080\"\n"
    "heartbeat_ms = 500\n"
    "node_timeout_ms = 2500\n"
    "lease_ms = 4000\n"
    "free_redirect_above_sessions = 100\n"
    "free_redirect_memory = 500\n"
    "free_redirect_memory_seconds = 7200\n"
    "forget_nodes_after_seconds = 7200\n";

TEST(ConfigFleet, OffByDefaultAndReadFromToml) {
  Config d;
  ASSERT_TRUE(validate(d).ok());
  EXPECT_FALSE(d.fleet.enabled);
  EXPECT_EQ(d.fleet.heartbeat, std::chrono::milliseconds(1000));
  EXPECT_EQ(d.fleet.node_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(d.fleet.lease, std::chrono::milliseconds(10000));
  EXPECT_EQ(d.fleet.free_redirect_above_sessions, 0u);
  EXPECT_EQ(d.fleet.free_redirect_memory.max_entries, 8192u);
  EXPECT_EQ(d.fleet.free_redirect_memory.remember, std::chrono::hours(24));
  EXPECT_EQ(d.fleet.forget_nodes_after, std::chrono::hours(24));

  auto f = write_file("scsipub-config-fleet.toml", kFleetToml);
  Config cfg;
  auto st = load_toml(f, cfg);
  ASSERT_TRUE(st.ok()) << st.error().message;
  st = validate(cfg);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(cfg.fleet.enabled);
  EXPECT_EQ(cfg.fleet.node_id, "node-a");
  EXPECT_EQ(cfg.fleet.iscsi_portal, "10.0.0.1:3260");
  EXPECT_EQ(cfg.fleet.tls_portal, "10.0.0.1:3261");
  EXPECT_EQ(cfg.fleet.http_address, "10.0.0.1:8080");
  EXPECT_EQ(cfg.fleet.heartbeat, std::chrono::milliseconds(500));
  EXPECT_EQ(cfg.fleet.node_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(cfg.fleet.lease, std::chrono::milliseconds(4000));
  EXPECT_EQ(cfg.fleet.free_redirect_above_sessions, 100u);
  EXPECT_EQ(cfg.fleet.free_redirect_memory.max_entries, 500u);
  EXPECT_EQ(cfg.fleet.free_redirect_memory.remember, std::chrono::seconds(7200));
  EXPECT_EQ(directory_config(cfg).free_redirects.max_entries, 500u);
  EXPECT_EQ(cfg.fleet.forget_nodes_after, std::chrono::hours(2));
  std::filesystem::remove(f);
}

TEST(ConfigFleet, RefusesWhatCannotWork) {
  auto f = write_file("scsipub-config-fleet.toml", kFleetToml);
  Config good;
  ASSERT_TRUE(load_toml(f, good).ok());
  std::filesystem::remove(f);
  ASSERT_TRUE(validate(good).ok());

  const std::vector<std::pair<std::string, std::function<void(Config&)>>> bad = {
      {"SQLite", [](Config& c) { c.database.clear(); }},
      {"no node id", [](Config& c) { c.fleet.node_id.clear(); }},
      {"node id with a space", [](Config& c) { c.fleet.node_id = "node a"; }},
      {"no portal", [](Config& c) { c.fleet.iscsi_portal.clear(); }},
      {"bad portal", [](Config& c) { c.fleet.iscsi_portal = "10.0.0.1:99999"; }},
      {"bad TLS portal", [](Config& c) { c.fleet.tls_portal = "[::1"; }},
      {"lease = 3 heartbeats", [](Config& c) { c.fleet.lease = 3 * c.fleet.heartbeat; }},
      {"timeout = heartbeat", [](Config& c) { c.fleet.node_timeout = c.fleet.heartbeat; }},
      {"heartbeat too short", [](Config& c) { c.fleet.heartbeat = std::chrono::milliseconds(10); }},
      {"redirect above max_sessions", [](Config& c) { c.fleet.free_redirect_above_sessions = 1u << 30; }},
      {"redirect memory over its ceiling", [](Config& c) { c.fleet.free_redirect_memory.max_entries = 1u << 30; }},
      {"redirect memory for 0 s", [](Config& c) { c.fleet.free_redirect_memory.remember = std::chrono::seconds(0); }},
      {"redirect memory for a month",
       [](Config& c) { c.fleet.free_redirect_memory.remember = std::chrono::hours(24 * 30); }},
      {"forget nodes after 59 s", [](Config& c) { c.fleet.forget_nodes_after = std::chrono::seconds(59); }},
      {"forget nodes after more than a year",
       [](Config& c) { c.fleet.forget_nodes_after = std::chrono::seconds(31536001); }},
      {"forget nodes within the node timeout",
       [](Config& c) {
         c.fleet.node_timeout = std::chrono::seconds(120);
         c.fleet.lease = std::chrono::seconds(200);
         c.fleet.forget_nodes_after = std::chrono::seconds(120);
       }},
  };
  for (const auto& [what, change] : bad) {
    Config c = good;
    change(c);
    EXPECT_FALSE(validate(c).ok()) << what;
  }
  Config off = good;
  off.fleet.enabled = false;
  off.database.clear();
  off.fleet.node_id.clear();
  EXPECT_TRUE(validate(off).ok()) << "a disabled fleet is not checked";
  Config never = good;
  never.fleet.forget_nodes_after = std::chrono::seconds(0);
  EXPECT_TRUE(validate(never).ok()) << "0: never forget";

  auto typo = write_file("scsipub-config-fleet-typo.toml", "[fleet]\nlease_millis = 1\n");
  Config t;
  EXPECT_FALSE(load_toml(typo, t).ok());
  std::filesystem::remove(typo);
  auto negative = write_file("scsipub-config-fleet-neg.toml", "[fleet]\nlease_ms = -1\n");
  EXPECT_FALSE(load_toml(negative, t).ok());
  std::filesystem::remove(negative);
}

}  // namespace
}  // namespace scsipub::app
