#include "app/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <limits>
#include <map>
#include <set>

#include "app/log_setup.h"
#include "common/address_group.h"

namespace scsipub::app {

Result<HostPort> parse_host_port(const std::string& text, uint16_t default_port) {
  HostPort hp;
  std::string port_text;
  if (text.empty()) return fail("empty address");
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return fail("unbalanced '[' in " + text);
    hp.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return fail("expected ':' after ']' in " + text);
      port_text = text.substr(close + 2);
    }
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') == colon) {
      hp.host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    } else {
      hp.host = text;  // a bare name, IPv4 or IPv6 address
    }
  }
  if (hp.host.empty()) return fail("missing host in " + text);
  hp.port = default_port;
  if (!port_text.empty()) {
    char* end = nullptr;
    unsigned long p = std::strtoul(port_text.c_str(), &end, 10);
    if (*end != '\0' || p > 65535) return fail("bad port in " + text);
    hp.port = static_cast<uint16_t>(p);
  }
  return hp;
}

std::filesystem::path default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "scsipub";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr && *home != '\0' ? home : "/var/lib") / ".local/share/scsipub";
}

namespace {

template <class T>
bool take(const toml::table& t, std::string_view key, T& out) {
  auto v = t[key].value<T>();
  if (!v) return false;
  out = *v;
  return true;
}

// A count or byte size: present keys must not be negative.
template <class T>
Status take_count(const toml::table& t, std::string_view key, std::string_view where, T& out) {
  int64_t n = 0;
  if (!take(t, key, n)) return ok_status();
  if (n < 0) return fail(fmt::format("{} {} must not be negative", where, key));
  if (static_cast<uint64_t>(n) > std::numeric_limits<T>::max()) {
    return fail(fmt::format("{} {} is too large", where, key));
  }
  out = static_cast<T>(n);
  return ok_status();
}

Status check_keys(const toml::table& t, const std::set<std::string_view>& allowed, std::string_view where) {
  for (const auto& [k, v] : t) {
    if (!allowed.contains(k.str())) return fail(fmt::format("unknown key '{}' in {}", k.str(), where));
  }
  return ok_status();
}

Status load_fleet(const toml::table& f, FleetConfig& out) {
  if (auto s = check_keys(f,
                          {"enabled", "node_id", "iscsi_portal", "tls_portal", "http_address", "heartbeat_ms",
                           "node_timeout_ms", "lease_ms", "free_redirect_above_sessions", "serve_disks",
                           "forget_nodes_after_seconds", "free_redirect_memory", "free_redirect_memory_seconds"},
                          "[fleet]");
      !s) {
    return s;
  }
  take(f, "enabled", out.enabled);
  take(f, "serve_disks", out.serve_disks);
  take(f, "node_id", out.node_id);
  take(f, "iscsi_portal", out.iscsi_portal);
  take(f, "tls_portal", out.tls_portal);
  take(f, "http_address", out.http_address);
  int64_t ms = 0;
  for (auto [key, field] : {std::pair{"heartbeat_ms", &out.heartbeat}, std::pair{"node_timeout_ms", &out.node_timeout},
                            std::pair{"lease_ms", &out.lease}}) {
    if (!f.contains(key)) continue;
    if (auto s = take_count(f, key, "[fleet]", ms); !s) return s;
    *field = std::chrono::milliseconds(ms);
  }
  if (f.contains("forget_nodes_after_seconds")) {
    if (auto s = take_count(f, "forget_nodes_after_seconds", "[fleet]", ms); !s) return s;
    out.forget_nodes_after = std::chrono::seconds(ms);
  }
  if (auto s = take_count(f, "free_redirect_memory", "[fleet]", out.free_redirect_memory.max_entries); !s) return s;
  if (f.contains("free_redirect_memory_seconds")) {
    if (auto s = take_count(f, "free_redirect_memory_seconds", "[fleet]", ms); !s) return s;
    out.free_redirect_memory.remember = std::chrono::seconds(ms);
  }
  return take_count(f, "free_redirect_above_sessions", "[fleet]", out.free_redirect_above_sessions);
}

Status load_tiers(const toml::table& tiers, control::Tiers& out) {
  std::map<std::string, control::Tier, std::less<>> parsed;
  for (const auto& [name, node] : tiers) {
    const toml::table* t = node.as_table();
    std::string where = fmt::format("[tiers.{}]", name.str());
    if (t == nullptr) return fail(where + " must be a table");
    if (auto s = check_keys(*t,
                            {"max_disks", "max_luns_per_disk", "max_disk_size", "blank_size", "write_limit",
                             "max_sessions_per_disk", "expiry_seconds"},
                            where);
        !s)
      return s;
    control::Tier tier;
    int64_t n = 0;
    auto non_negative = [&](std::string_view key) -> Result<bool> {
      if (!take(*t, key, n)) return false;
      if (n < 0) return fail(fmt::format("{} {} must not be negative", where, key));
      return true;
    };
    for (std::string_view key : {"max_disks", "max_luns_per_disk", "max_disk_size", "blank_size", "write_limit",
                                 "max_sessions_per_disk", "expiry_seconds"}) {
      auto present = non_negative(key);
      if (!present.ok()) return fail(present.error().message);
      if (!present.value()) continue;
      if (key == "max_disks") tier.max_disks = static_cast<uint32_t>(std::min<int64_t>(n, UINT32_MAX));
      if (key == "max_luns_per_disk") tier.max_luns_per_disk = static_cast<uint32_t>(std::min<int64_t>(n, UINT32_MAX));
      if (key == "max_disk_size") tier.max_disk_size = static_cast<uint64_t>(n);
      if (key == "blank_size") tier.blank_size = static_cast<uint64_t>(n);
      if (key == "write_limit") tier.write_limit = static_cast<uint64_t>(n);
      if (key == "max_sessions_per_disk") {
        tier.max_sessions_per_disk = static_cast<uint32_t>(std::min<int64_t>(n, UINT32_MAX));
      }
      if (key == "expiry_seconds") tier.expiry = std::chrono::seconds(n);
    }
    if (auto s = control::validate_tier(name.str(), tier); !s) return s;
    parsed.emplace(std::string(name.str()), tier);
  }
  if (parsed.empty()) return fail("[tiers] defines no tier");
  out = control::Tiers(std::move(parsed));
  return ok_status();
}

// [catalog]: the limits an ingest (`scsipub image add`, the operator API) runs under.
Status load_catalog_limits(const toml::table& c, ingest::IngestLimits& out) {
  if (auto s = check_keys(c,
                          {"max_virtual_size", "max_download_bytes", "converter_timeout_seconds", "converter_memory",
                           "reserve_free_bytes", "download_connect_timeout_seconds", "download_stall_timeout_seconds"},
                          "[catalog]");
      !s)
    return s;
  for (auto [key, field] : {std::pair{"max_virtual_size", &out.max_virtual_size},
                            {"max_download_bytes", &out.max_download_bytes},
                            {"converter_memory", &out.converter_memory},
                            {"reserve_free_bytes", &out.reserve_free_bytes}}) {
    if (auto s = take_count(c, key, "[catalog]", *field); !s) return s;
  }
  for (auto [key, field] : {std::pair{"converter_timeout_seconds", &out.converter_timeout},
                            {"download_connect_timeout_seconds", &out.download_connect_timeout},
                            {"download_stall_timeout_seconds", &out.download_stall_timeout}}) {
    uint64_t seconds = static_cast<uint64_t>(field->count());
    if (auto s = take_count(c, key, "[catalog]", seconds); !s) return s;
    *field = std::chrono::seconds(static_cast<int64_t>(std::min<uint64_t>(seconds, INT32_MAX)));
  }
  return ok_status();
}

}  // namespace

