#pragma once
// Keeps the catalog live: a thread blocked in read() on an inotify descriptor
// for the images directory (no CPU and no wake-ups while nothing changes).
// When an image file appears complete (closed after writing, renamed in),
// disappears, or is replaced, it waits for the burst of events to settle and
// calls `on_change`, which rescans. Names that cannot be images (temporary
// files of `scsipub image add`, READMEs) are ignored, and a file still being
// written by `cp` is not picked up before it is closed.
#include <filesystem>
#include <functional>
#include <string_view>
#include <thread>

#include "common/result.h"
#include "common/unique_fd.h"

namespace scsipub::control {

// True when a directory event on `file_name` may change the catalog.
bool catalog_relevant_name(std::string_view file_name);

class CatalogWatcher {
 public:
  CatalogWatcher(std::filesystem::path dir, std::function<void()> on_change);
  ~CatalogWatcher();  // stops the thread
  CatalogWatcher(const CatalogWatcher&) = delete;
  CatalogWatcher& operator=(const CatalogWatcher&) = delete;

  // Starts watching; fails when inotify is unavailable (then the catalog
  // changes only on restart or through the operator API).
  Status start();
  void stop();

 private:
  void run();

  std::filesystem::path dir_;
  std::function<void()> on_change_;
  UniqueFd inotify_;
  UniqueFd wake_;  // eventfd: stop() writes it
  std::thread thread_;
};

}  // namespace scsipub::control
