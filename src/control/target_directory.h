#pragma once
// The targets this node serves and the logical units a login attaches to:
// the iSCSI layer's TargetProvider, composed of one piece per job.
//   FreeTierTargets / FreeTierBinder: `blank`, `image.<name>`, `multi`, each
//     login on private copy-on-write overlays deleted when the session ends,
//     reserved against the OverlayBudget; BaseImageCache shares the bases.
//   DiskBinder: `disk.<id>` for each provisioned disk, CHAP only, every
//     session attached to the disk's shared logical units.
//   SendTargetsPolicy: who sees which targets, at which TargetAddress.
//   ChapGate: the CHAP brute-force throttle around every CHAP exchange.
//   DiskPlacement: whether a disk (or a new free-tier session) is served
//     here, or the login is sent to another node's portal.
//   FreeTierRedirects: where each redirected free-tier initiator was sent,
//     so that its reconnect here goes back to the node keeping its disk.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/limit_events.h"
#include "control/base_image_cache.h"
#include "control/catalog.h"
#include "control/chap_gate.h"
#include "control/clock.h"
#include "control/disk_binder.h"
#include "control/disk_placement.h"
#include "control/free_tier_binder.h"
#include "control/free_tier_redirects.h"
#include "control/free_tier_targets.h"
#include "control/log_throttle.h"
#include "control/random_source.h"
#include "control/send_targets_policy.h"
#include "iscsi/chap_throttle.h"
#include "iscsi/target_provider.h"

namespace scsipub::control {

struct DirectoryConfig {
  std::filesystem::path overlay_dir;
  std::string public_host;  // "host" or "host:port"; empty: the socket's local address
  uint16_t portal_group = 1;
  FreeTierConfig free_tier;
  iscsi::ChapThrottle::Options chap_throttle;  // CHAP attempts per (address group, user) and per group
  FreeRedirectMemoryLimits free_redirects;     // redirected free-tier initiators remembered
  LimitEvents* limit_events = nullptr;                // refusals are counted here; may be null
};

class ProvisionedDisks;

class TargetDirectory final : public iscsi::TargetProvider {
 public:
  // `placement`, `clock` and `random` outlive the directory (app/serve.cc
  // passes the system's; tests fixed ones).
  TargetDirectory(DirectoryConfig config, Catalog& catalog, const DiskPlacement& placement, const Clock& clock,
                  RandomSource& random);
  ~TargetDirectory() override;

  std::optional<iscsi::LoginTarget> find(std::string_view target_name, const iscsi::LoginRequester& who,
                                         const iscsi::PortalInfo& portal) override;
  std::vector<iscsi::SendTargetsEntry> send_targets(std::string_view which, std::string_view session_target,
                                                    std::string_view auth_user,
                                                    const iscsi::PortalInfo& portal) override;
  std::unique_ptr<iscsi::Authenticator> authenticator(std::string_view method, const iscsi::LoginTarget& target,
                                                      std::string_view initiator_name,
                                                      const iscsi::PortalInfo& portal) override;
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view target_name,
                                                                       const lu::Nexus& nexus,
                                                                       const iscsi::PortalInfo& portal) override;

  // Serves `disk.<id>` targets from `disks` (set once, before the listener starts).
  void attach_provisioned(ProvisionedDisks* disks) { disks_.attach(disks); }
  // The read-only base of a catalog image (opened once, then shared).
  Result<std::shared_ptr<const storage::ImageSource>> image_base(const std::string& image);
  // Call after every Catalog::rescan(): forgets the open bases of images that
  // were removed or replaced (running sessions keep theirs).
  void catalog_changed() { bases_.catalog_changed(); }

  // Every target name a stranger may log in to, sorted.
  std::vector<std::string> anonymous_targets() const { return free_targets_.all(); }
  // A live free-tier session's overlay use; nullopt for other sessions.
  std::optional<OverlayUsage> overlay_usage(uint64_t session_id) const { return free_.overlay_usage(session_id); }
  // The images behind the `multi` target's LUNs, LUN 0 first (public for
  // the landing page's catalog).
  std::vector<std::string> multi_images() const { return free_targets_.multi_images(); }
  // True while an overlay id belongs to a live binding or is retained (for the janitor).
  bool overlay_live(std::string_view id) const { return free_.overlay_live(id); }
  // Free-tier overlays kept for a reinstating login (FreeTierBinder): delete
  // those whose grace period is over (a timer calls this), or all of them.
  size_t expire_retained() { return free_.expire_retained(); }
  size_t release_retained() { return free_.release_retained(); }
  size_t retained_count() const { return free_.retained_count(); }
  std::vector<RetainedDiskView> retained() const { return free_.retained(); }
  // The overlay id prefix of this process: ids of earlier runs never collide.
  const std::string& instance_prefix() const { return free_.instance_prefix(); }

 private:
  // The disk target's owner's portal when another node serves it (SendTargets).
  std::optional<std::string> owner_portal(std::string_view target_name) const;
  // Where a free-tier login should go instead of here (nullopt: serve it here).
  std::optional<NodePortals> free_tier_destination(const ReinstateKey& key, Clock::SteadyTime now);
  // `key` was redirected to `node_id`: send it there again when it returns.
  void remember_redirect(const ReinstateKey& key, std::string node_id, Clock::SteadyTime now);

  const DiskPlacement& placement_;
  const Clock& clock_;
  RandomSource& random_;
  const uint16_t portal_group_;
  FreeTierTargets free_targets_;
  BaseImageCache bases_;
  FreeTierBinder free_;
  DiskBinder disks_;
  SendTargetsPolicy send_targets_;
  ChapGate chap_gate_;
  LimitEvents* const limit_events_;
  std::mutex redirects_mu_;         // logins on every event loop ask
  FreeTierRedirects redirects_;     // guarded by redirects_mu_
  std::mutex unknown_target_mu_;
  LogThrottle unknown_target_log_;  // guarded by unknown_target_mu_
};

}  // namespace scsipub::control