Status validate_catalog_limits(const ingest::IngestLimits& l) {
  constexpr uint64_t kMiB = 1ull << 20;
  if (l.max_virtual_size < kMiB || l.max_virtual_size > (1ull << 50)) {
    return fail("[catalog] max_virtual_size must be within 1 MiB..1 PiB");
  }
  if (l.max_download_bytes < kMiB) return fail("[catalog] max_download_bytes must be at least 1 MiB");
  // qemu-img aborts at start below a few hundred MiB of address space (measured: 256 MiB fails).
  if (l.converter_memory < 512 * kMiB) return fail("[catalog] converter_memory must be at least 512 MiB");
  if (l.converter_timeout.count() < 1 || l.converter_timeout.count() > 7 * 86400) {
    return fail("[catalog] converter_timeout_seconds must be within 1..604800");
  }
  if (l.download_connect_timeout.count() < 1 || l.download_connect_timeout.count() > 600) {
    return fail("[catalog] download_connect_timeout_seconds must be within 1..600");
  }
  if (l.download_stall_timeout.count() < 1 || l.download_stall_timeout.count() > 3600) {
    return fail("[catalog] download_stall_timeout_seconds must be within 1..3600");
  }
  return ok_status();
}

bool is_postgres_url(std::string_view database) {
  return database.starts_with("postgresql://") || database.starts_with("postgres://");
}

