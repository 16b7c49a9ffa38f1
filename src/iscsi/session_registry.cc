#include "iscsi/session_registry.h"

#include <algorithm>

namespace scsipub::iscsi {

size_t SessionKeyHash::operator()(const SessionKey& k) const {
  size_t h = std::hash<std::string>{}(k.initiator_name);
  auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  mix(std::hash<std::string>{}(k.target_name));
  uint64_t isid = 0;
  for (uint8_t b : k.isid) isid = (isid << 8) | b;
  mix(std::hash<uint64_t>{}(isid));
  return h;
}

uint16_t SessionRegistry::next_tsih_locked() {
  // TSIH 0 is reserved for "new session" (RFC 7143 11.12.6). Handing them out
  // round-robin keeps a just-freed TSIH unused for as long as possible.
  for (int tries = 0; tries < 65535; ++tries) {
    ++tsih_cursor_;
    if (tsih_cursor_ == 0) tsih_cursor_ = 1;
    if (!tsih_used_.test(tsih_cursor_)) return tsih_cursor_;
  }
  return 0;
}

void SessionRegistry::erase_locked(std::unordered_map<uint64_t, SessionRecord>::iterator it) {
  const SessionRecord& r = it->second;
  count_locked(r, false);
  tsih_used_.reset(r.tsih);
  auto [from, to] = by_key_.equal_range(r.key);
  for (auto k = from; k != to; ++k) {
    if (k->second == r.id) {
      by_key_.erase(k);
      break;
    }
  }
  sessions_.erase(it);
}

SessionRecord SessionRegistry::add(SessionKey key, std::string peer_address, bool discovery, bool reinstate,
                                   std::function<void()> terminate) {
  std::string group = peer_address;
  NewSession s{std::move(key), std::move(peer_address), std::move(group), discovery, false, reinstate,
               std::move(terminate)};
  return admit(std::move(s), SessionLimits{}).record;
}

void SessionRegistry::count_locked(const SessionRecord& r, bool add) {
  if (r.authenticated) return;
  auto bump = [add](size_t& n) { n = add ? n + 1 : (n == 0 ? 0 : n - 1); };
  bump(anonymous_);
  if (r.discovery) bump(anonymous_discovery_);
  size_t& g = anonymous_by_group_[r.group];
  bump(g);
  if (g == 0) anonymous_by_group_.erase(r.group);
}

std::optional<Limit> SessionRegistry::check_locked(const NewSession& s, const SessionLimits& limits) const {
  // What is left once the sessions this login reinstates are gone.
  size_t total = sessions_.size();
  size_t in_group = 0;
  if (auto it = anonymous_by_group_.find(s.group); it != anonymous_by_group_.end()) in_group = it->second;
  size_t discovery = anonymous_discovery_;
  if (s.reinstate) {
    auto [from, to] = by_key_.equal_range(s.key);
    for (auto k = from; k != to; ++k) {
      const SessionRecord& r = sessions_.at(k->second);
      --total;
      if (r.authenticated) continue;
      if (r.group == s.group && in_group != 0) --in_group;
      if (r.discovery && discovery != 0) --discovery;
    }
  }
  if (limits.max_sessions != 0 && total >= limits.max_sessions) return Limit::sessions_total;
  if (s.authenticated) return std::nullopt;
  if (limits.max_sessions != 0) {
    const size_t open = limits.max_sessions - std::min(limits.reserved_auth_sessions, limits.max_sessions);
    if (total >= open) return Limit::sessions_anonymous;
  }
  if (limits.max_anonymous_per_group != 0 && in_group >= limits.max_anonymous_per_group) {
    return Limit::sessions_per_ip;
  }
  if (s.discovery && limits.max_anonymous_discovery != 0 && discovery >= limits.max_anonymous_discovery) {
    return Limit::discovery_sessions;
  }
  return std::nullopt;
}

SessionAdmission SessionRegistry::admit(NewSession s, const SessionLimits& limits) {
  std::vector<std::function<void()>> to_end;
  SessionAdmission out;
  SessionRecord& rec = out.record;
  {
    std::lock_guard lock(mu_);
    out.refused_by = check_locked(s, limits);
    if (out.refused_by) return out;
    if (s.reinstate) {
      auto [from, to] = by_key_.equal_range(s.key);
      std::vector<uint64_t> ids;
      for (auto k = from; k != to; ++k) ids.push_back(k->second);
      for (uint64_t id : ids) {
        auto it = sessions_.find(id);
        to_end.push_back(std::move(it->second.terminate));
        erase_locked(it);
      }
    }
    rec.tsih = next_tsih_locked();
    if (rec.tsih != 0) {
      rec.id = next_id_++;
      rec.key = std::move(s.key);
      rec.target_name = rec.key.target_name;
      rec.peer_address = std::move(s.peer_address);
      rec.discovery = s.discovery;
      rec.group = std::move(s.group);
      rec.authenticated = s.authenticated;
      rec.terminate = std::move(s.terminate);
      rec.details = std::move(s.details);
      sessions_.emplace(rec.id, rec);
      by_key_.emplace(rec.key, rec.id);
      tsih_used_.set(rec.tsih);
      count_locked(rec, true);
    }
  }
  for (auto& fn : to_end) {
    if (fn) fn();
  }
  return out;
}

void SessionRegistry::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  erase_locked(it);
}

void SessionRegistry::describe(uint64_t id, std::vector<uint32_t> luns) {
  std::lock_guard lock(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) it->second.luns = std::move(luns);
}

std::optional<SessionRecord> SessionRegistry::get(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

size_t SessionRegistry::anonymous_sessions(const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = anonymous_by_group_.find(group);
  return it == anonymous_by_group_.end() ? 0 : it->second;
}

std::vector<SessionRecord> SessionRegistry::find(const SessionKey& key) const {
  std::lock_guard lock(mu_);
  std::vector<SessionRecord> out;
  auto [from, to] = by_key_.equal_range(key);
  for (auto k = from; k != to; ++k) out.push_back(sessions_.at(k->second));
  return out;
}

bool SessionRegistry::reinstatable_from(const SessionKey& key, const std::string& peer_address) const {
  std::lock_guard lock(mu_);
  auto [from, to] = by_key_.equal_range(key);
  if (from == to) return false;
  return std::all_of(from, to, [&](const auto& k) { return sessions_.at(k.second).peer_address == peer_address; });
}

bool SessionRegistry::tsih_live(uint16_t tsih) const {
  std::lock_guard lock(mu_);
  return tsih != 0 && tsih_used_.test(tsih);
}

std::vector<SessionRecord> SessionRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<SessionRecord> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) out.push_back(s);
  return out;
}

void SessionRegistry::terminate_all() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) fns.push_back(s.terminate);
  }
  for (auto& fn : fns) {
    if (fn) fn();
  }
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace scsipub::iscsi
