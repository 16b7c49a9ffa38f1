#pragma once
// Live sessions across every event loop: TSIH allocation and session
// reinstatement (RFC 7143 6.3.5). Touched only at login and logout, so a
// mutex is fine here; the data path never sees it.
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace scsipub::iscsi {

struct SessionKey {
  std::string initiator_name;
  std::array<uint8_t, 6> isid{};
  std::string target_name;
  bool operator==(const SessionKey&) const = default;
};

struct SessionRecord {
  uint64_t id = 0;  // process-unique session id (the lu::Nexus id)
  uint16_t tsih = 0;
  SessionKey key;
  std::string peer_address;
  std::string target_name;
  bool discovery = false;
  // Ends the session's connection; safe to call from any thread.
  std::function<void()> terminate;
};

class SessionRegistry {
 public:
  // Registers a new session and returns its id and TSIH. When `reinstate` is
  // true, live sessions with the same key are terminated first (RFC 7143
  // 6.3.5). Returns tsih 0 when every TSIH is in use.
  SessionRecord add(SessionKey key, std::string peer_address, bool discovery, bool reinstate,
                    std::function<void()> terminate);
  void remove(uint64_t id);
  // Sessions with this key, from any address.
  std::vector<SessionRecord> find(const SessionKey& key) const;
  bool tsih_live(uint16_t tsih) const;
  std::vector<SessionRecord> snapshot() const;
  void terminate_all();
  size_t size() const;

 private:
  uint16_t next_tsih_locked();

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, SessionRecord> sessions_;
  uint64_t next_id_ = 1;
  uint16_t tsih_cursor_ = 0;
};

}  // namespace scsipub::iscsi