Status load_toml(const std::filesystem::path& file, Config& cfg) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return fail(fmt::format("{}: {}", file.string(), e.description()));
  }
  if (auto s = check_keys(root,
                          {"data_dir", "images_dir", "log_level", "database", "iscsi", "http", "auth", "free_tier",
                           "tiers", "tls", "admin", "catalog", "fleet", "ceph", "log"},
                          "config");
      !s)
    return s;
  std::string text;
  if (take(root, "data_dir", text)) cfg.data_dir = text;
  take(root, "database", cfg.database);
  if (const toml::table* h = root["http"].as_table()) {
    if (auto s = check_keys(*h,
                            {"listen", "threads", "max_connections", "max_connections_per_ip", "max_header_bytes",
                             "max_headers", "idle_timeout_seconds", "request_timeout_ms"},
                            "[http]");
        !s) {
      return s;
    }
    take(*h, "listen", cfg.http_listen);
    web::HttpLimits& l = cfg.http_limits;
    int64_t n = 0;
    for (std::string_view key : {"threads", "max_connections", "max_connections_per_ip", "max_header_bytes",
                                 "max_headers", "idle_timeout_seconds", "request_timeout_ms"}) {
      if (!take(*h, key, n)) continue;
      if (n < 0) return fail(fmt::format("[http] {} must not be negative", key));
      const auto u = static_cast<size_t>(n);
      if (key == "threads") cfg.http_threads = u;
      if (key == "max_connections") l.max_connections = u;
      if (key == "max_connections_per_ip") l.max_connections_per_ip = u;
      if (key == "max_header_bytes") l.max_header_bytes = u;
      if (key == "max_headers") l.max_headers = u;
      if (key == "idle_timeout_seconds") l.idle_timeout = std::chrono::seconds(n);
      if (key == "request_timeout_ms") l.request_timeout = std::chrono::milliseconds(n);
    }
  }
  if (const toml::table* a = root["admin"].as_table()) {
    if (auto s = check_keys(*a, {"max_sessions", "session_ttl_seconds", "trust_forwarded_proto"}, "[admin]"); !s) {
      return s;
    }
    int64_t n = 0;
    if (take(*a, "max_sessions", n)) {
      if (n < 0) return fail("[admin] max_sessions must not be negative");
      cfg.admin.max_sessions = static_cast<size_t>(n);
    }
    if (take(*a, "session_ttl_seconds", n)) cfg.admin.session_ttl = std::chrono::seconds(n);
    take(*a, "trust_forwarded_proto", cfg.admin.trust_forwarded_proto);
  }
  if (const toml::table* a = root["auth"].as_table()) {
    if (auto s = check_keys(*a, {"chap_failures_per_minute", "chap_attempts_per_minute_per_ip"}, "[auth]"); !s) {
      return s;
    }
    if (auto s = take_count(*a, "chap_failures_per_minute", "[auth]", cfg.chap_failures_per_minute); !s) return s;
    if (auto s = take_count(*a, "chap_attempts_per_minute_per_ip", "[auth]", cfg.chap_attempts_per_minute_per_ip);
        !s) {
      return s;
    }
  }
  if (const toml::table* t = root["tls"].as_table()) {
    if (auto s = check_keys(*t, {"listen", "cert", "key", "reload_cooldown_seconds"}, "[tls]"); !s) return s;
    take(*t, "listen", cfg.tls_listen);
    if (take(*t, "cert", text)) cfg.tls_cert = text;
    if (take(*t, "key", text)) cfg.tls_key = text;
    int64_t n = 0;
    if (take(*t, "reload_cooldown_seconds", n)) cfg.tls_reload_cooldown = std::chrono::seconds(n);
  }
  if (const toml::table* f = root["fleet"].as_table()) {
    if (auto s = load_fleet(*f, cfg.fleet); !s) return s;
  }
  if (const toml::table* c = root["ceph"].as_table()) {
    if (auto s = check_keys(*c, {"conf", "pool", "user", "keyring", "image_prefix", "op_timeout_seconds",
                               "sweep_interval_seconds", "sweep_grace_seconds"},
                           "[ceph]");
        !s) {
      return s;
    }
    take(*c, "conf", cfg.ceph.conf);
    take(*c, "pool", cfg.ceph.pool);
    take(*c, "user", cfg.ceph.user);
    take(*c, "keyring", cfg.ceph.keyring);
    take(*c, "image_prefix", cfg.ceph.image_prefix);
    if (auto s = take_count(*c, "op_timeout_seconds", "[ceph]", cfg.ceph.op_timeout_seconds); !s) return s;
    if (auto s = take_count(*c, "sweep_interval_seconds", "[ceph]", cfg.ceph.sweep_interval_seconds); !s) return s;
    if (auto s = take_count(*c, "sweep_grace_seconds", "[ceph]", cfg.ceph.sweep_grace_seconds); !s) return s;
    if (cfg.ceph.pool.empty()) return fail("[ceph] needs a pool");
  }
  if (const toml::table* c = root["catalog"].as_table()) {
    if (auto s = load_catalog_limits(*c, cfg.catalog); !s) return s;
  }
  if (const toml::table* t = root["tiers"].as_table()) {
    if (auto s = load_tiers(*t, cfg.tiers); !s) return s;
  }
  if (take(root, "images_dir", text)) cfg.images_dir = text;
  take(root, "log_level", cfg.log_level);
  if (const toml::table* l = root["log"].as_table()) {
    if (auto s = check_keys(*l, {"level", "format"}, "[log]"); !s) return s;
    if (root.contains("log_level") && l->contains("level")) return fail("log_level and [log] level: set one");
    take(*l, "level", cfg.log_level);
    take(*l, "format", cfg.log_format);
  }
  if (const toml::table* i = root["iscsi"].as_table()) {
    if (auto s = check_keys(*i,
                            {"listen", "public_host", "threads", "max_connections", "login_timeout_ms",
                             "nop_interval_ms", "nop_timeout_ms", "shutdown_grace_ms", "max_recv_data_segment",
                             "max_burst_length", "first_burst_length", "cmd_window", "max_connections_per_ip",
                             "max_logins_in_progress", "max_sessions", "connection_memory",
                             "max_logins_in_progress_per_ip", "reserved_auth_logins", "reserved_auth_sessions",
                             "max_sessions_per_ip", "max_discovery_sessions", "ipv6_prefix_length",
                             "storage_threads"},
                            "[iscsi]");
        !s)
      return s;
    take(*i, "listen", cfg.iscsi_listen);
    take(*i, "public_host", cfg.public_host);
    int64_t n = 0;
    if (take(*i, "threads", n)) cfg.threads = static_cast<unsigned>(n);
    if (take(*i, "storage_threads", n)) cfg.storage_threads = static_cast<unsigned>(n);
    if (take(*i, "max_connections", n)) cfg.max_connections = static_cast<size_t>(n);
    if (take(*i, "login_timeout_ms", n)) cfg.login_timeout = std::chrono::milliseconds(n);
    if (take(*i, "nop_interval_ms", n)) cfg.nop_interval = std::chrono::milliseconds(n);
    if (take(*i, "nop_timeout_ms", n)) cfg.nop_timeout = std::chrono::milliseconds(n);
    if (take(*i, "shutdown_grace_ms", n)) cfg.shutdown_grace = std::chrono::milliseconds(n);
    if (take(*i, "max_recv_data_segment", n)) cfg.max_recv_data_segment = static_cast<uint32_t>(n);
    if (take(*i, "cmd_window", n)) cfg.cmd_window = static_cast<uint32_t>(n);
    if (take(*i, "max_burst_length", n)) cfg.max_burst_length = static_cast<uint32_t>(n);
    if (take(*i, "first_burst_length", n)) cfg.first_burst_length = static_cast<uint32_t>(n);
    if (take(*i, "max_connections_per_ip", n)) cfg.max_connections_per_ip = static_cast<size_t>(n);
    if (take(*i, "max_logins_in_progress", n)) cfg.max_logins_in_progress = static_cast<size_t>(n);
    if (take(*i, "max_sessions", n)) cfg.max_sessions = static_cast<size_t>(n);
    if (take(*i, "connection_memory", n)) cfg.connection_memory = static_cast<uint64_t>(n);
    if (i->contains("reserved_auth_sessions")) {
      size_t reserved = 0;
      if (auto s = take_count(*i, "reserved_auth_sessions", "[iscsi]", reserved); !s) return s;
      cfg.reserved_auth_sessions = reserved;
    }
    for (auto [key, field] : {std::pair{"max_logins_in_progress_per_ip", &cfg.max_logins_in_progress_per_ip},
                              {"reserved_auth_logins", &cfg.reserved_auth_logins},
                              {"max_sessions_per_ip", &cfg.max_sessions_per_ip},
                              {"max_discovery_sessions", &cfg.max_discovery_sessions}}) {
      if (auto s = take_count(*i, key, "[iscsi]", *field); !s) return s;
    }
    if (auto s = take_count(*i, "ipv6_prefix_length", "[iscsi]", cfg.ipv6_prefix_length); !s) return s;
  }
  if (const toml::table* f = root["free_tier"].as_table()) {
    if (auto s = check_keys(*f, {"blank_size", "blank_write_limit", "image_write_limit", "multi_images",
                                 "overlay_bytes_per_ip", "overlay_bytes_total", "overlay_dir", "retain_seconds"},
                            "[free_tier]");
        !s)
      return s;
    if (auto s = take_count(*f, "overlay_bytes_total", "[free_tier]", cfg.free_tier.overlay_bytes_total); !s) {
      return s;
    }
    if (take(*f, "overlay_dir", text)) cfg.overlay_dir = text;
    if (f->contains("retain_seconds")) {
      uint32_t seconds = 0;
      if (auto s = take_count(*f, "retain_seconds", "[free_tier]", seconds); !s) return s;
      cfg.free_tier.retain = std::chrono::seconds(seconds);
    }
    int64_t n = 0;
    if (take(*f, "blank_size", n)) cfg.free_tier.blank_size = static_cast<uint64_t>(n);
    if (take(*f, "blank_write_limit", n)) cfg.free_tier.blank_write_limit = static_cast<uint64_t>(n);
    if (take(*f, "image_write_limit", n)) cfg.free_tier.image_write_limit = static_cast<uint64_t>(n);
    if (take(*f, "overlay_bytes_per_ip", n)) cfg.free_tier.overlay_bytes_per_ip = static_cast<uint64_t>(n);
    if (const toml::array* a = (*f)["multi_images"].as_array()) {
      cfg.free_tier.multi_images.clear();
      for (const auto& el : *a) {
        if (auto s = el.value<std::string>()) cfg.free_tier.multi_images.push_back(*s);
      }
    }
  }
  return ok_status();
}

