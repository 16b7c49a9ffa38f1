#pragma once
// The session API's JSON: request parsing and response rendering. Pure (no
// HTTP, no logging) so the parser is unit-tested and fuzzed directly; the
// server only moves these values over the wire.
#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/disk_service.h"

namespace scsipub::web {

// Request bodies beyond this are refused before parsing (the server also
// refuses them with 413 before reading them).
inline constexpr size_t kMaxRequestBody = 64 * 1024;
inline constexpr size_t kMaxImagesPerDisk = 64;
inline constexpr size_t kMaxImageNameLength = 128;

// Strict: a JSON object with exactly the key "images", an array of 1..64
// names of 1..128 characters of [A-Za-z0-9._-]. Anything else is an error
// message fit for the client. Never throws.
Result<control::CreateDiskRequest, std::string> parse_create_disk_request(std::string_view body);

// One disk. Without `include_secret` the CHAP secrets and the iscsiadm
// commands (which contain them) are left out rather than nulled, so that a
// null mutual_secret still means "none".
nlohmann::json to_json(const control::DiskInfo& disk, const control::Portals& portals, bool include_secret);
nlohmann::json disks_json(const std::vector<control::DiskInfo>& disks, const control::Portals& portals,
                          bool include_secret);
// The catalog, each image with "commands": the command lines for its free
// target at `plain_portal` (web/target_commands.h), the exact strings the
// landing page shows: iscsiadm, qemu, ipxe, libiscsi (a runnable command),
// libiscsi_url, powershell, cleanup; multi-line ones joined with "\n".
// With `multi_luns` (the images behind the `multi` target, LUN 0 first) not
// empty, also "multi": {"target", "luns": [{"lun", "image"}], "commands"}:
// the free target that is not an image of its own (and no name to put in
// POST /api/v1/disks).
nlohmann::json images_json(const std::vector<control::ImageInfo>& images, std::string_view plain_portal,
                           const std::vector<std::string>& multi_luns = {});
nlohmann::json error_json(std::string_view message);

// "2025-01-31T12:00:00Z"
std::string rfc3339(std::chrono::sys_seconds t);

// Serializes without throwing: strings that come from initiators (names,
// addresses) may hold invalid UTF-8, which is replaced rather than fatal.
std::string dump(const nlohmann::json& j);

}  // namespace scsipub::web
