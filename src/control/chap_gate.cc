#include "control/chap_gate.h"

#include <spdlog/spdlog.h>

#include "iscsi/chap.h"

namespace scsipub::control {
namespace {

// One CHAP exchange under the throttle: charged when the challenge goes out,
// and for discovery again when CHAP_N names the user, before the inner
// authenticator verifies anything; refunded on success.
class ThrottledAuthenticator final : public iscsi::Authenticator {
 public:
  ThrottledAuthenticator(std::unique_ptr<iscsi::Authenticator> inner, ChapGate& gate, std::string peer,
                         std::string group, std::string user, std::string target)
      : inner_(std::move(inner)),
        gate_(gate),
        peer_(std::move(peer)),
        group_(std::move(group)),
        user_(std::move(user)),
        target_(std::move(target)) {}
  bool owns_key(std::string_view key) const override { return inner_->owns_key(key); }
  Outcome step(std::span<const iscsi::KeyValue> keys, iscsi::TextWriter& reply) override {
    if (!challenged_ && has(keys, "CHAP_A")) {
      // RFC 7143 12.1.3: the answer to CHAP_A carries our challenge.
      challenged_ = true;
      if (!gate_.challenge(attempt_, group_, user_, peer_, target_)) return Outcome::failure;
    }
    if (challenged_ && !named_ && user_.empty()) {
      if (const std::string* name = find(keys, "CHAP_N"); name != nullptr && valid_name(*name)) {
        named_ = true;
        if (!gate_.name_user(attempt_, *name, peer_, target_)) return Outcome::failure;
      }
    }
    Outcome o = inner_->step(keys, reply);
    if (o == Outcome::success) gate_.succeeded(attempt_);
    if (o == Outcome::failure) gate_.failed(peer_, target_);
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
  ChapGate& gate_;
  std::string peer_;
  std::string group_;
  std::string user_;  // the disk's CHAP user; empty for discovery until CHAP_N
  std::string target_;
  iscsi::ChapThrottle::Attempt attempt_;
  bool challenged_ = false;
  bool named_ = false;
};

}  // namespace

ChapGate::ChapGate(iscsi::ChapThrottle::Options options, LimitEvents* events, const Clock& clock)
    : events_(events), clock_(clock), throttle_(options, [&clock] { return clock.steady_now(); }) {}

bool ChapGate::admit(const std::string& group, std::string_view user, std::string_view peer,
                     std::string_view target) {
  std::lock_guard lock(mu_);
  return allowed(throttle_.check(group, user), peer, target);
}

std::unique_ptr<iscsi::Authenticator> ChapGate::wrap(std::unique_ptr<iscsi::Authenticator> inner, std::string peer,
                                                     std::string group, std::string user, std::string target) {
  return std::make_unique<ThrottledAuthenticator>(std::move(inner), *this, std::move(peer), std::move(group),
                                                  std::move(user), std::move(target));
}

// Counts a refusal; called with mu_ held.
bool ChapGate::allowed(iscsi::ChapThrottle::Verdict v, std::string_view peer, std::string_view target) {
  switch (v) {
    case iscsi::ChapThrottle::Verdict::allowed: return true;
    case iscsi::ChapThrottle::Verdict::user_locked:
      count_limit(events_, Limit::chap_failures, peer, target);
      return false;
    case iscsi::ChapThrottle::Verdict::group_locked:
      count_limit(events_, Limit::chap_attempts_per_ip, peer, target);
      return false;
  }
  return false;
}

bool ChapGate::challenge(iscsi::ChapThrottle::Attempt& attempt, const std::string& group, std::string_view user,
                         std::string_view peer, std::string_view target) {
  std::lock_guard lock(mu_);
  return allowed(throttle_.challenge(attempt, group, user), peer, target);
}

bool ChapGate::name_user(iscsi::ChapThrottle::Attempt& attempt, std::string_view user, std::string_view peer,
                         std::string_view target) {
  std::lock_guard lock(mu_);
  return allowed(throttle_.name_user(attempt, user), peer, target);
}

void ChapGate::succeeded(iscsi::ChapThrottle::Attempt& attempt) {
  std::lock_guard lock(mu_);
  throttle_.succeeded(attempt);
}

void ChapGate::failed(const std::string& peer, std::string_view target) {
  std::lock_guard lock(mu_);
  auto d = failure_log_.on_event(peer, target, clock_.steady_now());
  if (d.warn) spdlog::warn("CHAP authentication from {} to {} failed ({} more suppressed)", peer, target, d.suppressed);
}

}  // namespace scsipub::control
