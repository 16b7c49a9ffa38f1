#pragma once
// The CHAP brute-force throttle (iscsi/chap_throttle.h) as the logins meet
// it: one lock for every event loop, refusals counted in LimitEvents, failed
// exchanges logged without flooding the log, and the authenticator wrapper
// that charges an exchange when its challenge goes out.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/limit_events.h"
#include "control/clock.h"
#include "control/log_throttle.h"
#include "iscsi/chap_throttle.h"
#include "iscsi/login_negotiator.h"

namespace scsipub::control {

class ChapGate {
 public:
  // `events` may be null; `clock` outlives the gate.
  ChapGate(iscsi::ChapThrottle::Options options, LimitEvents* events, const Clock& clock);

  // Whether an exchange with `user` (empty: not yet known) from `group` may
  // start at all; a refusal is counted. `peer` and `target` are for the log
  // and the counters.
  bool admit(const std::string& group, std::string_view user, std::string_view peer, std::string_view target);
  // `inner` under the throttle: charged when the challenge goes out, for
  // discovery again when CHAP_N names the user, refunded on success.
  std::unique_ptr<iscsi::Authenticator> wrap(std::unique_ptr<iscsi::Authenticator> inner, std::string peer,
                                             std::string group, std::string user, std::string target);

  // The throttle's steps for one exchange; false: refused, and counted.
  bool challenge(iscsi::ChapThrottle::Attempt& attempt, const std::string& group, std::string_view user,
                 std::string_view peer, std::string_view target);
  bool name_user(iscsi::ChapThrottle::Attempt& attempt, std::string_view user, std::string_view peer,
                 std::string_view target);
  void succeeded(iscsi::ChapThrottle::Attempt& attempt);
  // Logs a failed exchange (throttled per peer and target).
  void failed(const std::string& peer, std::string_view target);

 private:
  bool allowed(iscsi::ChapThrottle::Verdict v, std::string_view peer, std::string_view target);

  LimitEvents* events_;
  const Clock& clock_;
  std::mutex mu_;  // logins on every event loop share the throttle
  iscsi::ChapThrottle throttle_;
  LogThrottle failure_log_;
};

}  // namespace scsipub::control
