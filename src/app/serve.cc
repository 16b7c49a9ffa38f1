#include "app/serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "control/catalog.h"
#include "control/janitor.h"
#include "control/target_directory.h"
#include "iscsi/session_registry.h"
#include "net/iscsi_server.h"
#include "scsi/command_set.h"

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

// Blocks until SIGTERM or SIGINT, sweeping overlays every kJanitorInterval.
int wait_for_signal(const sigset_t& set, control::Janitor& janitor, const control::TargetDirectory& dir) {
  for (;;) {
    timespec ts{};
    ts.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kJanitorInterval).count();
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) return sig;
    if (sig < 0 && errno == EAGAIN) sweep(janitor, dir, std::chrono::minutes(2));
  }
}

}  // namespace

int serve(Config cfg) {
  std::error_code ec;
  auto overlay_dir = cfg.data_dir / "overlays";
  std::filesystem::create_directories(overlay_dir, ec);
  if (ec) {
    spdlog::error("cannot create {}: {}", overlay_dir.string(), ec.message());
    return 1;
  }
  std::filesystem::create_directories(cfg.images_dir, ec);

  control::Catalog catalog(cfg.images_dir);
  if (auto s = catalog.rescan(); !s) spdlog::warn("catalog {}: {}", cfg.images_dir.string(), s.error().message);
  spdlog::info("catalog {}: {} image(s)", cfg.images_dir.string(), catalog.entries().size());

  control::DirectoryConfig dcfg;
  dcfg.overlay_dir = overlay_dir;
  dcfg.public_host = cfg.public_host;
  dcfg.free_tier = cfg.free_tier;
  control::TargetDirectory directory(dcfg, catalog);
  for (const auto& name : cfg.free_tier.multi_images) {
    if (name != "blank" && catalog.find(name) == nullptr) {
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

  iscsi::SessionRegistry registry;
  scsi::CommandSet commands;
  net::IscsiServer server(server_config(cfg), directory, registry, commands);
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::error("cannot listen on {}: {}", cfg.iscsi_listen, e.what());
    return 1;
  }
  for (const auto& t : directory.anonymous_targets()) spdlog::info("target {}", t);

  int sig = wait_for_signal(set, janitor, directory);
  spdlog::info("{} received: logging out {} session(s)", sig == SIGTERM ? "SIGTERM" : "SIGINT", registry.size());
  server.shutdown(cfg.shutdown_grace);
  sweep(janitor, directory, std::chrono::seconds(0));
  spdlog::info("stopped");
  return 0;
}

}  // namespace scsipub::app