namespace {
// Bounds that keep the HTTP limits meaningful: a limit of 0 would refuse
// everyone, and one past these would no longer bound anything useful.
Status validate_http(const Config& cfg) {
  const web::HttpLimits& l = cfg.http_limits;
  if (cfg.http_threads < 1 || cfg.http_threads > 64) return fail("[http] threads must be within 1..64");
  if (l.max_connections < 1 || l.max_connections > 65536) return fail("[http] max_connections must be within 1..65536");
  if (l.max_connections_per_ip < 1 || l.max_connections_per_ip > l.max_connections) {
    return fail("[http] max_connections_per_ip must be within 1..max_connections");
  }
  if (l.max_header_bytes < 1024 || l.max_header_bytes > (1u << 20)) {
    return fail("[http] max_header_bytes must be within 1024..1048576");
  }
  if (l.max_headers < 8 || l.max_headers > 1000) return fail("[http] max_headers must be within 8..1000");
  if (l.idle_timeout.count() < 1 || l.idle_timeout.count() > 3600) {
    return fail("[http] idle_timeout_seconds must be within 1..3600");
  }
  if (l.request_timeout.count() < 1000 || l.request_timeout.count() > 3600000) {
    return fail("[http] request_timeout_ms must be within 1000..3600000");
  }
  if (cfg.admin.max_sessions < 1 || cfg.admin.max_sessions > 10000) {
    return fail("[admin] max_sessions must be within 1..10000");
  }
  if (cfg.admin.session_ttl.count() < 60 || cfg.admin.session_ttl.count() > 30 * 86400) {
    return fail("[admin] session_ttl_seconds must be within 60..2592000 (30 days)");
  }
  return ok_status();
}
}  // namespace

