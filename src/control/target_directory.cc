#include "control/target_directory.h"

#include <spdlog/spdlog.h>

#include "control/login_placement.h"
#include "control/target_names.h"
#include "iscsi/chap.h"

namespace scsipub::control {

TargetDirectory::TargetDirectory(DirectoryConfig config, Catalog& catalog, const DiskPlacement& placement,
                                 const Clock& clock, RandomSource& random)
    : placement_(placement),
      clock_(clock),
      random_(random),
      portal_group_(config.portal_group),
      free_targets_(catalog, config.free_tier.multi_images),
      bases_(catalog, config.free_tier.blank_size),
      free_(config.free_tier, config.overlay_dir, config.limit_events, free_targets_, bases_, random, clock),
      send_targets_(
          SendTargetsPolicy::Sources{
              [this](std::string_view user) { return disks_.account_targets(user); },
              [this] { return free_targets_.all(); },
              [this](std::string_view name) { return free_targets_.images_of(name).has_value(); },
              [this](std::string_view name) { return owner_portal(name); },
          },
          config.public_host, config.portal_group),
      chap_gate_(config.chap_throttle, config.limit_events, clock),
      limit_events_(config.limit_events),
      redirects_(config.free_redirects) {}

TargetDirectory::~TargetDirectory() = default;

std::optional<iscsi::LoginTarget> TargetDirectory::find(std::string_view target_name,
                                                         const iscsi::LoginRequester& who,
                                                         const iscsi::PortalInfo& portal) {
  if (auto disk = disks_.find(target_name)) {
    place_login(*disk, placement_.place_disk(disk_id_of(target_name)), portal_group_, portal);
    return disk;
  }
  // A disk created through another node of a fleet moments ago: this node
  // has not read its record yet, but the lease table already says who serves
  // it. The owner checks the credentials.
  if (std::string_view id = disk_id_of(target_name); !id.empty()) {
    Placement where = placement_.place_disk(id);
    if (where.where == Placement::Where::elsewhere) {
      iscsi::LoginTarget target{std::string(target_name), "scsipub disk " + std::string(id), true, "disk", ""};
      place_login(target, where, portal_group_, portal);
      return target;
    }
  }
  if (free_targets_.images_of(target_name)) {
    TargetKind k = target_kind(target_name);
    iscsi::LoginTarget target{std::string(target_name), "scsipub", false, std::move(k.kind), std::move(k.image)};
    ReinstateKey key{std::string(who.initiator_name), who.isid, std::string(target_name), portal.peer_address};
    const Clock::SteadyTime now = clock_.steady_now();
    if (auto elsewhere = free_tier_destination(key, now)) {
      std::string node_id = elsewhere->node_id;
      place_login(target, Placement{Placement::Where::elsewhere, std::move(*elsewhere)}, portal_group_, portal);
      if (target.where == iscsi::LoginTarget::Where::moved) remember_redirect(key, std::move(node_id), now);
    }
    return target;
  }
  // A deleted target keeps being retried by iscsid every few seconds, forever.
  std::lock_guard lock(unknown_target_mu_);
  auto d = unknown_target_log_.on_event(portal.peer_address, target_name, clock_.steady_now());
  if (d.warn) {
    spdlog::warn("login from {} to unknown target {} ({} more suppressed)", portal.peer_address, target_name,
                 d.suppressed);
  } else {
    spdlog::debug("login from {} to unknown target {}", portal.peer_address, target_name);
  }
  return std::nullopt;
}

std::optional<NodePortals> TargetDirectory::free_tier_destination(const ReinstateKey& key, Clock::SteadyTime now) {
  std::optional<std::string> sent_before;
  {
    std::lock_guard lock(redirects_mu_);
    sent_before = redirects_.node_for(key, now);
  }
  // An initiator reconnects to the portal it started at, not to the one it
  // was redirected to (01/01 is temporary, RFC 7143 11.13.5): send it
  // back to the node that has its disk, over the threshold or not, while that
  // node is alive. Once it is gone, decide afresh.
  std::optional<NodePortals> to = sent_before ? placement_.alive_node(*sent_before) : std::nullopt;
  if (!to) to = placement_.free_tier_redirect();
  // A login that reinstates a session here (RFC 7143 6.3.5) stays: its
  // overlays, live or kept after a dropped connection, are on this node.
  if (to && free_.holds(key)) to.reset();
  if (!to && sent_before) {
    std::lock_guard lock(redirects_mu_);
    redirects_.forget(key);  // served here now: the other node's copy no longer matters
  }
  return to;
}

void TargetDirectory::remember_redirect(const ReinstateKey& key, std::string node_id, Clock::SteadyTime now) {
  size_t evicted = 0;
  {
    std::lock_guard lock(redirects_mu_);
    evicted = redirects_.remember(key, std::move(node_id), now);
  }
  // The evicted initiator's next reconnect here is placed afresh: its kept
  // disk on the other node may be lost to it.
  if (evicted > 0) count_limit(limit_events_, Limit::free_redirect_memory, key.peer_address);
}

std::optional<std::string> TargetDirectory::owner_portal(std::string_view target_name) const {
  const std::string_view disk_id = disk_id_of(target_name);
  if (disk_id.empty()) return std::nullopt;
  Placement p = placement_.place_disk(disk_id);
  if (p.where != Placement::Where::elsewhere || p.owner.iscsi_portal.empty()) return std::nullopt;
  return std::move(p.owner.iscsi_portal);
}

std::vector<iscsi::SendTargetsEntry> TargetDirectory::send_targets(std::string_view which,
                                                                   std::string_view session_target,
                                                                   std::string_view auth_user,
                                                                   const iscsi::PortalInfo& portal) {
  return send_targets_.answer(which, session_target, auth_user, portal);
}

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> TargetDirectory::bind(std::string_view target_name,
                                                                                      const lu::Nexus& nexus,
                                                                                      const iscsi::PortalInfo& portal) {
  if (!disk_id_of(target_name).empty()) return disks_.bind(target_name, nexus);
  return free_.bind(target_name, nexus, portal);
}

Result<std::shared_ptr<const storage::ImageSource>> TargetDirectory::image_base(const std::string& image) {
  auto base = bases_.open(image);
  if (!base.ok()) return fail(base.error().message);
  return base->image;
}

std::unique_ptr<iscsi::Authenticator> TargetDirectory::authenticator(std::string_view method,
                                                                     const iscsi::LoginTarget& target,
                                                                     std::string_view,
                                                                     const iscsi::PortalInfo& portal) {
  if (method != "CHAP" || !disks_.serving()) return nullptr;
  const std::string& group = portal.group();
  const std::string_view shown = target.name.empty() ? std::string_view("discovery") : std::string_view(target.name);
  // A disk target names its one CHAP user up front; discovery names it with CHAP_N.
  std::string user = target.name.empty() ? std::string() : disks_.chap_user_of(target.name);
  if (!chap_gate_.admit(group, user, portal.peer_address, shown)) {
    return nullptr;  // a target that requires CHAP then answers 02/01
  }
  RandomSource& random = random_;
  auto chap = std::make_unique<iscsi::ChapAuthenticator>(
      target.name, disks_.credentials(), [&random](std::span<uint8_t> out) { return random.fill_secure(out); });
  return chap_gate_.wrap(std::move(chap), portal.peer_address, group, std::move(user), std::string(shown));
}

}  // namespace scsipub::control
