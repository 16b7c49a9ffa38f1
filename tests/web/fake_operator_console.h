#pragma once
// An in-memory OperatorConsole for the dashboard tests: one operator token
// ("op-token", revocable), a snapshot the test sets, and a record of the
// actions asked for.
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "control/operator_console.h"

namespace scsipub::web::testing {

class FakeOperatorConsole final : public control::OperatorConsole {
 public:
  static constexpr const char* kToken = "op-token";

  bool authenticate_operator(std::string_view token) override {
    auth_calls.fetch_add(1);
    std::lock_guard lock(mu_);
    return !revoked_ && token == kToken;
  }

  control::OperatorSnapshot snapshot() override {
    std::lock_guard lock(mu_);
    return snapshot_;
  }

  control::ServiceResult<Ok> end_session(uint64_t session_id) override {
    std::lock_guard lock(mu_);
    for (const auto& s : snapshot_.sessions) {
      if (s.id == session_id) {
        ended_.push_back(session_id);
        return Ok{};
      }
    }
    return control::service_error(control::ServiceErrc::not_found, "no such session");
  }

  control::ServiceResult<Ok> delete_disk(std::string_view disk_id) override {
    std::lock_guard lock(mu_);
    for (const auto& d : snapshot_.disks) {
      if (d.disk.id == disk_id) {
        deleted_.emplace_back(disk_id);
        return Ok{};
      }
    }
    return control::service_error(control::ServiceErrc::not_found, "no such disk");
  }

  void set_snapshot(control::OperatorSnapshot s) {
    std::lock_guard lock(mu_);
    snapshot_ = std::move(s);
  }
  void revoke() {
    std::lock_guard lock(mu_);
    revoked_ = true;
  }
  std::vector<uint64_t> ended() {
    std::lock_guard lock(mu_);
    return ended_;
  }
  std::vector<std::string> deleted() {
    std::lock_guard lock(mu_);
    return deleted_;
  }

  std::atomic<int> auth_calls{0};

 private:
  std::mutex mu_;
  control::OperatorSnapshot snapshot_;
  bool revoked_ = false;
  std::vector<uint64_t> ended_;
  std::vector<std::string> deleted_;
};

}  // namespace scsipub::web::testing
