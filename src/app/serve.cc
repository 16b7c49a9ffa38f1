#include "app/serve.h"

#include <signal.h>
#include <sys/resource.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include "app/backup_cli.h"
#include "app/image_import.h"
#include "app/disk_storage_open.h"
#include "app/meta_store_open.h"
#include "common/data_dir_lock.h"
#include "common/memory_release.h"
#include "control/catalog.h"
#include "control/catalog_jobs.h"
#include "control/catalog_watcher.h"
#include "control/clock.h"
#include "control/disk_service_impl.h"
#include "control/fleet_disks.h"
#include "control/fleet_keeper.h"
#include "control/fleet_placement.h"
#include "control/janitor.h"
#include "control/live_operator_console.h"
#include "control/provisioned_disks.h"
#include "control/random_source.h"
#include "control/storage_sweeper.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "db/fleet_store.h"
#include "db/tokens.h"
#include "iscsi/login_journal.h"
#include "iscsi/session_registry.h"
#include "iscsi/traffic_metrics.h"
#include "net/iscsi_server.h"
#include "net/tls_certificates.h"
#include "web/api_server.h"
#include "web/site_info.h"
#include "web/metrics_text.h"

namespace scsipub::app {
namespace {

constexpr auto kJanitorInterval = std::chrono::minutes(10);

void sweep(control::Janitor& janitor, const control::TargetDirectory& dir, std::chrono::seconds min_age) {
  auto r = janitor.sweep([&](std::string_view id) { return dir.overlay_live(id); }, min_age);
  if (!r.ok()) {
    spdlog::warn("janitor: {}", r.error().message);
  } else if (r->removed != 0 || r->failed != 0) {
    spdlog::info("janitor: removed {} orphaned overlay file(s), {} failed", r->removed, r->failed);
  }
}

// Rescans after a directory event and says what changed.
void refresh_catalog(control::Catalog& catalog, control::TargetDirectory& directory) {
  const auto before = catalog.snapshot();
  if (auto st = catalog.rescan(); !st) {
    spdlog::warn("catalog: {}", st.error().message);
    return;
  }
  const auto after = catalog.snapshot();
  if (after == before) return;
  directory.catalog_changed();
  auto has = [](const std::vector<control::CatalogEntry>& v, const control::CatalogEntry& e) {
    return std::any_of(v.begin(), v.end(), [&](const auto& x) { return x.name == e.name; });
  };
  for (const auto& e : *after) {
    if (!has(*before, e)) {
      spdlog::info("catalog: added {} ({} bytes)", control::image_target(e.name), e.size_bytes);
    } else if (std::none_of(before->begin(), before->end(), [&](const auto& x) { return x == e; })) {
      spdlog::info("catalog: changed {} (sessions on the old file keep it until they log out)",
                   control::image_target(e.name));
    }
  }
  for (const auto& e : *before) {
    if (!has(*after, e)) spdlog::info("catalog: removed {} (new logins are refused)", control::image_target(e.name));
  }
}

// Temporary files of an `image add` that was killed; one still being
// written is younger than this (its mtime moves with every write).
void remove_stale_ingest_files(const std::filesystem::path& images_dir) {
  constexpr auto kStaleAfter = std::chrono::hours(1);
  std::error_code ec;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& e : std::filesystem::directory_iterator(images_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(".") || name.find(".ingest-") == std::string::npos) continue;
    std::error_code fec;
    const auto mtime = e.last_write_time(fec);
    if (fec || now - mtime < kStaleAfter) continue;
    if (std::filesystem::remove(e.path(), fec)) spdlog::info("catalog: removed stale {}", e.path().string());
  }
}

// How often retained free-tier overlays are checked for the end of their
// grace period: a file outlives its grace by at most this much.
constexpr auto kRetainTick = std::chrono::seconds(2);

// Blocks until SIGTERM or SIGINT, sweeping overlays and expired disks every
// kJanitorInterval and retained overlays every kRetainTick.
int wait_for_signal(const sigset_t& set, control::Janitor& janitor, control::TargetDirectory& dir,
                    control::ProvisionedDisks& disks, const control::Clock& clock, bool retaining) {
  const auto tick = retaining ? std::chrono::duration_cast<std::chrono::seconds>(kRetainTick)
                              : std::chrono::duration_cast<std::chrono::seconds>(kJanitorInterval);
  auto next_sweep = clock.steady_now() + kJanitorInterval;
  for (;;) {
    timespec ts{};
    ts.tv_sec = tick.count();
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) return sig;
    if (sig < 0 && errno == EAGAIN) {
      dir.expire_retained();
      if (clock.steady_now() < next_sweep) continue;
      next_sweep = clock.steady_now() + kJanitorInterval;
      sweep(janitor, dir, std::chrono::minutes(2));
      disks.remove_expired(std::chrono::floor<std::chrono::seconds>(clock.wall_now()));
    }
  }
}

