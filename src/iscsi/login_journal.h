#pragma once
// The operator's view of refused logins: the most recent few, with repeats
// of the same refusal (address group, target, reason) folded into one entry
// for a while, the way the log throttles them. A stale node record that
// retries every 3 s is one line with a growing count, not a flood that
// pushes everything else out. Bounded in entries and in bytes per entry;
// thread-safe (logins on every loop), and only touched by refused logins.
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace scsipub::iscsi {

struct RefusedLoginEntry {
  std::chrono::system_clock::time_point first_at{};
  std::chrono::system_clock::time_point last_at{};
  std::string peer_address;
  std::string group;
  std::string initiator_name;  // as sent: hostile text, cut to kMaxText
  std::string target_name;     // as sent: hostile text, cut to kMaxText
  std::string reason;
  uint64_t repeats = 0;  // refusals folded into this entry after the first
};

// The words an operator reads for a login status (RFC 7143 11.13.5).
std::string_view login_status_text(uint8_t status_class, uint8_t status_detail);

class LoginJournal {
 public:
  using Clock = std::chrono::system_clock;
  static constexpr size_t kMaxText = 256;

  explicit LoginJournal(size_t capacity = 64, std::chrono::seconds fold_window = std::chrono::minutes(5));

  void refused(std::string_view peer_address, std::string_view group, std::string_view initiator_name,
               std::string_view target_name, std::string_view reason, Clock::time_point now = Clock::now());
  // Newest first.
  std::vector<RefusedLoginEntry> recent() const;
  uint64_t total() const;

 private:
  const size_t capacity_;
  const std::chrono::seconds fold_window_;
  mutable std::mutex mu_;
  std::deque<RefusedLoginEntry> entries_;  // newest at the front
  uint64_t total_ = 0;
};

}  // namespace scsipub::iscsi