Status validate_ceph(const CephConfig& c) {
  if (!c.enabled()) return ok_status();
#ifndef SCSIPUB_WITH_RBD
  return fail("[ceph] is configured but this build has no Ceph RBD support (build with librbd-dev installed)");
#else
  // Names go into RBD image names and cephx ids: keep them to a safe set.
  auto plain = [](std::string_view v, bool allow_empty) {
    if (v.empty()) return allow_empty;
    if (v.size() > 64) return false;
    for (char ch : v) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '_' || ch == '-';
      if (!ok) return false;
    }
    return true;
  };
  if (!plain(c.pool, false)) return fail("[ceph] pool must be 1..64 characters of [A-Za-z0-9._-]");
  if (!plain(c.user, false)) return fail("[ceph] user must be 1..64 characters of [A-Za-z0-9._-] (no \"client.\")");
  if (!plain(c.image_prefix, true)) return fail("[ceph] image_prefix must be 0..64 characters of [A-Za-z0-9._-]");
  if (c.op_timeout_seconds < 1 || c.op_timeout_seconds > 600) return fail("[ceph] op_timeout_seconds must be within 1..600");
  if (c.sweep_interval_seconds != 0 && (c.sweep_interval_seconds < 60 || c.sweep_interval_seconds > 86400)) {
    return fail("[ceph] sweep_interval_seconds must be 0 (off) or within 60..86400");
  }
  // The grace covers a disk being created on any node: its images exist a
  // few cluster operations before they are open and their record stored
  // (serve raises it to 3 x op_timeout_seconds when that is longer).
  if (c.sweep_grace_seconds < 300 || c.sweep_grace_seconds > 7 * 86400) {
    return fail("[ceph] sweep_grace_seconds must be within 300..604800");
  }
  // The sweep recognises scsipub's images by name alone: without a prefix it
  // could take another user's "disk-<id>-lun<N>" in a shared pool.
  if (c.sweep_interval_seconds != 0 && c.image_prefix.empty()) {
    return fail("[ceph] the orphan sweep needs an image_prefix (or sweep_interval_seconds = 0)");
  }
  std::error_code ec;
  if (!c.conf.empty() && !std::filesystem::is_regular_file(c.conf, ec)) {
    return fail(fmt::format("[ceph] conf: {} is not a readable file", c.conf));
  }
  if (!c.keyring.empty() && !std::filesystem::is_regular_file(c.keyring, ec)) {
    return fail(fmt::format("[ceph] keyring: {} is not a readable file", c.keyring));
  }
  return ok_status();
