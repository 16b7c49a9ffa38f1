#pragma once
// Server configuration: defaults, then the TOML file, then command-line flags.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/target_directory.h"
#include "control/tiers.h"
#include "ingest/image_ingest.h"
#include "net/iscsi_server.h"
#include "web/admin_auth_config.h"
#include "web/http_server.h"

namespace scsipub::app {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "host:port", "[v6]:port" or "host" (port = default_port).
Result<HostPort> parse_host_port(const std::string& text, uint16_t default_port);

// [fleet]: several nodes on one PostgreSQL database (docs/SCALE-OUT.md).
struct FleetConfig {
  bool enabled = false;
  std::string node_id;       // unique in the fleet; letters, digits, '.', '_', '-'
  std::string iscsi_portal;  // "host:port" initiators reach this node at (redirects point here)
  std::string tls_portal;    // "host:port" of the TLS listener as initiators reach it; "" = none
  std::string http_address;  // "host:port" of the HTTP server as other nodes reach it; "" = none
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds node_timeout{5000};  // a node silent this long is not alive
  std::chrono::milliseconds lease{10000};        // disk lease length; > 3 heartbeats
  uint32_t free_redirect_above_sessions = 0;     // 0 = free-tier logins are never redirected
  // free_redirect_memory (entries, 0 = none) and free_redirect_memory_seconds:
  // where redirected free-tier initiators were sent, so a reconnect here goes back there.
  control::FreeRedirectMemoryLimits free_redirect_memory;
  bool serve_disks = true;                       // false: a front node that never owns a paid disk
  std::chrono::seconds forget_nodes_after{86400};  // node rows silent this long are deleted; 0 = never
};

// [ceph]: provisioned disks on Ceph RBD instead of local overlay files.
// Present (a pool set) = on; needs a build with librbd (SCSIPUB_WITH_RBD).
struct CephConfig {
  std::string conf;                       // ceph.conf; "" = librados' default search (/etc/ceph/ceph.conf)
  std::string pool;                       // "" = [ceph] not configured
  std::string user = "admin";             // cephx id, without "client."
  std::string keyring;                    // "" = what ceph.conf names
  std::string image_prefix = "scsipub-";  // every image scsipub makes starts with it
  uint32_t op_timeout_seconds = 30;       // bound on connecting and each cluster operation
  // Orphan sweep: images under image_prefix of no disk record, and staging
  // copies of interrupted imports, removed at start and every interval.
  uint32_t sweep_interval_seconds = 600;  // 0 = off
  uint32_t sweep_grace_seconds = 900;     // a younger image is never removed (being created right now)
  bool enabled() const { return !pool.empty(); }
};

struct Config {
  std::filesystem::path data_dir;     // disks/ and the SQLite file live here
  std::filesystem::path images_dir;   // the catalog
  std::filesystem::path overlay_dir;  // free-tier overlays; default DATA_DIR/overlays
  std::string iscsi_listen = "127.0.0.1:3260";
  std::string public_host;           // what SendTargets advertises
  std::string log_level = "info";    // log_level or [log] level
  std::string log_format = "auto";   // [log] format: auto, text, journal, json
  unsigned threads = 0;
  unsigned storage_threads = 16;  // [iscsi] storage_threads: SCSI commands' file I/O, off the loops
  size_t max_connections = 4096;
  std::chrono::milliseconds login_timeout{15000};
  std::chrono::milliseconds nop_interval{15000};
  std::chrono::milliseconds nop_timeout{30000};
  std::chrono::milliseconds shutdown_grace{2000};
  uint32_t max_recv_data_segment = 262144;
  uint32_t max_burst_length = 16u << 20;
  uint32_t first_burst_length = 256u << 10;
  uint32_t cmd_window = 128;
  // Limits a stranger meets (docs/SECURITY.md); "per ip" = per address group.
  size_t max_connections_per_ip = 64;
  size_t max_logins_in_progress = 256;
  size_t max_logins_in_progress_per_ip = 4;
  size_t reserved_auth_logins = 64;     // login slots only a CHAP login may finish on
  size_t max_sessions = 2048;
  // Of max_sessions, only for CHAP sessions. Unset: 256, but at most
  // max_sessions / 8 (so lowering max_sessions alone keeps room for strangers).
  std::optional<size_t> reserved_auth_sessions;
  size_t max_sessions_per_ip = 16;      // anonymous sessions (discovery included)
  size_t max_discovery_sessions = 128;  // anonymous discovery sessions
  unsigned ipv6_prefix_length = 64;     // IPv6 peers are grouped by this prefix
  uint64_t connection_memory = 32u << 20;  // write data + PDUs parked behind a CmdSN gap
  // iSCSI over TLS: starts only with a certificate and key.
  std::string tls_listen = "127.0.0.1:3261";  // "off" disables
  std::filesystem::path tls_cert, tls_key;
  std::chrono::seconds tls_reload_cooldown{60};
  control::FreeTierConfig free_tier;  // the anonymous tier
  // MetaStore: empty = SQLite file in data_dir; "postgresql://..." = PostgreSQL;
  // anything else = path of a SQLite file.
  std::string database;
  std::string http_listen = "127.0.0.1:8080";  // session API; "off" disables it
  size_t http_threads = 4;                      // [http] threads: handler (epoll) threads
  web::HttpLimits http_limits;                  // [http] limits (docs/SECURITY.md "HTTP")
  web::AdminAuthConfig admin;                   // [admin] dashboard logins (docs/SECURITY.md "Operator dashboard")
  control::Tiers tiers;                         // [tiers.<name>]; default: "standard"
  uint32_t chap_failures_per_minute = 5;         // per (address group, CHAP user)
  uint32_t chap_attempts_per_minute_per_ip = 60;  // per address group
  ingest::IngestLimits catalog;                   // [catalog] limits of `image add` (docs/CATALOG.md)
  FleetConfig fleet;                              // [fleet]
  CephConfig ceph;                                // [ceph] RBD storage for provisioned disks
};

// True when `database` selects the PostgreSQL backend.
bool is_postgres_url(std::string_view database);

// The user's data home: $XDG_DATA_HOME/scsipub or ~/.local/share/scsipub.
std::filesystem::path default_data_dir();
// Reads a TOML file over `cfg`; unknown keys are errors (a typo must not pass silently).
Status load_toml(const std::filesystem::path& file, Config& cfg);
Status validate(Config& cfg);
Status validate_catalog_limits(const ingest::IngestLimits& limits);
Status validate_fleet(const Config& cfg);
Status validate_ceph(const CephConfig& ceph);

inline constexpr size_t kDefaultReservedAuthSessions = 256;
// The ceiling of [free_tier] retain_seconds (MaxTime2Retain's, RFC 7143 13.20).
inline constexpr int64_t kMaxRetainSeconds = 3600;
// The ceiling of [fleet] free_redirect_memory (370..750 bytes each: 150 MB at most).
inline constexpr size_t kMaxFreeRedirectMemory = 200000;
size_t reserved_auth_sessions(const Config& cfg);

net::ServerConfig server_config(const Config& cfg);
// The TargetDirectory settings (without the LimitEvents sink).
control::DirectoryConfig directory_config(const Config& cfg);

}  // namespace scsipub::app
