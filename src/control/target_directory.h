#pragma once
// The targets this node serves and the logical units a login attaches to.
// Free tier: `blank` (zero base), `image.<name>` per catalog image, `multi`
// (two LUNs); each login gets private copy-on-write overlays that are deleted
// when the session ends. Paid tier: `disk.<id>` for each provisioned disk,
// CHAP only, every session attached to the disk's shared logical units.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/catalog.h"
#include "control/log_throttle.h"
#include "common/limit_events.h"
#include "iscsi/chap_throttle.h"
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
};

struct DirectoryConfig {
  std::filesystem::path overlay_dir;
  std::string public_host;  // "host" or "host:port"; empty: the socket's local address
  uint16_t portal_group = 1;
  FreeTierConfig free_tier;
  iscsi::ChapThrottle::Options chap_throttle;  // CHAP attempts per (address group, user) and per group
  LimitEvents* limit_events = nullptr;                // refusals are counted here; may be null
};

class ProvisionedDisks;

// A free-tier session's overlay use (all its LUNs).
struct OverlayUsage {
  uint64_t bytes = 0;  // written, counted against the write limits
  uint64_t limit = 0;  // the write limits (a LUN's size where it has none)
};

class TargetDirectory final : public iscsi::TargetProvider {
 public:
  TargetDirectory(DirectoryConfig config, Catalog& catalog);
  ~TargetDirectory() override;

  std::optional<iscsi::LoginTarget> find(std::string_view target_name, const iscsi::PortalInfo& portal) override;
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
  void attach_provisioned(ProvisionedDisks* disks) { disks_ = disks; }
  // The read-only base of a catalog image (opened once, then shared).
  Result<std::shared_ptr<const storage::ImageSource>> image_base(const std::string& image);
  // Call after every Catalog::rescan(): forgets the open bases of images that
  // were removed or replaced (running sessions keep theirs).
  void catalog_changed();
  // The CHAP throttle's steps for one exchange (iscsi/chap_throttle.h);
  // false: refused, and counted in LimitEvents. `peer` and `target` are for
  // the log and the counters.
  bool chap_challenge(iscsi::ChapThrottle::Attempt& attempt, const std::string& group, std::string_view user,
                      std::string_view peer, std::string_view target);
  bool chap_name_user(iscsi::ChapThrottle::Attempt& attempt, std::string_view user, std::string_view peer,
                      std::string_view target);
  void chap_succeeded(iscsi::ChapThrottle::Attempt& attempt);
  // Logs a failed CHAP exchange (throttled).
  void auth_failed(const std::string& address, std::string_view target);

  // Every target name a stranger may log in to, sorted.
  std::vector<std::string> anonymous_targets() const;
  // A live free-tier session's overlay use; nullopt for other sessions.
  std::optional<OverlayUsage> overlay_usage(uint64_t session_id) const;
  // The images behind the `multi` target's LUNs, LUN 0 first (public for
  // the landing page's catalog).
  std::vector<std::string> multi_images() const;
  // True while an overlay id belongs to a live binding (for the janitor).
  bool overlay_live(std::string_view id) const;
  // The overlay id prefix of this process: ids of earlier runs never collide.
  const std::string& instance_prefix() const { return instance_; }

 private:
  class Binding;
  class DiskBinding;
  std::optional<iscsi::LoginTarget> find_disk(std::string_view target_name);
  std::vector<std::string> account_targets(std::string_view chap_user) const;
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind_disk(std::string_view target_name,
                                                                            const lu::Nexus& nexus);
  struct LunSpec {
    std::string image;  // catalog name or "blank"
  };
  std::optional<std::vector<LunSpec>> luns_for(std::string_view target_name) const;
  Result<std::shared_ptr<const storage::ImageSource>, iscsi::BindError> base_for(const std::string& image);
  std::string portal_address(const iscsi::PortalInfo& portal) const;
  uint64_t next_naa();
  void release(const std::string& id, const std::string& address, uint64_t reserved);
  void forget_binding(uint64_t session_id);
  uint64_t write_limit_for(std::string_view image) const;
  uint64_t overlay_worst_case(std::string_view image, const storage::ImageSource& base) const;
  std::optional<Limit> reserve_overlay_bytes(const std::string& group, uint64_t bytes);
  bool chap_allowed(iscsi::ChapThrottle::Verdict v, std::string_view peer, std::string_view target);

  DirectoryConfig config_;
  Catalog& catalog_;
  std::string instance_;  // random hex prefix of overlay ids
  uint64_t naa_seed_;
  std::atomic<uint64_t> lu_counter_{0};
  std::shared_ptr<const storage::ImageSource> blank_;

  mutable std::mutex mu_;  // cold path: login and janitor
  struct OpenBase {
    FileIdentity file;
    std::shared_ptr<const storage::ImageSource> base;
  };
  std::map<std::string, OpenBase> bases_;
  std::set<std::string, std::less<>> live_ids_;
  std::map<uint64_t, const Binding*> bindings_;  // free-tier sessions by id, for overlay_usage()
  std::map<std::string, uint64_t, std::less<>> overlay_bytes_by_ip_;  // per address group, by live free sessions
  uint64_t overlay_bytes_reserved_ = 0;                                // by every live free session
  LogThrottle unknown_target_log_;
  ProvisionedDisks* disks_ = nullptr;

  std::mutex auth_mu_;  // the throttle is touched by logins on every loop
  iscsi::ChapThrottle chap_throttle_;
  LogThrottle auth_failure_log_;
};

}  // namespace scsipub::control