std::string join_host_port(const HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", hp.host, hp.port);
  return fmt::format("{}:{}", hp.host, hp.port);
}

// "host:port" initiators dial: the public host when configured, else the listener.
std::string plain_portal(const Config& cfg) {
  auto listen = parse_host_port(cfg.iscsi_listen, 3260);
  HostPort hp = cfg.public_host.empty() ? listen.value() : parse_host_port(cfg.public_host, listen->port).value();
  return join_host_port(hp);
}

// The fleet rows of /metrics, from the keeper's last snapshot.
web::ServerGauges::Fleet fleet_gauges(const control::FleetKeeper& keeper) {
  const std::string& self = keeper.settings().self.id;
  return keeper.read([&self](const control::FleetSnapshot& s) {
    web::ServerGauges::Fleet f;
    f.connected = s.connected;
    for (const auto& n : s.nodes) {
      f.nodes.push_back({n.id, n.alive, static_cast<double>(s.db_now_ms - n.heartbeat_ms) / 1000.0, n.sessions});
    }
    for (const auto& l : s.leases) {
      if (l.owner_node.empty() || l.expires_ms <= s.db_now_ms) {
        ++f.leases_unowned;
      } else {
        ++f.leases_owned;
        if (l.owner_node == self) ++f.leases_held_here;
      }
    }
    return f;
  });
}

// This node's identity and timing in a fleet, from [fleet].
control::FleetSettings fleet_settings(const Config& cfg) {
  control::FleetSettings s;
  s.self.id = cfg.fleet.node_id;
  s.self.iscsi_portal = cfg.fleet.iscsi_portal;
  s.self.tls_portal = cfg.fleet.tls_portal;
  s.self.http_address = cfg.fleet.http_address;
  s.self.version = SCSIPUB_VERSION;
  s.heartbeat = cfg.fleet.heartbeat;
  s.node_timeout = cfg.fleet.node_timeout;
  s.lease = cfg.fleet.lease;
  s.serve_disks = cfg.fleet.serve_disks;
  s.forget_nodes_after = cfg.fleet.forget_nodes_after;
  return s;
}

// The TLS portal: the public host's name with the TLS listener's port.
std::string tls_portal(const Config& cfg, uint16_t tls_port) {
  auto listen = parse_host_port(cfg.tls_listen, 3261);
  HostPort hp = cfg.public_host.empty() ? listen.value() : parse_host_port(cfg.public_host, tls_port).value();
  hp.port = tls_port;
  return join_host_port(hp);
}

// The TLS side of the listener, or nothing (with the reason logged) when it
// cannot start: the plain listener serves either way.
struct TlsSetup {
  std::unique_ptr<net::CertificateReloader> reloader;
  std::optional<net::TlsListenConfig> listen;
};

