#pragma once
// Who may use the operator dashboard, and how (docs/SECURITY.md, "Operator
// dashboard"):
// - scripts send "Authorization: Bearer <operator token>"; such requests
//   carry no ambient authority (a browser never adds the header by itself),
//   so they need no CSRF token;
// - a browser logs in once with the token on the login form and then holds
//   a session cookie: a random id, HttpOnly, SameSite=Strict, Path=/,
//   Secure when the request came over HTTPS. Sessions live in memory, are
//   bounded in number and expire; the operator token behind each is checked
//   again every recheck_interval, so a revoked token ends its sessions;
// - every state-changing request authenticated by the cookie must carry the
//   session's CSRF token (header X-CSRF-Token, or the form field csrf_token),
//   compared in constant time, and, when it has an Origin header, come from
//   this very origin.
//
// Thread-safe: the HTTP server calls it from all its threads.
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/limit_events.h"
#include "web/admin_auth_config.h"
#include "web/http_message.h"

// Declared only: control/operator_console.h's ProvisionedDisk clashes with
// control/provisioned_disks.h's, and serve.cc includes this through api_server.h.
namespace scsipub::control {
class OperatorConsole;
}  // namespace scsipub::control

namespace scsipub::web {

inline constexpr std::string_view kAdminCookie = "scsipub_admin";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
inline constexpr std::string_view kCsrfField = "csrf_token";

// Equal in time independent of where the inputs differ (lengths may leak).
bool constant_time_equal(std::string_view a, std::string_view b);

// The value of cookie `name` in a Cookie header (RFC 6265 5.4), or nothing.
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);

// application/x-www-form-urlencoded: the (percent- and '+'-decoded) value of
// `name`, or nothing when absent or malformed.
std::optional<std::string> form_value(std::string_view body, std::string_view name);

// "Authorization: Bearer <token>" (scheme case-insensitive), or nothing.
std::optional<std::string> parse_bearer(const HttpRequest& req);

class AdminAuth {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Via { none, bearer, cookie };
  struct Caller {
    Via via = Via::none;
    bool bad_bearer = false;  // a Bearer token was sent and is not an operator token
    std::string session_key;  // cookie sessions: the map key (hash of the id)
    std::string csrf;         // cookie sessions: the CSRF token to render into pages
    explicit operator bool() const { return via != Via::none; }
  };

  AdminAuth(control::OperatorConsole& console, AdminAuthConfig config, LimitEvents* limit_events);

  Caller authenticate(const HttpRequest& req) { return authenticate(req, Clock::now()); }
  Caller authenticate(const HttpRequest& req, Clock::time_point now);

  // For POST/PUT/DELETE/PATCH: true for Bearer callers; for cookie callers
  // when the CSRF token (header, else `form_token`) matches and Origin, if
  // sent, is this origin.
  bool may_change_state(const HttpRequest& req, const Caller& caller,
                        std::optional<std::string_view> form_token = std::nullopt) const;
  // Same-origin check alone (the login form has no session yet).
  bool same_origin(const HttpRequest& req) const;

  // A fresh session for a valid operator token: the Set-Cookie value, or
  // nothing when the token is not an operator token.
  std::optional<std::string> login(const HttpRequest& req, std::string_view token) {
    return login(req, token, Clock::now());
  }
  std::optional<std::string> login(const HttpRequest& req, std::string_view token, Clock::time_point now);
  // Ends the caller's cookie session; the Set-Cookie value that clears it.
  std::string logout(const HttpRequest& req, const Caller& caller);

  size_t live_sessions() const;

 private:
  struct Session {
    std::string csrf;
    std::string operator_token;  // re-checked every recheck_interval
    Clock::time_point created;
    Clock::time_point expires;
    Clock::time_point checked;
  };

  bool https(const HttpRequest& req) const;
  std::string cookie(const HttpRequest& req, std::string_view value, std::chrono::seconds max_age) const;
  Caller from_cookie(const HttpRequest& req, Clock::time_point now);

  control::OperatorConsole& console_;
  const AdminAuthConfig config_;
  LimitEvents* const limit_events_;
  mutable std::mutex mu_;
  std::map<std::string, Session, std::less<>> sessions_;  // key: SHA-256 of the cookie value
};

}  // namespace scsipub::web