#endif
}

Status validate(Config& cfg) {
  if (cfg.data_dir.empty()) cfg.data_dir = default_data_dir();
  if (auto s = validate_ceph(cfg.ceph); !s) return s;
  if (cfg.images_dir.empty()) cfg.images_dir = cfg.data_dir / "images";
  if (cfg.overlay_dir.empty()) cfg.overlay_dir = cfg.data_dir / "overlays";
  if (auto s = validate_catalog_limits(cfg.catalog); !s) return s;
  if (auto s = validate_log_settings(cfg.log_level, cfg.log_format); !s) return s;
  if (auto hp = parse_host_port(cfg.iscsi_listen, 3260); !hp) return fail("--iscsi-listen: " + hp.error().message);
  if (!cfg.public_host.empty()) {
    if (auto hp = parse_host_port(cfg.public_host, 3260); !hp) return fail("--public-host: " + hp.error().message);
  }
  if (cfg.max_recv_data_segment < 512 || cfg.max_recv_data_segment > 16777215) {
    return fail("max_recv_data_segment must be within 512..16777215");
  }
  if (cfg.cmd_window < 1 || cfg.cmd_window > 4096) return fail("cmd_window must be within 1..4096");
  // 0 runs commands on the event loops; past 1024 threads cost more than they isolate.
  if (cfg.storage_threads > 1024) return fail("[iscsi] storage_threads must be within 0..1024");
  if (cfg.max_burst_length < 512 || cfg.max_burst_length > (16u << 20)) {
    return fail("max_burst_length must be within 512..16777216");
  }
  if (cfg.first_burst_length < 512 || cfg.first_burst_length > cfg.max_burst_length) {
    return fail("first_burst_length must be within 512..max_burst_length");
  }
  // One write of the largest transfer we advertise must fit, or it would wait forever.
  if (cfg.connection_memory < (16u << 20)) return fail("connection_memory must be at least 16 MiB");
  for (auto [name, value] : {std::pair{"max_connections", cfg.max_connections},
                             {"max_connections_per_ip", cfg.max_connections_per_ip},
                             {"max_logins_in_progress", cfg.max_logins_in_progress},
                             {"max_sessions", cfg.max_sessions},
                             {"max_logins_in_progress_per_ip", cfg.max_logins_in_progress_per_ip},
                             {"max_sessions_per_ip", cfg.max_sessions_per_ip},
                             {"max_discovery_sessions", cfg.max_discovery_sessions}}) {
    if (value < 1) return fail(fmt::format("{} must be at least 1", name));
  }
  // With every slot reserved, only CHAP sessions are served: allowed, but no more than that.
  if (cfg.reserved_auth_sessions && *cfg.reserved_auth_sessions > cfg.max_sessions) {
    return fail(fmt::format("reserved_auth_sessions ({}) must not exceed max_sessions ({})",
                            *cfg.reserved_auth_sessions, cfg.max_sessions));
  }
  if (cfg.ipv6_prefix_length < kMinIpv6PrefixLength || cfg.ipv6_prefix_length > kMaxIpv6PrefixLength) {
    return fail(fmt::format("ipv6_prefix_length must be within {}..{}", kMinIpv6PrefixLength, kMaxIpv6PrefixLength));
  }
  if (cfg.login_timeout.count() < 1000) return fail("login_timeout_ms must be at least 1000");
  if (cfg.tls_listen != "off") {
    if (auto hp = parse_host_port(cfg.tls_listen, 3261); !hp) return fail("--tls-listen: " + hp.error().message);
  }
  if (cfg.tls_cert.empty() != cfg.tls_key.empty()) return fail("--tls-cert and --tls-key go together");
  if (cfg.tls_reload_cooldown.count() < 1) return fail("tls reload_cooldown_seconds must be at least 1");
  if (cfg.http_listen != "off") {
    if (auto hp = parse_host_port(cfg.http_listen, 8080); !hp) return fail("--http-listen: " + hp.error().message);
  }
  if (auto s = validate_http(cfg); !s) return s;
  if (cfg.chap_failures_per_minute < 1) return fail("chap_failures_per_minute must be at least 1");
  if (cfg.chap_attempts_per_minute_per_ip < 1) return fail("chap_attempts_per_minute_per_ip must be at least 1");
  if (cfg.free_tier.blank_size < 1u << 20 || cfg.free_tier.blank_size % 512 != 0) {
    return fail("blank_size must be a multiple of 512 and at least 1 MiB");
  }
  if (cfg.free_tier.multi_images.size() == 1 || cfg.free_tier.multi_images.size() > 2) {
    return fail("multi_images names exactly two images");
  }
  // Longer than MaxTime2Retain's ceiling (RFC 7143 13.20: 3600 s) would only
  // hold budget for initiators that gave up long ago.
  if (cfg.free_tier.retain.count() < 0 || cfg.free_tier.retain.count() > kMaxRetainSeconds) {
    return fail(fmt::format("[free_tier] retain_seconds must be within 0..{}", kMaxRetainSeconds));
  }
  return validate_fleet(cfg);
}

