#include "iscsi/session_registry.h"

namespace scsipub::iscsi {

uint16_t SessionRegistry::next_tsih_locked() {
  // TSIH 0 is reserved for "new session" (RFC 7143 11.12.6).
  for (int tries = 0; tries < 65535; ++tries) {
    ++tsih_cursor_;
    if (tsih_cursor_ == 0) tsih_cursor_ = 1;
    bool used = false;
    for (const auto& [id, s] : sessions_) {
      if (s.tsih == tsih_cursor_) {
        used = true;
        break;
      }
    }
    if (!used) return tsih_cursor_;
  }
  return 0;
}

SessionRecord SessionRegistry::add(SessionKey key, std::string peer_address, bool discovery, bool reinstate,
                                   std::function<void()> terminate) {
  std::vector<std::function<void()>> to_end;
  SessionRecord rec;
  {
    std::lock_guard lock(mu_);
    if (reinstate) {
      for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (it->second.key == key) {
          to_end.push_back(std::move(it->second.terminate));
          it = sessions_.erase(it);
        } else {
          ++it;
        }
      }
    }
    rec.tsih = next_tsih_locked();
    if (rec.tsih == 0) return rec;
    rec.id = next_id_++;
    rec.key = std::move(key);
    rec.target_name = rec.key.target_name;
    rec.peer_address = std::move(peer_address);
    rec.discovery = discovery;
    rec.terminate = std::move(terminate);
    sessions_.emplace(rec.id, rec);
  }
  for (auto& fn : to_end) {
    if (fn) fn();
  }
  return rec;
}

void SessionRegistry::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
}

std::vector<SessionRecord> SessionRegistry::find(const SessionKey& key) const {
  std::lock_guard lock(mu_);
  std::vector<SessionRecord> out;
  for (const auto& [id, s] : sessions_) {
    if (s.key == key) out.push_back(s);
  }
  return out;
}

bool SessionRegistry::tsih_live(uint16_t tsih) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, s] : sessions_) {
    if (s.tsih == tsih) return true;
  }
  return false;
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
