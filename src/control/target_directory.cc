#include "control/target_directory.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "control/dvd_unit.h"
#include "control/overlay_names.h"
#include "control/provisioned_disks.h"
#include "control/target_names.h"
#include "iscsi/chap.h"
#include "iscsi/login_negotiator.h"
#include "lu/logical_unit.h"
#include "scsi/lu_reservations.h"
#include "storage/cow_overlay.h"

namespace scsipub::control {
namespace {

constexpr std::string_view kBlankImage = "blank";

uint64_t mix64(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

iscsi::BindError out_of_resources(std::string message) {
  return {iscsi::login_status::kTargetError, iscsi::login_status::kOutOfResources, std::move(message)};
}

// The LUs of one session, in LUN order.
class SessionLuns final : public scsi::LunMap {
 public:
  void add(uint64_t lun, std::shared_ptr<lu::LogicalUnit> unit) {
    numbers_.push_back(lun);
    units_.push_back(std::move(unit));
  }
  lu::LogicalUnit* find(uint64_t lun) const override {
    for (size_t i = 0; i < numbers_.size(); ++i) {
      if (numbers_[i] == lun) return units_[i].get();
    }
    return nullptr;
  }
  std::span<const uint64_t> luns() const override { return numbers_; }
  std::vector<std::shared_ptr<lu::LogicalUnit>>& units() { return units_; }

 private:
  std::vector<uint64_t> numbers_;
  std::vector<std::shared_ptr<lu::LogicalUnit>> units_;
};

// One CHAP exchange under the throttle (iscsi/chap_throttle.h): charged when
// the challenge goes out, and for discovery again when CHAP_N names the user,
// before the inner authenticator verifies anything; refunded on success.
class ThrottledAuthenticator final : public iscsi::Authenticator {
 public:
  ThrottledAuthenticator(std::unique_ptr<iscsi::Authenticator> inner, TargetDirectory& owner, std::string address,
                         std::string group, std::string user, std::string target)
      : inner_(std::move(inner)),
        owner_(owner),
        address_(std::move(address)),
        group_(std::move(group)),
        user_(std::move(user)),
        target_(std::move(target)) {}
  bool owns_key(std::string_view key) const override { return inner_->owns_key(key); }
  Outcome step(std::span<const iscsi::KeyValue> keys, iscsi::TextWriter& reply) override {
    if (!challenged_ && has(keys, "CHAP_A")) {
      // RFC 7143 12.1.3: the answer to CHAP_A carries our challenge.
      challenged_ = true;
      if (!owner_.chap_challenge(attempt_, group_, user_, address_, target_)) return Outcome::failure;
    }
    if (challenged_ && !named_ && user_.empty()) {
      if (const std::string* name = find(keys, "CHAP_N"); name != nullptr && valid_name(*name)) {
        named_ = true;
        if (!owner_.chap_name_user(attempt_, *name, address_, target_)) return Outcome::failure;
      }
    }
    Outcome o = inner_->step(keys, reply);
    if (o == Outcome::success) owner_.chap_succeeded(attempt_);
    if (o == Outcome::failure) owner_.auth_failed(address_, target_);
    return o;
  }
  std::string identity() const override { return inner_->identity(); }

 private:
  static const std::string* find(std::span<const iscsi::KeyValue> keys, std::string_view key) {
    for (const auto& kv : keys) {
      if (kv.key == key) return &kv.value;
    }
    return nullptr;
  }
  static bool has(std::span<const iscsi::KeyValue> keys, std::string_view key) { return find(keys, key) != nullptr; }
  // What the inner authenticator accepts as a user at all; anything else
  // fails there without a pair to charge.
  static bool valid_name(std::string_view name) { return !name.empty() && name.size() <= iscsi::kChapMaxNameLength; }

  std::unique_ptr<iscsi::Authenticator> inner_;
  TargetDirectory& owner_;
  std::string address_;
  std::string group_;
  std::string user_;  // the disk's CHAP user; empty for discovery until CHAP_N
  std::string target_;
  iscsi::ChapThrottle::Attempt attempt_;
  bool challenged_ = false;
  bool named_ = false;
};

}  // namespace

class TargetDirectory::Binding final : public iscsi::TargetBinding {
 public:
  Binding(TargetDirectory& owner, std::string id, uint64_t nexus_id, std::string group, uint64_t reserved)
      : owner_(owner), id_(std::move(id)), nexus_id_(nexus_id), group_(std::move(group)), reserved_(reserved) {}
  ~Binding() override {
    owner_.forget_binding(nexus_id_);  // before the overlays go: the dashboard reads them
    for (auto& unit : luns_.units()) unit->detach(nexus_id_);
    luns_.units().clear();  // private overlays delete their files here
    owner_.release(id_, group_, reserved_);
  }
  const scsi::LunMap& luns() const override { return luns_; }
  SessionLuns& lun_map() { return luns_; }
  void track(std::shared_ptr<const storage::CowOverlay> overlay) { overlays_.push_back(std::move(overlay)); }
  // Bytes the session wrote against its write limits (a LUN without one is
  // bounded by its size).
  OverlayUsage usage() const {
    OverlayUsage u;
    for (const auto& o : overlays_) {
      u.bytes += o->bytes_written_shared();
      u.limit += o->write_limit() != 0 ? o->write_limit() : o->block_count() * storage::kBlockSize;
    }
    return u;
  }