TlsSetup setup_tls(const Config& cfg) {
  TlsSetup t;
  if (cfg.tls_listen == "off") return t;
  if (cfg.tls_cert.empty()) {
    spdlog::info("iSCSI over TLS off: no --tls-cert/--tls-key given");
    return t;
  }
  t.reloader = std::make_unique<net::CertificateReloader>(net::TlsFiles{cfg.tls_cert, cfg.tls_key},
                                                          cfg.tls_reload_cooldown);
  auto fail = [&](const std::string& why) {
    spdlog::warn("iSCSI over TLS NOT started, serving plain iSCSI only: {}", why);
    t.reloader.reset();
    return std::move(t);
  };
  if (auto s = t.reloader->load_initial(); !s) return fail(s.error().message);
  auto front = net::make_front_context(*t.reloader);
  if (!front.ok()) return fail(front.error().message);
  auto hp = parse_host_port(cfg.tls_listen, 3261);
  t.listen = net::TlsListenConfig{hp->host, hp->port, std::move(front).value()};
  return t;
}

web::ServerGauges gauges(const net::IscsiServer& server, const iscsi::SessionRegistry& registry,
                         const net::CertificateReloader* tls, const iscsi::TrafficMetrics& traffic,
                         const iscsi::LoginJournal& journal) {
  auto live = registry.snapshot();
  web::ServerGauges g{server.connection_count(), live.size(), std::nullopt, traffic.snapshot(live), journal.total()};
  if (tls != nullptr) g.tls = web::ServerGauges::Tls{tls->reloads(), tls->failures()};
  return g;
}

// Operator tokens are 64 hex digits (db/tokens.h); the MetaStore keeps their hashes.
bool operator_token_valid(db::MetaStore& store, std::string_view token) {
  if (token.size() != db::kTokenBytes * 2) return false;
  auto hash = db::hash_token(token);
  if (!hash.ok()) return false;
  auto found = store.find_operator_token_by_hash(hash.value());
  if (!found.ok()) {
    spdlog::error("operator token lookup: {}", found.error().message);
    return false;
  }
  return found.value().has_value();
}

// What the landing page shows beside the catalog and the portals.
web::SiteInfo site_info(const Config& cfg, const control::TargetDirectory& directory,
                        control::ProvisionedDisks& disks, const iscsi::SessionRegistry& registry,
                        uint16_t http_port) {
  web::SiteInfo site;
  site.blank_write_limit = cfg.free_tier.blank_write_limit;
  site.image_write_limit = cfg.free_tier.image_write_limit;
  site.multi_images = [&directory] { return directory.multi_images(); };
  site.status = [&directory, &disks, &registry] {
    return web::SiteStatus{directory.anonymous_targets().size() + disks.all().size(), registry.size()};
  };
  // The curl examples on /docs/api: the public host when there is one.
  auto listen = parse_host_port(cfg.http_listen, 8080);
  HostPort api{cfg.public_host.empty() ? listen->host : parse_host_port(cfg.public_host, 0)->host, http_port};
  site.api_base_url = fmt::format("http://{}", join_host_port(api));
  return site;
}

// Every connection is a descriptor: take the whole hard limit (a shell or
// service manager often leaves the soft one at 1024), and say when even that
// cannot hold max_connections, since accept would then fail with EMFILE.
void raise_open_files_limit(size_t max_connections) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  constexpr size_t kOtherFiles = 256;  // listeners, database, images, logs
  if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < max_connections + kOtherFiles) {
    spdlog::warn("open files limit {} is below max_connections ({}) + {}: raise LimitNOFILE / ulimit -n", r.rlim_cur,
                 max_connections, kOtherFiles);
  }
}

}  // namespace

