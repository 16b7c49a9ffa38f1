#include "app/backup_cli.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "app/meta_store_open.h"
#include "common/data_dir_lock.h"
#include "common/unique_fd.h"
#include "control/backup_request.h"
#include "control/backup_restore.h"
#include "control/backup_writer.h"
#include "db/sqlite_store.h"
#include "storage/locked_store.h"

namespace scsipub::app {
namespace {

namespace fs = std::filesystem;

// Under systemd the packaged unit lets the server write only these.
constexpr const char* kWritableHint =
    " (the server writes the backup itself: under systemd the packaged unit lets it write only "
    "/var/lib/scsipub and /var/backups/scsipub)";

fs::path sqlite_file(const Config& cfg) {
  if (is_postgres_url(cfg.database)) return {};
  return cfg.database.empty() ? cfg.data_dir / std::string(db::SqliteStore::kFileName) : fs::path(cfg.database);
}

std::string storage_kind(const Config& cfg) { return cfg.ceph.enabled() ? "rbd" : "local"; }

control::BackupSources base_sources(const Config& cfg, bool images, const char* mode) {
  control::BackupSources s;
  s.scsipub_version = SCSIPUB_VERSION;
  s.mode = mode;
  s.sqlite_file = sqlite_file(cfg);
  s.storage = storage_kind(cfg);
  if (images) s.images_dir = cfg.images_dir;
  return s;
}

// Offline: the records say which disks exist; nobody writes their files.
Result<control::BackupSources> offline_sources(const Config& cfg, bool images) {
  auto s = base_sources(cfg, images, "offline");
  auto store = open_meta_store(cfg);
  if (!store.ok()) return fail(describe_database(cfg) + ": " + store.error().message);
  auto disks = store.value()->list_disks();
  if (!disks.ok()) return fail(disks.error().message);
  std::vector<control::BackupDiskSource> list;
  for (const auto& d : *disks) {
    control::BackupDiskSource src{d.id, storage_kind(cfg), {}};
    for (uint32_t n = 0; n < d.luns.size(); ++n) {
      src.luns.push_back({control::provisioned_overlay_path(cfg.data_dir / "disks" / d.id, n), nullptr});
    }
    list.push_back(std::move(src));
  }
  s.list_disks = [list] { return list; };
  return s;
}

std::vector<control::BackupDiskSource> open_disks(const Config& cfg, control::ProvisionedDisks& disks) {
  std::vector<control::BackupDiskSource> out;
  const std::string kind(disks.storage().kind());
  for (const auto& d : disks.all()) {
    if (d->deleted()) continue;
    control::BackupDiskSource src{d->record().id, kind, {}};
    for (uint32_t n = 0; n < d->record().luns.size(); ++n) {
      std::shared_ptr<storage::LockedStore> live;
      if (n < d->units().size()) live = std::dynamic_pointer_cast<storage::LockedStore>(d->units()[n].store);
      src.luns.push_back({control::provisioned_overlay_path(cfg.data_dir / "disks" / d->record().id, n), live});
    }
    out.push_back(std::move(src));
  }
  return out;
}

std::string summary(const control::BackupManifest& m, const fs::path& dir) {
  uint64_t max_pause = 0;
  for (const auto& d : m.disks) max_pause = std::max(max_pause, d.pause_ms);
  return fmt::format("backup {} complete: {} disk(s), {} file(s), longest pause {} ms", dir.string(), m.disks.size(),
                     m.files.size(), max_pause);
}

// Connects to a running server's control socket; invalid when none listens.
UniqueFd connect_server(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) return {};
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return {};
  return fd;
}

int online_create(UniqueFd fd, const control::BackupRequest& req) {
  const std::string line = control::backup_request_line(req);
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    std::cerr << "scsipub: cannot send the request to the server: " << std::strerror(errno) << "\n";
    return 1;
  }
  // Progress lines until "done ..." or "error ...".
  std::string buf;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string l = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (l.starts_with("done ")) {
        std::cout << l.substr(5) << "\n";
        return 0;
      }
      if (l.starts_with("error ")) {
        std::cerr << "scsipub: backup failed: " << l.substr(6) << "\n";
        return 1;
      }
      std::cout << (l.starts_with("progress ") ? l.substr(9) : l) << "\n" << std::flush;
    }
  }
  std::cerr << "scsipub: the server closed the connection before the backup finished (see its log)\n";
  return 1;
}

}  // namespace

