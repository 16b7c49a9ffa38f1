#pragma once
// Live sessions across every event loop: TSIH allocation and session
// reinstatement (RFC 7143 6.3.5). Touched only at login and logout, so a
// mutex is fine here; the data path never sees it. Every login-time question
// (is this TSIH live, which sessions have this key, which TSIH is free) is
// answered from an index, so a login costs the same with 10 or 50 000
// sessions live and the lock is held for a few lookups only.
#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/limit_events.h"
#include "iscsi/session_stats.h"

namespace scsipub::iscsi {

struct SessionKey {
  std::string initiator_name;
  std::array<uint8_t, 6> isid{};
  std::string target_name;
  bool operator==(const SessionKey&) const = default;
};

struct SessionKeyHash {
  size_t operator()(const SessionKey& k) const;
};

struct SessionRecord {
  uint64_t id = 0;  // process-unique session id (the lu::Nexus id)
  uint16_t tsih = 0;
  SessionKey key;
  std::string peer_address;
  std::string target_name;
  bool discovery = false;
  std::string group;           // the peer's address group
  bool authenticated = false;  // logged in with CHAP
  // Ends the session's connection; safe to call from any thread.
  std::function<void()> terminate;
  SessionDetails details;
  std::vector<uint32_t> luns;  // set once the session is bound (describe())
};

// Who may hold a session (docs/SECURITY.md "Admission model"); 0 = no limit.
// Anonymous sessions (free tier, unauthenticated discovery) may use only
// max_sessions - reserved_auth_sessions of the slots, so strangers can never
// take the last ones from paying users.
struct SessionLimits {
  size_t max_sessions = 0;
  size_t reserved_auth_sessions = 0;
  size_t max_anonymous_per_group = 0;
  size_t max_anonymous_discovery = 0;
};

struct NewSession {
  SessionKey key;
  std::string peer_address;
  std::string group;
  bool discovery = false;
  bool authenticated = false;
  // Terminate live sessions with the same key first (RFC 7143 6.3.5).
  bool reinstate = false;
  std::function<void()> terminate;
  SessionDetails details = {};
};

struct SessionAdmission {
  SessionRecord record;             // tsih 0: refused
  std::optional<Limit> refused_by;  // the limit that refused it (none: every TSIH in use)
};

class SessionRegistry {
 public:
  // Registers a new session and returns its id and TSIH. When `reinstate` is
  // true, live sessions with the same key are terminated first (RFC 7143
  // 6.3.5). Returns tsih 0 when every TSIH is in use.
  SessionRecord add(SessionKey key, std::string peer_address, bool discovery, bool reinstate,
                    std::function<void()> terminate);
  // Checks `limits` and registers in one step, so logins on different loops
  // cannot both take the last slot. Sessions being reinstated count as gone;
  // a refused login reinstates nothing.
  SessionAdmission admit(NewSession session, const SessionLimits& limits);
  void remove(uint64_t id);
  // The LUNs a session attached to, for the dashboard.
  void describe(uint64_t id, std::vector<uint32_t> luns);
  // The session with this id, if live.
  std::optional<SessionRecord> get(uint64_t id) const;
  // Sessions with this key, from any address.
  std::vector<SessionRecord> find(const SessionKey& key) const;
  // True when sessions with this key are live and every one of them is from
  // `peer_address`: a login with the key may reinstate them (copies nothing).
  bool reinstatable_from(const SessionKey& key, const std::string& peer_address) const;
  bool tsih_live(uint16_t tsih) const;
  std::vector<SessionRecord> snapshot() const;
  void terminate_all();
  size_t size() const;
  size_t anonymous_sessions(const std::string& group) const;

 private:
  uint16_t next_tsih_locked();
  std::optional<Limit> check_locked(const NewSession& s, const SessionLimits& limits) const;
  void count_locked(const SessionRecord& r, bool add);
  void erase_locked(std::unordered_map<uint64_t, SessionRecord>::iterator it);

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, SessionRecord> sessions_;
  // Indexes kept in step with sessions_: ids by key, and the TSIHs in use.
  std::unordered_multimap<SessionKey, uint64_t, SessionKeyHash> by_key_;
  std::bitset<65536> tsih_used_;
  uint64_t next_id_ = 1;
  uint16_t tsih_cursor_ = 0;
  // Anonymous sessions, kept in step with sessions_ by count_locked().
  size_t anonymous_ = 0;
  size_t anonymous_discovery_ = 0;
  std::unordered_map<std::string, size_t> anonymous_by_group_;
};

}  // namespace scsipub::iscsi
