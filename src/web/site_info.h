#pragma once
// What the public pages (landing page, API documentation) need from the
// rest of the server, as plain values and callbacks, so the pages are
// rendered and tested without an iSCSI server. The catalog and the portals
// come from control::DiskService (images(), portals()), the same calls
// /api/v1/images answers from; this holds the rest.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scsipub::web {

// The live numbers of the status strip: counts only, nothing about anyone.
struct SiteStatus {
  uint64_t targets = 0;   // targets an initiator can log in to now
  uint64_t sessions = 0;  // logged-in sessions now (discovery included or not: the caller's choice)
};

struct SiteInfo {
  // [free_tier] blank_write_limit / image_write_limit: bytes one login may
  // write; 0 = up to the disk's size.
  uint64_t blank_write_limit = 0;
  uint64_t image_write_limit = 0;
  // The images behind the `multi` target's LUNs, LUN 0 first
  // (control::TargetDirectory::multi_images()).
  std::function<std::vector<std::string>()> multi_images;
  // The status strip's numbers; called at most once per `refresh`.
  std::function<SiteStatus()> status;
  // Where the session API is reached from outside, for the examples on
  // /docs/api ("https://scsipub.example"); empty: "http://<portal host>:8080".
  std::string api_base_url;
  // Pages are re-rendered at most this often (they change with the status
  // numbers and the catalog); in between every request is served the cached
  // bytes.
  std::chrono::milliseconds refresh{1000};
};

}  // namespace scsipub::web