int serve(Config cfg) {
  // One server per data directory; an offline backup waits for none.
  auto data_lock = DataDirLock::acquire(cfg.data_dir, "stop it before starting another server here");
  if (!data_lock.ok()) {
    spdlog::error("{}", data_lock.error().message);
    return 1;
  }
  std::error_code ec;
  const auto& overlay_dir = cfg.overlay_dir;  // validate() made it DATA_DIR/overlays unless configured
  std::filesystem::create_directories(overlay_dir, ec);
  if (ec) {
    spdlog::error("cannot create {}: {}", overlay_dir.string(), ec.message());
    return 1;
  }
  std::filesystem::create_directories(cfg.images_dir, ec);

  auto store = open_meta_store(cfg);
  if (!store.ok()) {
    spdlog::error("{}: {}", describe_database(cfg), store.error().message);
    return 1;
  }
  spdlog::info("metadata in {}, {}", describe_database(cfg), describe_schema(*store.value()));
  web::ServerGauges::Schema schema_gauge;
  if (auto v = store.value()->schema_version(); v.ok()) schema_gauge.version = static_cast<uint64_t>(v.value());
  schema_gauge.at_start = static_cast<uint64_t>(std::max(0, store.value()->schema_version_at_open()));

  remove_stale_ingest_files(cfg.images_dir);
  control::Catalog catalog(cfg.images_dir, store.value().get());
  if (auto s = catalog.rescan(); !s) spdlog::warn("catalog {}: {}", cfg.images_dir.string(), s.error().message);
  spdlog::info("catalog {}: {} image(s)", cfg.images_dir.string(), catalog.entries().size());

  control::DirectoryConfig dcfg = directory_config(cfg);
  LimitEvents limits;
  dcfg.limit_events = &limits;
  // The one clock and randomness the control layer reads (tests pass fixed ones).
  const control::SystemClock clock;
  control::SystemRandom random;
  iscsi::SessionRegistry registry;
  // A single node serves every disk itself; on a fleet a disk is served by
  // the node holding its lease, and logins elsewhere are redirected there.
  control::ProvisionedDisks* provisioned = nullptr;  // set below, before the listener starts
  const control::LocalPlacement local_placement;
  std::unique_ptr<control::FleetPlacement> fleet_placement;
  if (cfg.fleet.enabled) {
    fleet_placement = std::make_unique<control::FleetPlacement>(control::FleetPlacement::Sources{
        cfg.fleet.node_id,
        [&provisioned](std::string_view id) { return provisioned != nullptr && provisioned->is_open(id); },
        [&registry] { return static_cast<uint32_t>(registry.size()); }, cfg.fleet.free_redirect_above_sessions});
  }
  const control::DiskPlacement& placement =
      fleet_placement ? static_cast<const control::DiskPlacement&>(*fleet_placement) : local_placement;
  control::TargetDirectory directory(dcfg, catalog, placement, clock, random);
  for (const auto& name : cfg.free_tier.multi_images) {
    if (name != "blank" && !catalog.find(name)) {
      spdlog::error("multi_images names {}, which is not in the catalog", name);
      return 1;
    }
  }

  // At boot nothing is live: every overlay left by an earlier run is an orphan.
  control::Janitor janitor(overlay_dir);
  sweep(janitor, directory, std::chrono::seconds(0));

  // Signals are taken synchronously by this thread; block them before the
  // event loop threads start so they inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto terminate_target = [&registry](std::string_view target) {
    for (const auto& rec : registry.snapshot()) {
      if (!rec.discovery && rec.target_name == target) rec.terminate();
    }
  };
  control::BaseLookup bases = [&directory](const std::string& image) { return directory.image_base(image); };
  auto disk_storage = open_disk_storage(cfg, bases);
  if (!disk_storage.ok()) {
    spdlog::error("provisioned disks: {}", disk_storage.error().message);
    return 1;
  }
  // A fleet opens a disk only once this node holds its lease.
  control::FleetKeeper* keeper = nullptr;  // set once started, before the HTTP API starts
  control::ProvisionedDisks disks({cfg.data_dir / "disks", disk_storage.value(), !cfg.fleet.enabled,
                                   [&keeper](const std::string& id) {
                                     if (keeper != nullptr) keeper->claim(id);
                                   }},
                                  *store.value(), cfg.tiers, bases, terminate_target, clock, random);
  provisioned = &disks;
  if (auto s = disks.load(); !s) {
    spdlog::error("provisioned disks: {}", s.error().message);
    return 1;
  }
  directory.attach_provisioned(&disks);
  // `scsipub backup create` reaches the running server here.
  auto control_socket = start_control_socket(cfg, disks);

  configure_allocator();
  TlsSetup tls = setup_tls(cfg);
  net::ServerConfig scfg = server_config(cfg);
  raise_open_files_limit(scfg.max_connections);
  scfg.tls = tls.listen;
  scfg.limit_events = &limits;
  iscsi::TrafficMetrics traffic;
  iscsi::LoginJournal journal;
  scfg.connection.traffic = &traffic;
  scfg.connection.login_journal = &journal;
  net::IscsiServer server(std::move(scfg), directory, registry);
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::error("cannot listen on {}{}: {}", cfg.iscsi_listen, tls.listen ? " or " + cfg.tls_listen : "",
                  e.what());
    return 1;
  }
  for (const auto& t : directory.anonymous_targets()) spdlog::info("target {}", t);
  // Images added or removed from now on show up without a restart.
  control::CatalogWatcher watcher(cfg.images_dir, [&catalog, &directory] { refresh_catalog(catalog, directory); });
  if (auto s = watcher.start(); !s) {
    spdlog::warn("catalog is not live ({}): new images need a restart or the operator API", s.error().message);
  }
  for (const auto& d : disks.all()) spdlog::info("target {}", control::disk_target(d->record().id));

  // A node of a fleet: heartbeat and disk leases, on a thread of their own;
  // a disk is opened when its lease is taken and closed when it is lost.
  std::unique_ptr<control::FleetKeeper> fleet;
  if (cfg.fleet.enabled) {
    db::FleetStore* fleet_store = store.value()->fleet();
    if (fleet_store == nullptr) {
      spdlog::error("[fleet] needs a PostgreSQL database, not {}", describe_database(cfg));
      server.shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    if (!cfg.ceph.enabled()) {
      // Local overlay files exist on one node only: another node taking a
      // disk over would serve an empty or stale copy.
      spdlog::error("[fleet] needs [ceph]: provisioned disks must live where every node reaches them");
      server.shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    control::FleetSettings settings = fleet_settings(cfg);
    settings.storage_client = disks.storage().client_address();
    fleet = std::make_unique<control::FleetKeeper>(
        *fleet_store, *store.value(), clock, std::move(settings),
        control::fleet_disk_callbacks(disks, *fleet_store, cfg.fleet.node_id,
                                      [&registry] { return static_cast<uint32_t>(registry.size()); }));
    // A second process configured with this node id must not serve beside
    // the first: stop here, before it takes any lease.
    if (auto st = fleet->join(); !st) {
      spdlog::error("{}", st.error().message);
      fleet.reset();
      server.shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    fleet->start();
    fleet_placement->attach(fleet.get());
    keeper = fleet.get();
    spdlog::info("fleet node {}: heartbeat every {} ms, leases of {} ms", cfg.fleet.node_id,
                 cfg.fleet.heartbeat.count(), cfg.fleet.lease.count());
  }

  // Storage shared between nodes can be left behind by a crash (between
  // creating a disk's images and storing its record, or before the owner of
  // a disk deleted elsewhere removed them): swept at start and periodically,
  // on a thread of its own.
  std::unique_ptr<control::StorageSweeper> storage_sweeper;
  if (cfg.ceph.enabled() && cfg.ceph.sweep_interval_seconds != 0) {
    const uint32_t grace = std::max(cfg.ceph.sweep_grace_seconds, 3 * cfg.ceph.op_timeout_seconds);
    storage_sweeper = std::make_unique<control::StorageSweeper>(
        disks.storage(), *store.value(),
        control::StorageSweepSettings{std::chrono::seconds(cfg.ceph.sweep_interval_seconds),
                                      std::chrono::seconds(grace)});
    storage_sweeper->start();
    spdlog::info("orphan sweep of pool {}: every {} s, images younger than {} s kept", cfg.ceph.pool,
                 cfg.ceph.sweep_interval_seconds, grace);
  }

  control::DiskServiceImpl service(*store.value(), disks, catalog, registry,
                                   {plain_portal(cfg), tls.listen ? tls_portal(cfg, server.tls_port()) : ""},
                                   cfg.free_tier.blank_size);
  control::LiveOperatorConsole console(control::LiveConsoleSources{
      registry, directory, disks, *store.value(), service, journal, limits,
      [&store](std::string_view token) { return operator_token_valid(*store.value(), token); }, clock,
      fleet.get()});
  // The operator API's imports; declared before the API server, which uses it.
  control::CatalogJobs catalog_jobs({cfg.images_dir, 1}, catalog, *store.value(),
                                    make_image_importer(*store.value(), cfg.images_dir, cfg.catalog, &limits),
                                    [&catalog, &directory] { refresh_catalog(catalog, directory); }, clock);
  std::unique_ptr<web::ApiServer> api;
  if (cfg.http_listen != "off") {
    auto hp = parse_host_port(cfg.http_listen, 8080);
    web::ApiServerConfig acfg;
    acfg.host = hp->host;
    acfg.port = hp->port;
    acfg.threads = cfg.http_threads;
    acfg.limits = cfg.http_limits;
    acfg.limit_events = &limits;
    acfg.admin = cfg.admin;
    acfg.operator_console = &console;
    acfg.catalog_admin = &catalog_jobs;
    acfg.site = site_info(cfg, directory, disks, registry, hp->port);
    acfg.metrics = [&] {
      auto g = gauges(server, registry, tls.reloader.get(), traffic, journal);
      g.retained_free_disks = directory.retained_count();
      g.schema = schema_gauge;
      if (fleet) g.fleet = fleet_gauges(*fleet);
      if (storage_sweeper) {
        g.storage_sweep = web::ServerGauges::StorageSweep{storage_sweeper->sweeps_total(),
                                                          storage_sweeper->removed_total()};
      }
      return web::metrics_text(limits, g);
    };
    api = std::make_unique<web::ApiServer>(service, acfg);
    if (auto s = api->start(); !s) {
      spdlog::error("session API on {}: {}", cfg.http_listen, s.error().message);
      server.shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    const std::string base = hp->host.find(':') != std::string::npos
                                 ? fmt::format("http://[{}]:{}", hp->host, api->port())
                                 : fmt::format("http://{}:{}", hp->host, api->port());
    spdlog::info("landing page {}/ , operator dashboard {}/admin (scsipub admin token create), API {}/api/v1/",
                 base, base, base);
  }

  int sig = wait_for_signal(set, janitor, directory, disks, clock, cfg.free_tier.retain.count() > 0);
  spdlog::info("{} received: logging out {} session(s)", sig == SIGTERM ? "SIGTERM" : "SIGINT", registry.size());
  watcher.stop();
  if (control_socket) control_socket->stop();  // a backup under way finishes first
  if (api) api->stop();
  server.shutdown(cfg.shutdown_grace);
  // Nobody can reinstate a session any more: retained overlays go as a Logout's do.
  if (size_t n = directory.release_retained(); n != 0) spdlog::info("deleted {} retained overlay(s)", n);
  sweep(janitor, directory, std::chrono::seconds(0));
  // Sessions are gone; make every overlay and its maps durable, then say so.
  disks.flush_all();
  if (auto s = disks.mark_clean_shutdown(); !s) spdlog::warn("{}", s.error().message);
  // The data is durable: give the leases back so other nodes need not wait
  // for them to expire, and leave the node table.
  if (storage_sweeper) storage_sweeper->stop();
  if (fleet) fleet->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace scsipub::app
