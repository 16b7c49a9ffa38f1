#pragma once
// What the operator API asks of the catalog: add an image
// from a URL as a background job, follow the job, remove an image. The web
// layer validates and renders; this interface decides. Thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/catalog.h"
#include "control/disk_service.h"

namespace scsipub::control {

struct ImageAddRequest {
  std::string name;          // valid_image_name
  std::string source;        // a path (CLI) or an http(s) URL (CLI and API)
  std::string sha256;        // lowercase hex of the source, empty: not checked
  std::string title;
  std::string description;
  std::string presentation = "auto";  // "auto" | "disk" | "dvd"
  bool replace = false;      // an existing image of that name may be replaced
};

struct ImageJob {
  uint64_t id = 0;
  std::string name;
  std::string source;
  std::string state;  // "running", "done", "failed"
  std::string phase;  // "download", "convert", ... while running
  uint64_t done = 0;  // bytes of the current phase
  uint64_t total = 0; // 0: unknown
  std::string error;  // when failed
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;  // 0 while running
};

class CatalogAdmin {
 public:
  virtual ~CatalogAdmin() = default;
  virtual std::vector<CatalogEntry> images() = 0;
  // Starts an import. bad_request: invalid name or source; conflict: the name
  // exists (without replace), is being imported, or is under a provisioned
  // disk; limit_exceeded: too many imports running.
  virtual ServiceResult<ImageJob> add_image(const ImageAddRequest& request) = 0;
  virtual std::vector<ImageJob> jobs() = 0;  // newest first, bounded
  virtual std::optional<ImageJob> job(uint64_t id) = 0;
  // not_found; conflict while a provisioned disk builds on it.
  virtual ServiceResult<Ok> remove_image(std::string_view name) = 0;
};

}  // namespace scsipub::control
