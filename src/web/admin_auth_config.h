#pragma once
// Settings of the operator dashboard's logins (web/admin_auth.h); apart so
// that ApiServerConfig carries them without pulling in the dashboard.
#include <chrono>
#include <cstddef>

namespace scsipub::web {

struct AdminAuthConfig {
  size_t max_sessions = 32;                    // [admin] max_sessions: live dashboard logins
  std::chrono::seconds session_ttl{8 * 3600};  // [admin] session_ttl_seconds: a login's lifetime
  std::chrono::seconds recheck_interval{30};   // how soon a revoked token's sessions end
  // [admin] trust_forwarded_proto: believe "X-Forwarded-Proto: https" (only
  // behind a TLS proxy that sets it) for the cookie's Secure flag and the
  // Origin check. Off: the server speaks plain HTTP, so no Secure.
  bool trust_forwarded_proto = false;
};

}  // namespace scsipub::web