fs::path control_socket_path(const Config& cfg) { return cfg.data_dir / "control.sock"; }

int backup_create(const Config& cfg, const BackupCreateOptions& options) {
  std::error_code ec;
  const fs::path dir = fs::absolute(options.dir, ec);
  if (UniqueFd fd = connect_server(control_socket_path(cfg)); fd.valid()) {
    std::cout << "online backup through the running server (" << control_socket_path(cfg).string() << ")\n";
    return online_create(std::move(fd), {dir.string(), options.images});
  }
  auto lock = DataDirLock::acquire(cfg.data_dir, "an offline backup needs the server stopped, or reachable on " +
                                                     control_socket_path(cfg).string());
  if (!lock.ok()) {
    std::cerr << "scsipub: " << lock.error().message << "\n";
    return 1;
  }
  auto sources = offline_sources(cfg, options.images);
  if (!sources.ok()) {
    std::cerr << "scsipub: " << sources.error().message << "\n";
    return 1;
  }
  std::cout << "offline backup (no server runs on " << cfg.data_dir.string() << ")\n";
  auto m = control::write_backup(dir, *sources, [](const std::string& l) { std::cout << l << "\n" << std::flush; });
  if (!m.ok()) {
    std::cerr << "scsipub: backup failed: " << m.error().message << "\n";
    return 1;
  }
  std::cout << summary(*m, dir) << "\n";
  return 0;
}

int backup_restore(const Config& cfg, const std::string& dir_arg) {
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_arg, ec);
  // Checked before the target is touched (not even its lock file is created
  // for a damaged backup); restore_backup checks again once it is locked.
  if (auto v = control::verify_backup(dir, [](const std::string&) {}); !v.ok()) {
    std::cerr << "scsipub: restore refused (nothing was written): " << v.error().message << "\n";
    return 1;
  }
  auto lock = DataDirLock::acquire(cfg.data_dir, "restore only onto a data directory no server uses");
  if (!lock.ok()) {
    std::cerr << "scsipub: " << lock.error().message << "\n";
    return 1;
  }
  control::RestoreTarget target{cfg.data_dir, sqlite_file(cfg), cfg.images_dir};
  auto m = control::restore_backup(dir, target, [](const std::string& l) { std::cout << l << "\n" << std::flush; });
  if (!m.ok()) {
    std::cerr << "scsipub: restore refused: " << m.error().message << "\n";
    return 1;
  }
  return 0;
}

std::unique_ptr<net::ControlSocket> start_control_socket(const Config& cfg, control::ProvisionedDisks& disks) {
  auto handler = [&cfg, &disks](const std::string& request, const net::ControlSocket::Reply& reply) {
    auto req = control::parse_backup_request(request);
    if (!req.ok()) {
      reply("error " + req.error().message);
      return;
    }
    spdlog::info("backup: online backup to {} requested", req->dir);
    auto sources = base_sources(cfg, req->images, "online");
    sources.list_disks = [&cfg, &disks] { return open_disks(cfg, disks); };
    auto m = control::write_backup(req->dir, sources, [&reply](const std::string& l) {
      spdlog::info("backup: {}", l);
      reply("progress " + l);
    });
    if (!m.ok()) {
      std::string why = m.error().message;
      if (why.starts_with("cannot write into") || why.starts_with("cannot create")) why += kWritableHint;
      spdlog::warn("backup to {} failed: {}", req->dir, why);
      reply("error " + why);
      return;
    }
    const std::string s = summary(*m, req->dir);
    spdlog::info("{}", s);
    reply("done " + s);
  };
  auto sock = std::make_unique<net::ControlSocket>(control_socket_path(cfg), handler);
  if (auto st = sock->start(); !st) {
    spdlog::warn("control socket: {} (online backups are unavailable)", st.error().message);
    return nullptr;
  }
  return sock;
}

}  // namespace scsipub::app
