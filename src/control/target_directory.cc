#include "control/target_directory.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "control/overlay_names.h"
#include "control/target_names.h"
#include "iscsi/login_negotiator.h"
#include "lu/logical_unit.h"
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
  void add(uint64_t lun, std::unique_ptr<lu::LogicalUnit> unit) {
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
  std::vector<std::unique_ptr<lu::LogicalUnit>>& units() { return units_; }

 private:
  std::vector<uint64_t> numbers_;
  std::vector<std::unique_ptr<lu::LogicalUnit>> units_;
};

}  // namespace

class TargetDirectory::Binding final : public iscsi::TargetBinding {
 public:
  Binding(TargetDirectory& owner, std::string id, uint64_t nexus_id)
      : owner_(owner), id_(std::move(id)), nexus_id_(nexus_id) {}
  ~Binding() override {
    for (auto& unit : luns_.units()) unit->detach(nexus_id_);
    luns_.units().clear();  // private overlays delete their files here
    owner_.release(id_);
  }
  const scsi::LunMap& luns() const override { return luns_; }
  SessionLuns& lun_map() { return luns_; }

 private:
  TargetDirectory& owner_;
  std::string id_;
  uint64_t nexus_id_;
  SessionLuns luns_;
};

TargetDirectory::TargetDirectory(DirectoryConfig config, Catalog& catalog)
    : config_(std::move(config)), catalog_(catalog) {
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
    if (catalog_.find(image) != nullptr) return std::vector<LunSpec>{{std::string(image)}};
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
  std::lock_guard lock(mu_);
  if (luns_for(target_name)) {
    return iscsi::LoginTarget{std::string(target_name), "scsipub", false};
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
                                                                   const iscsi::PortalInfo& portal) {
  std::vector<std::string> names;
  if (which == "All") {
    names = anonymous_targets();
  } else {
    std::string_view wanted = which.empty() ? session_target : which;
    std::lock_guard lock(mu_);
    if (!wanted.empty() && luns_for(wanted)) names.emplace_back(wanted);
  }
  std::vector<iscsi::SendTargetsEntry> out;
  std::string address = portal_address(portal);
  for (auto& n : names) out.push_back({std::move(n), {address}});
  return out;
}

Result<std::shared_ptr<const storage::ImageSource>, iscsi::BindError> TargetDirectory::base_for(
    const std::string& image) {
  if (image == kBlankImage) return blank_;
  if (auto it = bases_.find(image); it != bases_.end()) return it->second;
  const CatalogEntry* entry = catalog_.find(image);
  if (entry == nullptr) return Unexpected<iscsi::BindError>{out_of_resources("image " + image + " is gone")};
  auto opened = storage::BaseImage::open(entry->path);
  if (!opened.ok()) {
    return Unexpected<iscsi::BindError>{out_of_resources("cannot open image " + image + ": " + opened.error().message)};
  }
  std::shared_ptr<const storage::ImageSource> base = opened.value();
  bases_.emplace(image, base);
  return base;
}

uint64_t TargetDirectory::next_naa() {
  // NAA 5 (IEEE Registered): 4-bit NAA, 24-bit OUI, 36-bit vendor specific.
  // The OUI is a locally administered placeholder; the vendor part is unique
  // per LU within this process and random across processes.
  constexpr uint64_t kOui = 0x001405;
  uint64_t v = mix64(naa_seed_ + lu_counter_.fetch_add(1)) & 0xfffffffffull;
  return (uint64_t{5} << 60) | (kOui << 36) | v;
}

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> TargetDirectory::bind(std::string_view target_name,
                                                                                      const lu::Nexus& nexus,
                                                                                      const iscsi::PortalInfo&) {
  std::vector<std::shared_ptr<const storage::ImageSource>> bases;
  std::vector<std::string> images;
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
    }
    live_ids_.insert(id);  // before any file exists, so the janitor never races us
  }
  // From here the binding owns the id: its destructor releases it.
  auto binding = std::make_unique<Binding>(*this, id, nexus.id);
  bool multi = bases.size() > 1;
  for (uint32_t lun = 0; lun < bases.size(); ++lun) {
    const std::string& image = images[lun];
    storage::OverlayOptions opts;
    opts.delete_on_close = true;
    opts.write_limit = image == kBlankImage ? config_.free_tier.blank_write_limit : config_.free_tier.image_write_limit;
    auto path = config_.overlay_dir / overlay_file_name(id, multi ? std::optional<uint32_t>(lun) : std::nullopt);
    auto overlay = storage::CowOverlay::create(bases[lun], path, opts);
    if (!overlay.ok()) {
      spdlog::error("cannot create overlay {}: {}", path.string(), overlay.error().message);
      return Unexpected<iscsi::BindError>{out_of_resources("overlay creation failed")};
    }
    lu::Identity ident;
    ident.product = image == kBlankImage ? "BLANK" : "IMAGE";
    ident.serial = fmt::format("{}l{}", id, lun);
    ident.naa_id = next_naa();
    ident.device_name = fmt::format("{},L,0x{:016x}", target_name, uint64_t(lun) << 48);
    std::shared_ptr<storage::BlockStore> store = std::move(overlay).value();
    auto unit = std::make_unique<lu::LogicalUnit>(std::move(store), std::move(ident));
    unit->attach(nexus);
    binding->lun_map().add(lun, std::move(unit));
  }
  return std::unique_ptr<iscsi::TargetBinding>(std::move(binding));
}

void TargetDirectory::release(const std::string& id) {
  std::lock_guard lock(mu_);
  live_ids_.erase(id);
}

bool TargetDirectory::overlay_live(std::string_view id) const {
  std::lock_guard lock(mu_);
  return live_ids_.contains(id);
}

}  // namespace scsipub::control
