#pragma once
// A CachedPage whose content changes now and then (the landing page's
// status numbers, the catalog): rendered at most once per `max_age`, and
// replaced (new ETag, new gzip) only when the rendered bytes differ. Every
// other request gets the cached page: rendering never runs per request.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "web/cached_page.h"

namespace scsipub::web {

class RefreshingPage {
 public:
  using Clock = std::chrono::steady_clock;

  RefreshingPage(std::function<std::string()> render, CachedPageOptions options, Clock::duration max_age,
                 std::function<Clock::time_point()> now = &Clock::now);

  // The current page. Renders (on the calling thread, others wait for it)
  // when the last rendering is older than max_age. When `render` throws, the
  // previous page is served on until the next attempt; with no previous page
  // the exception propagates (the server answers 500).
  std::shared_ptr<const CachedPage> current();

  // How many times `render` ran, and how many produced new bytes (tests).
  size_t renders() const;
  size_t changes() const;

 private:
  const std::function<std::string()> render_;
  const CachedPageOptions options_;
  const Clock::duration max_age_;
  const std::function<Clock::time_point()> now_;

  mutable std::mutex mu_;
  std::shared_ptr<const CachedPage> page_;
  Clock::time_point rendered_at_{};
  size_t renders_ = 0;
  size_t changes_ = 0;
};

}  // namespace scsipub::web
