#pragma once
// What the session API (web/) asks of the control layer: accounts by token,
// provisioned disks and the catalog. The HTTP layer only translates JSON and
// status codes; every rule (tier limits, ownership, names) lives behind this
// interface.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/catalog.h"

namespace scsipub::control {

enum class ServiceErrc : uint8_t {
  bad_request,     // 400: the request names something invalid
  unauthorized,    // 401: no or unknown bearer token
  not_found,       // 404: no such disk (or not this account's)
  limit_exceeded,  // 403: the account's tier does not allow it
  conflict,        // 409
  internal,        // 500: the store or the file system failed
};

struct ServiceError {
  ServiceErrc code = ServiceErrc::internal;
  std::string message;
};

template <class T>
using ServiceResult = Result<T, ServiceError>;

inline Unexpected<ServiceError> service_error(ServiceErrc code, std::string message) {
  return {ServiceError{code, std::move(message)}};
}

// The caller of an API request, once its bearer token checked out.
struct Caller {
  std::string account_id;
  std::string tier;
};

struct LunInfo {
  uint32_t lun = 0;
  std::string image;           // "blank" or a catalog name
  uint64_t size_bytes = 0;     // capacity the initiator sees
  uint64_t overlay_bytes = 0;  // bytes written so far (counted against write_limit)
  uint64_t write_limit = 0;    // 0 = bounded only by the LUN size
};

struct SessionInfo {
  std::string initiator_name;
  std::string isid;  // 12 hex digits
  std::string peer_address;
};

struct DiskInfo {
  std::string id;
  std::string target;  // iqn.2025-01.pub.scsipub:disk.<id>
  std::vector<LunInfo> luns;
  std::string chap_user;
  std::string chap_secret;
  // Secret the target answers with when the initiator asks for mutual CHAP.
  std::optional<std::string> mutual_secret;
  std::chrono::sys_seconds created{};
  std::optional<std::chrono::sys_seconds> expires;
  std::vector<SessionInfo> sessions;  // live sessions (filled by get_disk)
};

struct ImageInfo {
  std::string name;    // catalog name; "blank" is listed too
  uint64_t size_bytes = 0;
  std::string target;  // the free-tier target for it
  Presentation presentation = Presentation::disk;  // a DVD-ROM is attached and booted as a CD
  std::string title;        // from the catalog metadata; may be empty (operator text, escape it)
  std::string description;  // likewise
};

// Where initiators reach this node, "host:port" (IPv6 bracketed). `tls` is
// empty while no TLS listener runs.
struct Portals {
  std::string plain;
  std::string tls;
};

struct CreateDiskRequest {
  std::vector<std::string> images;  // one LUN each, in order
};

// Called from several API worker threads at once: implementations are
// thread-safe.
class DiskService {
 public:
  virtual ~DiskService() = default;

  virtual ServiceResult<Caller> authenticate(std::string_view bearer_token) = 0;
  virtual ServiceResult<DiskInfo> create_disk(const Caller& caller, const CreateDiskRequest& request) = 0;
  virtual ServiceResult<std::vector<DiskInfo>> list_disks(const Caller& caller) = 0;
  virtual ServiceResult<DiskInfo> get_disk(const Caller& caller, std::string_view id) = 0;
  // Logs the disk's sessions out, then deletes its overlays and records.
  virtual ServiceResult<Ok> delete_disk(const Caller& caller, std::string_view id) = 0;
  virtual std::vector<ImageInfo> images() = 0;
  virtual Portals portals() = 0;
};

}  // namespace scsipub::control
