#include "lu/logical_unit.h"

#include <algorithm>

namespace scsipub::lu {

LogicalUnit::LogicalUnit(std::shared_ptr<storage::BlockStore> store, Identity identity)
    : store_(std::move(store)), identity_(std::move(identity)) {}

LogicalUnit::~LogicalUnit() = default;

LogicalUnit::NexusState* LogicalUnit::find_locked(uint64_t nexus_id) {
  for (auto& n : nexuses_)
    if (n.id == nexus_id) return &n;
  return nullptr;
}

const LogicalUnit::NexusState* LogicalUnit::find_locked(uint64_t nexus_id) const {
  for (const auto& n : nexuses_)
    if (n.id == nexus_id) return &n;
  return nullptr;
}

void LogicalUnit::push_ua_locked(NexusState& n, const UnitAttention& ua) {
  // SAM-5 5.14: a condition already pending is not queued twice.
  if (std::find(n.pending.begin(), n.pending.end(), ua) != n.pending.end()) return;
  if (n.pending.size() >= kMaxPendingUnitAttentions) return;
  n.pending.push_back(ua);
  pending_total_.fetch_add(1, std::memory_order_relaxed);
}

void LogicalUnit::clear_ua_locked(NexusState& n) {
  pending_total_.fetch_sub(n.pending.size(), std::memory_order_relaxed);
  n.pending.clear();
}

void LogicalUnit::set_mode_locked(const ModeParameters& params) {
  mode_ = params;
  descriptor_sense_.store(params.descriptor_sense, std::memory_order_relaxed);
  write_cache_enabled_.store(params.write_cache_enabled, std::memory_order_relaxed);
}

// SAM-5 6.3.1: a new I_T nexus sees POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
void LogicalUnit::attach(const Nexus& nexus) {
  std::lock_guard lock(mu_);
  NexusState* n = find_locked(nexus.id);
  if (n == nullptr) {
    nexuses_.push_back(NexusState{nexus.id, nexus, {}, false});
    n = &nexuses_.back();
  }
  clear_ua_locked(*n);
  push_ua_locked(*n, ua::kPowerOnResetOccurred);
}

void LogicalUnit::detach(uint64_t nexus_id) {
  std::optional<Nexus> lost;
  {
    std::lock_guard lock(mu_);
    if (NexusState* n = find_locked(nexus_id)) {
      clear_ua_locked(*n);
      lost = n->nexus;
    }
    std::erase_if(nexuses_, [&](const NexusState& n) { return n.id == nexus_id; });
  }
  // SPC-4 5.9.1: SCSI-2 reservations end with their I_T nexus. Outside mu_ so
  // the extension may raise unit attentions.
  if (lost && extension_) extension_->on_nexus_lost(*lost);
}

void LogicalUnit::raise_unit_attention_to_port(std::string_view initiator_port, const UnitAttention& ua) {
  std::lock_guard lock(mu_);
  for (auto& n : nexuses_) {
    if (initiator_port_name(n.nexus) == initiator_port) push_ua_locked(n, ua);
  }
}

void LogicalUnit::abort_tasks_of_port(std::string_view initiator_port) {
  std::lock_guard lock(mu_);
  for (auto& n : nexuses_) {
    if (initiator_port_name(n.nexus) == initiator_port) ++n.abort_generation;
  }
  aborts_.fetch_add(1, std::memory_order_release);
}

uint64_t LogicalUnit::task_abort_generation(uint64_t nexus_id) const {
  if (aborts_.load(std::memory_order_acquire) == 0) return 0;
  std::lock_guard lock(mu_);
  const NexusState* n = find_locked(nexus_id);
  return n != nullptr ? n->abort_generation : 0;
}

bool LogicalUnit::attached(uint64_t nexus_id) const {
  std::lock_guard lock(mu_);
  return find_locked(nexus_id) != nullptr;
}

size_t LogicalUnit::attached_count() const {
  std::lock_guard lock(mu_);
  return nexuses_.size();
}

std::optional<UnitAttention> LogicalUnit::take_unit_attention(uint64_t nexus_id) {
  // A condition raised concurrently by another session may be seen by this
  // command or the next one; either order is a valid serialization.
  if (pending_total_.load(std::memory_order_relaxed) == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  NexusState* n = find_locked(nexus_id);
  if (n == nullptr || n->pending.empty()) return std::nullopt;
  UnitAttention ua = n->pending.front();
  n->pending.erase(n->pending.begin());
  pending_total_.fetch_sub(1, std::memory_order_relaxed);
  return ua;
}

bool LogicalUnit::has_unit_attention(uint64_t nexus_id) const {
  std::lock_guard lock(mu_);
  const NexusState* n = find_locked(nexus_id);
  return n != nullptr && !n->pending.empty();
}

void LogicalUnit::raise_unit_attention(const UnitAttention& ua, std::optional<uint64_t> except_nexus) {
  std::lock_guard lock(mu_);
  for (auto& n : nexuses_)
    if (!except_nexus || n.id != *except_nexus) push_ua_locked(n, ua);
}

// SAM-5 6.3.3: a logical unit reset is a hard reset of the LU: mode parameters
// return to their default values (nothing is saved), pending unit attentions
// are replaced by BUS DEVICE RESET FUNCTION OCCURRED.
void LogicalUnit::logical_unit_reset() {
  {
    std::lock_guard lock(mu_);
    set_mode_locked(ModeParameters{});
    for (auto& n : nexuses_) {
      clear_ua_locked(n);
      push_ua_locked(n, ua::kBusDeviceResetFunctionOccurred);
      n.prevent_removal = false;  // SPC-4 6.13: a logical unit reset clears prevention
    }
  }
  // SPC-4 5.9.1: a reset releases SCSI-2 reservations (persistent ones stay).
  if (extension_) extension_->on_logical_unit_reset();
}

void LogicalUnit::target_reset(bool cold) {
  {
    std::lock_guard lock(mu_);
    set_mode_locked(ModeParameters{});
    for (auto& n : nexuses_) {
      clear_ua_locked(n);
      push_ua_locked(n, cold ? ua::kPowerOnOccurred : ua::kBusDeviceResetFunctionOccurred);
      n.prevent_removal = false;
    }
  }
  if (extension_) extension_->on_logical_unit_reset();
}

ModeParameters LogicalUnit::mode_parameters() const {
  std::lock_guard lock(mu_);
  return mode_;
}

// SPC-4 7.5.2 (via 6.11): changing mode parameters establishes MODE PARAMETERS
// CHANGED for every I_T nexus other than the one that made the change.
bool LogicalUnit::set_mode_parameters(const ModeParameters& params, std::optional<uint64_t> changed_by) {
  std::lock_guard lock(mu_);
  if (params == mode_) return false;
  set_mode_locked(params);
  for (auto& n : nexuses_)
    if (!changed_by || n.id != *changed_by) push_ua_locked(n, ua::kModeParametersChanged);
  return true;
}

void LogicalUnit::set_prevent_removal(uint64_t nexus_id, bool prevent) {
  std::lock_guard lock(mu_);
  if (NexusState* n = find_locked(nexus_id)) n->prevent_removal = prevent;
}

bool LogicalUnit::removal_prevented() const {
  std::lock_guard lock(mu_);
  return std::any_of(nexuses_.begin(), nexuses_.end(), [](const NexusState& n) { return n.prevent_removal; });
}

std::unique_lock<std::mutex> LogicalUnit::lock_for_atomic_update() { return std::unique_lock(atomic_mu_); }

}  // namespace scsipub::lu