// Bounds that keep the fleet's timing sane: the lease must outlast three
// heartbeats (a renewal every heartbeat, a margin of one, and one renewal
// that may get lost), a node must miss more than one heartbeat to be taken
// for dead, and nothing may be so long that a dead node holds its disks
// for more than an hour.
Status validate_fleet(const Config& cfg) {
  const FleetConfig& f = cfg.fleet;
  if (!f.enabled) return ok_status();
  if (!is_postgres_url(cfg.database)) {
    return fail("[fleet] enabled needs a PostgreSQL database (database = \"postgresql://...\"): "
                "the nodes share their state through it");
  }
  if (f.node_id.empty() || f.node_id.size() > 64) return fail("[fleet] node_id must be 1..64 characters");
  for (char c : f.node_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return fail("[fleet] node_id may only hold letters, digits, '.', '_' and '-'");
  }
  if (f.iscsi_portal.empty()) return fail("[fleet] iscsi_portal is required: where initiators reach this node");
  if (auto hp = parse_host_port(f.iscsi_portal, 3260); !hp) return fail("[fleet] iscsi_portal: " + hp.error().message);
  if (!f.tls_portal.empty()) {
    if (auto hp = parse_host_port(f.tls_portal, 3261); !hp) return fail("[fleet] tls_portal: " + hp.error().message);
  }
  if (!f.http_address.empty()) {
    if (auto hp = parse_host_port(f.http_address, 8080); !hp) {
      return fail("[fleet] http_address: " + hp.error().message);
    }
  }
  if (f.heartbeat.count() < 100 || f.heartbeat.count() > 60000) {
    return fail("[fleet] heartbeat_ms must be within 100..60000");
  }
  if (f.node_timeout <= f.heartbeat || f.node_timeout.count() > 3600000) {
    return fail("[fleet] node_timeout_ms must exceed heartbeat_ms and be at most 3600000");
  }
  if (f.lease <= 3 * f.heartbeat || f.lease.count() > 3600000) {
    return fail("[fleet] lease_ms must exceed 3 x heartbeat_ms and be at most 3600000");
  }
  // A year at most keeps the age far from overflow in ms; a minute at least
  // (and more than a node timeout) never forgets a node that merely paused.
  if (const auto forget = f.forget_nodes_after;
      forget.count() != 0 && (forget.count() < 60 || forget.count() > 31536000 || forget <= f.node_timeout)) {
    return fail("[fleet] forget_nodes_after_seconds must be 0 (never) or within 60..31536000 and exceed node_timeout_ms");
  }
  if (f.free_redirect_above_sessions > cfg.max_sessions) {
    return fail("[fleet] free_redirect_above_sessions must be at most max_sessions (0 = off)");
  }
  if (f.free_redirect_memory.max_entries > kMaxFreeRedirectMemory) {
    return fail(fmt::format("[fleet] free_redirect_memory must be at most {} (0 = off)", kMaxFreeRedirectMemory));
  }
  if (f.free_redirect_memory.remember.count() < 1 || f.free_redirect_memory.remember.count() > 604800) {
    return fail("[fleet] free_redirect_memory_seconds must be within 1..604800");
  }
  return ok_status();
}

