#pragma once
// Free-tier logins: each session gets private copy-on-write overlays over
// the targets' read-only bases (DVD images are served without one), with
// the overlay bytes reserved against the address group's and the server's
// budgets, and everything deleted when the session ends -- at once after a
// Logout, after a grace period otherwise, unless the same nexus from the same
// address logs in again first and takes the disks back (retained_disks.h).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/limit_events.h"
#include "control/base_image_cache.h"
#include "control/clock.h"
#include "control/free_tier_targets.h"
#include "control/naa_generator.h"
#include "control/overlay_budget.h"
#include "control/random_source.h"
#include "control/retained_disks.h"
#include "iscsi/target_provider.h"
#include "storage/image_source.h"

namespace scsipub::control {

struct FreeTierConfig {
  uint64_t blank_size = storage::BlankImage::kDefaultBytes;
  uint64_t blank_write_limit = 0;           // 0: bounded only by the disk size
  uint64_t image_write_limit = 256u << 20;  // bytes a session may write over an image
  std::vector<std::string> multi_images;    // catalog names ("blank" allowed); empty: default
  // Overlay bytes the live free-tier sessions of one address group may hold,
  // counted as each LUN's worst case (its write limit, or its size) and
  // reserved at login; 0 = no limit.
  uint64_t overlay_bytes_per_ip = 4ull << 30;
  // The same worst case summed over every live free-tier session: what the
  // overlay directory's filesystem must be able to hold; 0 = no limit.
  uint64_t overlay_bytes_total = 32ull << 30;
  // How long a session that ended without a Logout keeps its overlays for a
  // reinstating login (RFC 7143 13.19: DefaultTime2Retain defaults to 20 s);
  // still counted in both budgets meanwhile. 0: deleted at once.
  std::chrono::seconds retain{20};
};

// A free-tier session's overlay use (all its LUNs).
class FreeTierBinder {
 public:
  // The instance prefix of overlay ids and the NAA seed are drawn from
  // `random` here, once. `events` may be null; `clock` times the retention.
  FreeTierBinder(const FreeTierConfig& config, std::filesystem::path overlay_dir, LimitEvents* events,
                 const FreeTierTargets& targets, BaseImageCache& bases, RandomSource& random, const Clock& clock);
  ~FreeTierBinder();  // retained overlays are deleted

  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view target_name,
                                                                       const lu::Nexus& nexus,
                                                                       const iscsi::PortalInfo& portal);

  // A live session's overlay use; nullopt for sessions this binder does not hold.
  std::optional<OverlayUsage> overlay_usage(uint64_t session_id) const;
  // True while an overlay id belongs to a live binding (for the janitor).
  bool overlay_live(std::string_view id) const;
  // The overlay id prefix of this process: ids of earlier runs never collide.
  const std::string& instance_prefix() const { return instance_; }
  // True while a live session or a retained disk belongs to `key`: a login
  // with that key reinstates a session here and must stay here.
  bool holds(const ReinstateKey& key) const;

  // Deletes the retained overlays whose grace period is over and returns
  // their budget; how many. bind() does this first; the server also calls it
  // on a timer so the files go even when nobody logs in.
  size_t expire_retained();
  // Deletes every retained overlay (server shutdown); how many.
  size_t release_retained();
  size_t retained_count() const;
  std::vector<RetainedDiskView> retained() const;

 private:
  class Binding;
  // Called by a Binding as it goes: first forget(), then finish() retains its
  // disks or deletes them and releases their id and budget.
  void forget(uint64_t session_id);
  void finish(const ReinstateKey& key, uint64_t session_id, SessionDisks disks, iscsi::SessionEnd how);
  void release(SessionDisks disks);
  // A new session's overlays over `bases` (the images of `target_name`).
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind_fresh(
      std::string_view target_name, const std::vector<std::string>& images,
      const std::vector<BaseImageCache::Base>& bases, uint64_t worst_case, const lu::Nexus& nexus,
      const iscsi::PortalInfo& portal, ReinstateKey key);
  uint64_t write_limit_for(std::string_view image) const;
  uint64_t overlay_worst_case(std::string_view image, const storage::ImageSource& base) const;

  const FreeTierConfig config_;
  const std::filesystem::path overlay_dir_;
  LimitEvents* events_;
  const FreeTierTargets& targets_;
  BaseImageCache& bases_;
  const Clock& clock_;
  std::string instance_;  // random hex prefix of overlay ids
  NaaGenerator naa_;
  OverlayBudget budget_;

  mutable std::mutex mu_;  // cold path: login, logout, janitor, dashboard
  std::set<std::string, std::less<>> live_ids_;
  std::map<uint64_t, const Binding*> bindings_;  // by session id, for overlay_usage()
  std::map<ReinstateKey, uint64_t> live_keys_;   // the session holding each nexus's disks
  RetainedDisks retained_;
};

}  // namespace scsipub::control
