#pragma once
// `scsipub backup create DIR` and `scsipub backup restore DIR` (docs/BACKUP.md),
// and the server's side of an online backup.
#include <memory>
#include <string>

#include "app/config.h"
#include "control/provisioned_disks.h"
#include "net/control_socket.h"

namespace scsipub::app {

struct BackupCreateOptions {
  std::string dir;
  bool images = true;  // --without-images clears it
};

// Through the running server's control socket when there is one (online:
// sessions keep running), else offline in this process under the data dir
// lock.
int backup_create(const Config& cfg, const BackupCreateOptions& options);
// Offline, onto an empty data directory (cfg.data_dir), under its lock.
int backup_restore(const Config& cfg, const std::string& dir);

// DATA_DIR/control.sock
std::filesystem::path control_socket_path(const Config& cfg);
// The server's control socket, answering backup requests with `disks`'
// open stores paused per disk. Null (logged) when it cannot listen.
std::unique_ptr<net::ControlSocket> start_control_socket(const Config& cfg, control::ProvisionedDisks& disks);

}  // namespace scsipub::app