 private:
  TargetDirectory& owner_;
  std::string id_;
  uint64_t nexus_id_;
  std::string group_;
  uint64_t reserved_;  // overlay bytes held against group_ and the total
  SessionLuns luns_;
  std::vector<std::shared_ptr<const storage::CowOverlay>> overlays_;
};

// A session on a provisioned disk: attached to the disk's shared units.
class TargetDirectory::DiskBinding final : public iscsi::TargetBinding {
 public:
  DiskBinding(std::shared_ptr<ProvisionedDisk> disk, uint64_t nexus_id) : disk_(std::move(disk)), nexus_id_(nexus_id) {}
  ~DiskBinding() override {
    for (auto& unit : luns_.units()) unit->detach(nexus_id_);
    disk_->remove_session();
  }
  const scsi::LunMap& luns() const override { return luns_; }
  SessionLuns& lun_map() { return luns_; }

 private:
  std::shared_ptr<ProvisionedDisk> disk_;
  uint64_t nexus_id_;
  SessionLuns luns_;
};

TargetDirectory::TargetDirectory(DirectoryConfig config, Catalog& catalog)
    : config_(std::move(config)), catalog_(catalog), chap_throttle_(config_.chap_throttle) {
  std::random_device rd;
  uint64_t r = (uint64_t(rd()) << 32) ^ rd();
  instance_ = fmt::format("{:08x}", uint32_t(r));
  naa_seed_ = mix64(r ^ 0x5c5195b);
  blank_ = std::make_shared<storage::BlankImage>(config_.free_tier.blank_size);
}

TargetDirectory::~TargetDirectory() = default;

std::vector<std::string> TargetDirectory::multi_images() const {
  if (!config_.free_tier.multi_images.empty()) return config_.free_tier.multi_images;
  std::vector<std::string> out;
  for (const auto& e : catalog_.entries()) {
    if (out.size() == 2) break;
    if (e.presentation == Presentation::dvd) continue;  // the default multi target is two disks
    out.push_back(e.name);
  }
  if (out.size() < 2) out.assign(2, std::string(kBlankImage));
  return out;
}

std::optional<std::vector<TargetDirectory::LunSpec>> TargetDirectory::luns_for(std::string_view name) const {
  if (!name.starts_with(kIqnPrefix)) return std::nullopt;
  std::string_view rest = name.substr(kIqnPrefix.size());
  if (rest == kBlankSuffix) return std::vector<LunSpec>{{std::string(kBlankImage)}};
  if (rest == kMultiSuffix) {
    std::vector<LunSpec> specs;
    for (auto& img : multi_images()) specs.push_back({img});
    return specs;
  }
  if (rest.starts_with(kImagePrefix)) {
    std::string_view image = rest.substr(kImagePrefix.size());
    if (catalog_.find(image)) return std::vector<LunSpec>{{std::string(image)}};
  }
  return std::nullopt;
}

std::vector<std::string> TargetDirectory::anonymous_targets() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out{blank_target()};
  for (const auto& e : catalog_.entries()) out.push_back(image_target(e.name));
  out.push_back(multi_target());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<iscsi::LoginTarget> TargetDirectory::find(std::string_view target_name,
                                                         const iscsi::PortalInfo& portal) {
  if (auto disk = find_disk(target_name)) return disk;
  std::lock_guard lock(mu_);
  if (luns_for(target_name)) {
    TargetKind k = target_kind(target_name);
    return iscsi::LoginTarget{std::string(target_name), "scsipub", false, std::move(k.kind), std::move(k.image)};
  }
  // A deleted target keeps being retried by iscsid every few seconds, forever.
  auto d = unknown_target_log_.on_event(portal.peer_address, target_name, LogThrottle::Clock::now());
  if (d.warn) {
    spdlog::warn("login from {} to unknown target {} ({} more suppressed)", portal.peer_address, target_name,
                 d.suppressed);
  } else {
    spdlog::debug("login from {} to unknown target {}", portal.peer_address, target_name);
  }
  return std::nullopt;
}

std::string TargetDirectory::portal_address(const iscsi::PortalInfo& portal) const {
  std::string host = config_.public_host;
  std::string port = std::to_string(portal.local_port);
  if (!host.empty()) {
    // "host:port" unless it is a bare IPv6 address.
    auto colon = host.rfind(':');
    bool bracketed_v6 = host.front() == '[';
    bool bare_v6 = !bracketed_v6 && host.find(':') != colon;
    if (colon != std::string::npos && !bare_v6 && (!bracketed_v6 || host[colon - 1] == ']')) {
      port = host.substr(colon + 1);
      host.resize(colon);
    }
    if (bare_v6) host = "[" + host + "]";
  } else {
    host = portal.local_address.find(':') != std::string::npos ? "[" + portal.local_address + "]"
                                                                 : portal.local_address;
  }
  return fmt::format("{}:{},{}", host, port, config_.portal_group);
}

std::vector<iscsi::SendTargetsEntry> TargetDirectory::send_targets(std::string_view which,
                                                                   std::string_view session_target,
                                                                   std::string_view auth_user,
                                                                   const iscsi::PortalInfo& portal) {
  std::vector<std::string> names;
  if (!auth_user.empty()) {
    // An authenticated session sees its account's disks, and nothing else.
    names = account_targets(auth_user);
    if (which != "All") {
      std::string_view wanted = which.empty() ? session_target : which;
      std::erase_if(names, [&](const std::string& n) { return n != wanted; });
    }
  } else if (which == "All") {
    names = anonymous_targets();
  } else {
    std::string_view wanted = which.empty() ? session_target : which;
    std::lock_guard lock(mu_);
    if (!wanted.empty() && luns_for(wanted)) names.emplace_back(wanted);
  }
  std::vector<iscsi::SendTargetsEntry> out;
  // Over TLS the initiator reaches us through a tunnel (stunnel) whose local
  // end we cannot know: without a TargetAddress it logs in where it
  // discovered (RFC 7143 appendix C), which keeps it inside the tunnel instead of
  // sending it to the plain portal.
  std::vector<std::string> addresses;
  if (!portal.tls) addresses.push_back(portal_address(portal));
  for (auto& n : names) out.push_back({std::move(n), addresses});
  return out;
}

Result<std::shared_ptr<const storage::ImageSource>, iscsi::BindError> TargetDirectory::base_for(
    const std::string& image) {
  if (image == kBlankImage) return blank_;
  const auto entry = catalog_.find(image);
  if (!entry) return Unexpected<iscsi::BindError>{out_of_resources("image " + image + " is gone")};
  // Reused only while the name still means the same file: a replaced image
  // opens anew, and sessions on the old file keep their own reference.
  if (auto it = bases_.find(image); it != bases_.end() && it->second.file == entry->file) return it->second.base;
  auto opened = storage::BaseImage::open(entry->path);
  if (!opened.ok()) {
    return Unexpected<iscsi::BindError>{out_of_resources("cannot open image " + image + ": " + opened.error().message)};
  }
  std::shared_ptr<const storage::ImageSource> base = opened.value();
  bases_.insert_or_assign(image, OpenBase{entry->file, base});
  return base;
}

void TargetDirectory::catalog_changed() {
  const auto entries = catalog_.snapshot();
  std::lock_guard lock(mu_);
  // Dropping the cache's reference closes a removed or replaced file as soon
  // as the last session on it ends.
  std::erase_if(bases_, [&](const auto& kv) {
    auto it = std::lower_bound(entries->begin(), entries->end(), kv.first,
                               [](const CatalogEntry& e, const std::string& n) { return e.name < n; });
    return it == entries->end() || it->name != kv.first || it->file != kv.second.file;
  });
}

uint64_t TargetDirectory::next_naa() {
  // Unique per LU within this process and random across processes.
  return lu::naa5_identifier(mix64(naa_seed_ + lu_counter_.fetch_add(1)));
}

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> TargetDirectory::bind(std::string_view target_name,
                                                                                      const lu::Nexus& nexus,
                                                                                      const iscsi::PortalInfo& portal) {
  if (!disk_id_of(target_name).empty()) return bind_disk(target_name, nexus);
  std::vector<std::shared_ptr<const storage::ImageSource>> bases;
  std::vector<std::string> images;
  std::vector<bool> dvd;  // served as a DVD-ROM drive: no overlay
  std::string id = fmt::format("{}{:08x}", instance_, uint32_t(nexus.id));
  {
    std::lock_guard lock(mu_);
    auto specs = luns_for(target_name);
    if (!specs) {
      return Unexpected<iscsi::BindError>{
          {iscsi::login_status::kInitiatorError, iscsi::login_status::kNotFound, "target not found"}};
    }
    for (const auto& spec : *specs) {
      auto base = base_for(spec.image);
      if (!base.ok()) return Unexpected<iscsi::BindError>{base.error()};
      bases.push_back(base.value());
      images.push_back(spec.image);
      dvd.push_back(serves_as_dvd(catalog_, spec.image));
    }
  }
  uint64_t worst_case = 0;
  for (size_t lun = 0; lun < bases.size(); ++lun) {
    if (!dvd[lun]) worst_case += overlay_worst_case(images[lun], *bases[lun]);
  }
  if (auto over = reserve_overlay_bytes(portal.group(), worst_case)) {
    count_limit(config_.limit_events, *over, portal.peer_address, target_name);
    return Unexpected<iscsi::BindError>{out_of_resources(*over == Limit::free_overlay_total
                                                             ? "free-tier overlay bytes exhausted"
                                                             : "free-tier overlay bytes per address exhausted")};
  }
  {
    std::lock_guard lock(mu_);
    live_ids_.insert(id);  // before any file exists, so the janitor never races us
  }
  // From here the binding owns the id and the reservation: its destructor releases them.
  auto binding = std::make_unique<Binding>(*this, id, nexus.id, portal.group(), worst_case);
  bool multi = bases.size() > 1;
  for (uint32_t lun = 0; lun < bases.size(); ++lun) {
    const std::string& image = images[lun];
    lu::Identity ident;
    ident.serial = fmt::format("{}l{}", id, lun);
    ident.naa_id = next_naa();
    ident.device_name = fmt::format("{},L,0x{:016x}", target_name, uint64_t(lun) << 48);
    if (dvd[lun]) {
      auto unit = make_dvd_unit(bases[lun], std::move(ident));
      unit->attach(nexus);
      binding->lun_map().add(lun, std::move(unit));
      continue;
    }
    storage::OverlayOptions opts;
    opts.delete_on_close = true;
    opts.write_limit = write_limit_for(image);
    auto path = config_.overlay_dir / overlay_file_name(id, multi ? std::optional<uint32_t>(lun) : std::nullopt);
    auto overlay = storage::CowOverlay::create(bases[lun], path, opts);
    if (!overlay.ok()) {
      spdlog::error("cannot create overlay {}: {}", path.string(), overlay.error().message);
      return Unexpected<iscsi::BindError>{out_of_resources("overlay creation failed")};
    }
    ident.product = image == kBlankImage ? "BLANK" : "IMAGE";
    std::shared_ptr<storage::CowOverlay> cow = std::move(overlay).value();
    binding->track(cow);
    std::shared_ptr<storage::BlockStore> store = std::move(cow);
    auto unit = std::make_shared<lu::LogicalUnit>(std::move(store), std::move(ident));
    // Free tier: reservations live as long as the session's LU, in memory.
    unit->set_extension(std::make_unique<scsi::LuReservations>());
    unit->attach(nexus);
    binding->lun_map().add(lun, std::move(unit));
  }
  {
    std::lock_guard lock(mu_);
    bindings_[nexus.id] = binding.get();
  }
  return std::unique_ptr<iscsi::TargetBinding>(std::move(binding));
}

void TargetDirectory::forget_binding(uint64_t session_id) {
  std::lock_guard lock(mu_);
  bindings_.erase(session_id);
}

std::optional<OverlayUsage> TargetDirectory::overlay_usage(uint64_t session_id) const {
  std::lock_guard lock(mu_);
  auto it = bindings_.find(session_id);
  if (it == bindings_.end()) return std::nullopt;
  return it->second->usage();
}

uint64_t TargetDirectory::write_limit_for(std::string_view image) const {
  return image == kBlankImage ? config_.free_tier.blank_write_limit : config_.free_tier.image_write_limit;
}

// An overlay never holds more than the LU's size, nor more than its write limit.
uint64_t TargetDirectory::overlay_worst_case(std::string_view image, const storage::ImageSource& base) const {
  uint64_t limit = write_limit_for(image);
  return limit == 0 ? base.size_bytes() : std::min(limit, base.size_bytes());
}

// Both budgets at once, or neither: a login refused by one holds nothing.
std::optional<Limit> TargetDirectory::reserve_overlay_bytes(const std::string& group, uint64_t bytes) {
  const uint64_t per_group = config_.free_tier.overlay_bytes_per_ip;
  const uint64_t total = config_.free_tier.overlay_bytes_total;
  std::lock_guard lock(mu_);
  auto it = overlay_bytes_by_ip_.find(group);
  const uint64_t held = it == overlay_bytes_by_ip_.end() ? 0 : it->second;
  if (per_group != 0 && (bytes > per_group || held > per_group - bytes)) return Limit::free_overlay_per_ip;
  if (total != 0 && (bytes > total || overlay_bytes_reserved_ > total - bytes)) return Limit::free_overlay_total;
  overlay_bytes_by_ip_[group] = held + bytes;
  overlay_bytes_reserved_ += bytes;
  return std::nullopt;
}

void TargetDirectory::release(const std::string& id, const std::string& group, uint64_t reserved) {
  std::lock_guard lock(mu_);
  live_ids_.erase(id);
  if (auto it = overlay_bytes_by_ip_.find(group); it != overlay_bytes_by_ip_.end()) {
    it->second -= std::min(it->second, reserved);
    if (it->second == 0) overlay_bytes_by_ip_.erase(it);
  }
  overlay_bytes_reserved_ -= std::min(overlay_bytes_reserved_, reserved);
}

bool TargetDirectory::overlay_live(std::string_view id) const {
  std::lock_guard lock(mu_);
  return live_ids_.contains(id);
}

Result<std::shared_ptr<const storage::ImageSource>> TargetDirectory::image_base(const std::string& image) {
  std::lock_guard lock(mu_);
  auto base = base_for(image);
  if (!base.ok()) return fail(base.error().message);
  return base.value();
}

// ---- provisioned disks ----

std::optional<iscsi::LoginTarget> TargetDirectory::find_disk(std::string_view target_name) {
  std::string_view id = disk_id_of(target_name);
  if (id.empty() || disks_ == nullptr) return std::nullopt;
  auto disk = disks_->find(id);
  if (!disk || disk->deleted()) return std::nullopt;
  return iscsi::LoginTarget{std::string(target_name), "scsipub disk " + std::string(id), true, "disk", ""};
}

std::vector<std::string> TargetDirectory::account_targets(std::string_view chap_user) const {
  std::vector<std::string> out;
  if (disks_ == nullptr) return out;
  auto disk = disks_->find_by_chap_user(chap_user);
  if (!disk) return out;
  for (const auto& d : disks_->list_by_account(disk->record().account_id)) {
    if (!d->deleted()) out.push_back(disk_target(d->record().id));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> TargetDirectory::bind_disk(
    std::string_view target_name, const lu::Nexus& nexus) {
  auto disk = disks_ ? disks_->find(disk_id_of(target_name)) : nullptr;
  if (!disk || disk->deleted()) {
    return Unexpected<iscsi::BindError>{
        {iscsi::login_status::kInitiatorError, iscsi::login_status::kNotFound, "disk not found"}};
  }
  const Tier tier = disks_->tier_of(*disk);
  if (!disk->try_add_session(tier.max_sessions_per_disk)) {
    return Unexpected<iscsi::BindError>{out_of_resources(
        fmt::format("disk {} already has {} session(s), the tier's maximum", disk->record().id,
                    tier.max_sessions_per_disk))};
  }
  auto binding = std::make_unique<DiskBinding>(disk, nexus.id);
  for (uint32_t lun = 0; lun < disk->units().size(); ++lun) {
    const auto& unit = disk->units()[lun].lu;
    unit->attach(nexus);
    binding->lun_map().add(lun, unit);
  }
  return std::unique_ptr<iscsi::TargetBinding>(std::move(binding));
}

std::unique_ptr<iscsi::Authenticator> TargetDirectory::authenticator(std::string_view method,
                                                                     const iscsi::LoginTarget& target,
                                                                     std::string_view,
                                                                     const iscsi::PortalInfo& portal) {
  if (method != "CHAP" || disks_ == nullptr) return nullptr;
  const std::string& group = portal.group();
  const std::string_view shown = target.name.empty() ? std::string_view("discovery") : std::string_view(target.name);
  // A disk target names its one CHAP user up front; discovery names it with CHAP_N.
  std::string user;
  if (!target.name.empty()) {
    if (auto disk = disks_->find(disk_id_of(target.name)); disk && !disk->deleted()) user = disk->record().chap_user;
  }
  {
    std::lock_guard lock(auth_mu_);
    if (!chap_allowed(chap_throttle_.check(group, user), portal.peer_address, shown)) {
      return nullptr;  // a target that requires CHAP then answers 02/01
    }
  }
  // A disk accepts only its own credentials; a discovery session any disk's
  // (it then sees that account's disks).
  ProvisionedDisks* disks = disks_;
  auto lookup = [disks](std::string_view target_name,
                        std::string_view chap_n) -> std::optional<iscsi::ChapCredentials> {
    auto disk = target_name.empty() ? disks->find_by_chap_user(chap_n) : disks->find(disk_id_of(target_name));
    if (!disk || disk->deleted() || disk->record().chap_user != chap_n) return std::nullopt;
    const db::Disk& r = disk->record();
    return iscsi::ChapCredentials{r.chap_secret, r.mutual_secret, disk_target(r.id)};
  };
  auto chap = std::make_unique<iscsi::ChapAuthenticator>(target.name, lookup, iscsi::openssl_random_bytes);
  return std::make_unique<ThrottledAuthenticator>(std::move(chap), *this, portal.peer_address, group,
                                                  std::move(user), std::string(shown));
}

// Counts a refusal; called with auth_mu_ held.
bool TargetDirectory::chap_allowed(iscsi::ChapThrottle::Verdict v, std::string_view peer, std::string_view target) {
  switch (v) {
    case iscsi::ChapThrottle::Verdict::allowed: return true;
    case iscsi::ChapThrottle::Verdict::user_locked:
      count_limit(config_.limit_events, Limit::chap_failures, peer, target);
      return false;
    case iscsi::ChapThrottle::Verdict::group_locked:
      count_limit(config_.limit_events, Limit::chap_attempts_per_ip, peer, target);
      return false;
  }
  return false;
}

bool TargetDirectory::chap_challenge(iscsi::ChapThrottle::Attempt& attempt, const std::string& group,
                                     std::string_view user, std::string_view peer, std::string_view target) {
  std::lock_guard lock(auth_mu_);
  return chap_allowed(chap_throttle_.challenge(attempt, group, user), peer, target);
}

bool TargetDirectory::chap_name_user(iscsi::ChapThrottle::Attempt& attempt, std::string_view user,
                                     std::string_view peer, std::string_view target) {
  std::lock_guard lock(auth_mu_);
  return chap_allowed(chap_throttle_.name_user(attempt, user), peer, target);
}

void TargetDirectory::chap_succeeded(iscsi::ChapThrottle::Attempt& attempt) {
  std::lock_guard lock(auth_mu_);
  chap_throttle_.succeeded(attempt);
}

void TargetDirectory::auth_failed(const std::string& address, std::string_view target) {
  std::lock_guard lock(auth_mu_);
  auto d = auth_failure_log_.on_event(address, target, LogThrottle::Clock::now());
  if (d.warn) {
    spdlog::warn("CHAP authentication from {} to {} failed ({} more suppressed)", address, target, d.suppressed);
  }
}

}  // namespace scsipub::control
