#include "iscsi/login_journal.h"

#include <algorithm>

#include "iscsi/login_negotiator.h"

namespace scsipub::iscsi {
namespace {

std::string cut(std::string_view s) { return std::string(s.substr(0, LoginJournal::kMaxText)); }

}  // namespace

std::string_view login_status_text(uint8_t status_class, uint8_t status_detail) {
  namespace ls = login_status;
  if (status_class == ls::kSuccess) return "success";
  if (status_class == ls::kRedirect) return "target moved";
  if (status_class == ls::kInitiatorError) {
    switch (status_detail) {
      case ls::kAuthFailure: return "authentication failed";
      case ls::kForbidden: return "authorization failure";
      case ls::kNotFound: return "unknown target";
      case ls::kRemoved: return "target removed";
      case ls::kUnsupportedVersion: return "unsupported version";
      case ls::kTooManyConnections: return "too many connections";
      case ls::kMissingParameter: return "missing parameter";
      case ls::kCantIncludeInSession: return "cannot include in session";
      case ls::kSessionTypeNotSupported: return "session type not supported";
      case ls::kSessionDoesNotExist: return "session does not exist";
      case ls::kInvalidDuringLogin: return "invalid request during login";
      default: return "initiator error";
    }
  }
  if (status_class == ls::kTargetError) {
    switch (status_detail) {
      case ls::kServiceUnavailable: return "service unavailable";
      case ls::kOutOfResources: return "out of resources";
      default: return "target error";
    }
  }
  return "unknown status";
}

LoginJournal::LoginJournal(size_t capacity, std::chrono::seconds fold_window)
    : capacity_(std::max<size_t>(capacity, 1)), fold_window_(fold_window) {}

void LoginJournal::refused(std::string_view peer_address, std::string_view group, std::string_view initiator_name,
                           std::string_view target_name, std::string_view reason, Clock::time_point now) {
  std::lock_guard lock(mu_);
  ++total_;
  const std::string_view g = group.empty() ? peer_address : group;
  auto same = std::find_if(entries_.begin(), entries_.end(), [&](const RefusedLoginEntry& e) {
    return e.group == g && e.target_name == target_name.substr(0, kMaxText) && e.reason == reason &&
           now - e.first_at < fold_window_;
  });
  if (same != entries_.end()) {
    RefusedLoginEntry e = std::move(*same);
    entries_.erase(same);
    e.last_at = now;
    e.peer_address = cut(peer_address);
    e.initiator_name = cut(initiator_name);
    ++e.repeats;
    entries_.push_front(std::move(e));
    return;
  }
  entries_.push_front(RefusedLoginEntry{now, now, cut(peer_address), cut(g), cut(initiator_name), cut(target_name),
                                        cut(reason), 0});
  while (entries_.size() > capacity_) entries_.pop_back();
}

std::vector<RefusedLoginEntry> LoginJournal::recent() const {
  std::lock_guard lock(mu_);
  return {entries_.begin(), entries_.end()};
}

uint64_t LoginJournal::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

}  // namespace scsipub::iscsi