size_t reserved_auth_sessions(const Config& cfg) {
  if (cfg.reserved_auth_sessions) return *cfg.reserved_auth_sessions;
  return std::min(kDefaultReservedAuthSessions, cfg.max_sessions / 8);
}

net::ServerConfig server_config(const Config& cfg) {
  net::ServerConfig s;
  auto hp = parse_host_port(cfg.iscsi_listen, 3260);
  s.listen_host = hp->host;
  s.listen_port = hp->port;
  s.threads = cfg.threads;
  s.storage_threads = cfg.storage_threads;
  s.max_connections = cfg.max_connections;
  s.max_connections_per_ip = cfg.max_connections_per_ip;
  s.max_logins_in_progress = cfg.max_logins_in_progress;
  s.max_logins_in_progress_per_ip = cfg.max_logins_in_progress_per_ip;
  s.reserved_auth_logins = cfg.reserved_auth_logins;
  s.ipv6_prefix_length = cfg.ipv6_prefix_length;
  auto& c = s.connection;
  c.login.max_recv_dsl = cfg.max_recv_data_segment;
  c.login.max_burst_length = cfg.max_burst_length;
  c.login.first_burst_length = cfg.first_burst_length;
  c.max_sessions = cfg.max_sessions;
  c.reserved_auth_sessions = reserved_auth_sessions(cfg);
  c.max_sessions_per_ip = cfg.max_sessions_per_ip;
  c.max_discovery_sessions = cfg.max_discovery_sessions;
  // The budget covers write data in flight and PDUs parked behind a CmdSN
  // gap; the read buffer and outbox are bounded by the segment sizes.
  c.engine.max_buffered_bytes = cfg.connection_memory - cfg.connection_memory / 8;
  c.max_stash_bytes = cfg.connection_memory / 8;
  c.cmd_window = cfg.cmd_window;
  c.login_timeout = cfg.login_timeout;
  c.nop_interval = cfg.nop_interval;
  c.nop_timeout = cfg.nop_timeout;
  return s;
}

control::DirectoryConfig directory_config(const Config& cfg) {
  control::DirectoryConfig d;
  d.overlay_dir = cfg.overlay_dir;
  d.public_host = cfg.public_host;
  d.free_tier = cfg.free_tier;
  d.chap_throttle.per_user = cfg.chap_failures_per_minute;
  d.chap_throttle.per_group = cfg.chap_attempts_per_minute_per_ip;
  d.free_redirects = cfg.fleet.free_redirect_memory;
  return d;
}

}  // namespace scsipub::app
