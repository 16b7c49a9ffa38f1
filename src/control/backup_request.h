#pragma once
// The one request line a `scsipub backup create` sends to a running server
// over DATA_DIR/control.sock, e.g.
//   {"op":"backup","dir":"/var/backups/scsipub/2026-12-08","images":true}
// The socket is the server's owner's only (mode 0600, peer uid checked), but
// the line is still parsed as hostile input: size-capped, one known op,
// an absolute path without control characters.
#include <string>
#include <string_view>

#include "common/result.h"

namespace scsipub::control {

inline constexpr size_t kMaxControlRequestBytes = 4096;

struct BackupRequest {
  std::string dir;      // absolute path of the backup directory to create
  bool images = true;   // include the catalog's image files
  bool operator==(const BackupRequest&) const = default;
};

std::string backup_request_line(const BackupRequest& r);  // JSON + "\n"
Result<BackupRequest> parse_backup_request(std::string_view line);

}  // namespace scsipub::control
