#pragma once
// The targets this node serves and the logical units a login attaches to.
// Free tier: `blank` (zero base), `image.<name>` per catalog image, `multi`
// (two LUNs); each login gets private copy-on-write overlays that are deleted
// when the session ends.
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
#include "iscsi/target_provider.h"
#include "storage/image_source.h"

namespace scsipub::control {

struct FreeTierConfig {
  uint64_t blank_size = storage::BlankImage::kDefaultBytes;
  uint64_t blank_write_limit = 0;           // 0: bounded only by the disk size
  uint64_t image_write_limit = 256u << 20;  // bytes a session may write over an image
  std::vector<std::string> multi_images;    // catalog names ("blank" allowed); empty: default
};

struct DirectoryConfig {
  std::filesystem::path overlay_dir;
  std::string public_host;  // "host" or "host:port"; empty: the socket's local address
  uint16_t portal_group = 1;
  FreeTierConfig free_tier;
};

class TargetDirectory final : public iscsi::TargetProvider {
 public:
  TargetDirectory(DirectoryConfig config, Catalog& catalog);
  ~TargetDirectory() override;

  std::optional<iscsi::LoginTarget> find(std::string_view target_name, const iscsi::PortalInfo& portal) override;
  std::vector<iscsi::SendTargetsEntry> send_targets(std::string_view which, std::string_view session_target,
                                                    const iscsi::PortalInfo& portal) override;
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view target_name,
                                                                       const lu::Nexus& nexus,
                                                                       const iscsi::PortalInfo& portal) override;

  // Every target name a stranger may log in to, sorted.
  std::vector<std::string> anonymous_targets() const;
  // True while an overlay id belongs to a live binding (for the janitor).
  bool overlay_live(std::string_view id) const;
  // The overlay id prefix of this process: ids of earlier runs never collide.
  const std::string& instance_prefix() const { return instance_; }

 private:
  class Binding;
  struct LunSpec {
    std::string image;  // catalog name or "blank"
  };
  std::optional<std::vector<LunSpec>> luns_for(std::string_view target_name) const;
  std::vector<std::string> multi_images() const;
  Result<std::shared_ptr<const storage::ImageSource>, iscsi::BindError> base_for(const std::string& image);
  std::string portal_address(const iscsi::PortalInfo& portal) const;
  uint64_t next_naa();
  void release(const std::string& id);

  DirectoryConfig config_;
  Catalog& catalog_;
  std::string instance_;  // random hex prefix of overlay ids
  uint64_t naa_seed_;
  std::atomic<uint64_t> lu_counter_{0};
  std::shared_ptr<const storage::ImageSource> blank_;

  mutable std::mutex mu_;  // cold path: login and janitor
  std::map<std::string, std::shared_ptr<const storage::ImageSource>> bases_;
  std::set<std::string, std::less<>> live_ids_;
  LogThrottle unknown_target_log_;
};

}  // namespace scsipub::control
