#include "control/catalog_watcher.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "control/catalog.h"

namespace scsipub::control {
namespace {

// A burst (a rename plus its metadata row, `cp` of several files) settles
// within this long after its last event; one rescan covers it.
constexpr int kSettleMs = 150;

// IN_CREATE is left out on purpose: `cp` creates the file long before it is
// complete; IN_CLOSE_WRITE says it is done. Symlinks and hard links made in
// place arrive as IN_CREATE and are picked up by the next event or restart.
constexpr uint32_t kEvents =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

}  // namespace

bool catalog_relevant_name(std::string_view file_name) {
  return parse_image_file_name(file_name).has_value();
}

CatalogWatcher::CatalogWatcher(std::filesystem::path dir, std::function<void()> on_change)
    : dir_(std::move(dir)), on_change_(std::move(on_change)) {}

CatalogWatcher::~CatalogWatcher() { stop(); }

Status CatalogWatcher::start() {
  inotify_ = UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_.valid()) return fail(std::string("inotify_init1: ") + std::strerror(errno));
  if (::inotify_add_watch(inotify_.get(), dir_.c_str(), kEvents | IN_ONLYDIR) < 0) {
    return fail("watch " + dir_.string() + ": " + std::strerror(errno));
  }
  wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return fail(std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void CatalogWatcher::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof one) < 0) spdlog::warn("catalog watcher: cannot wake: {}", std::strerror(errno));
  thread_.join();
}

void CatalogWatcher::run() {
  alignas(inotify_event) std::array<char, 8192> buf{};
  bool pending = false;
  for (;;) {
    std::array<pollfd, 2> fds{pollfd{inotify_.get(), POLLIN, 0}, pollfd{wake_.get(), POLLIN, 0}};
    // Blocks without a timeout while nothing is pending: no wake-ups at idle.
    const int n = ::poll(fds.data(), fds.size(), pending ? kSettleMs : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("catalog watcher: poll: {}; the catalog is no longer live", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (n == 0) {  // settled
      pending = false;
      on_change_();
      continue;
    }
    const ssize_t len = ::read(inotify_.get(), buf.data(), buf.size());
    if (len <= 0) continue;
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= len;) {
      inotify_event ev{};
      std::memcpy(&ev, buf.data() + off, sizeof ev);
      if (off + static_cast<ssize_t>(sizeof ev + ev.len) > len) break;
      const std::string_view name(buf.data() + off + sizeof ev, ::strnlen(buf.data() + off + sizeof ev, ev.len));
      off += static_cast<ssize_t>(sizeof ev + ev.len);
      if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        spdlog::error("catalog watcher: {} was removed or moved; the catalog is no longer live", dir_.string());
        return;
      }
      if (ev.mask & IN_Q_OVERFLOW) pending = true;  // lost events: rescan to be sure
      if (catalog_relevant_name(name)) pending = true;
    }
  }
}

}  // namespace scsipub::control
