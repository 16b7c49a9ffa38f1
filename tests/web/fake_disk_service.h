#pragma once
// An in-memory DiskService for the HTTP tests: tokens "alice-token" and
// "bob-token" own disks; the first image name steers the error paths.
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "control/disk_service.h"
#include "control/target_names.h"

namespace scsipub::web::testing {

using control::ServiceErrc;

class FakeDiskService final : public control::DiskService {
 public:
  control::ServiceResult<control::Caller> authenticate(std::string_view token) override {
    if (token == "alice-token") return control::Caller{"alice", "paid"};
    if (token == "bob-token") return control::Caller{"bob", "paid"};
    return control::service_error(ServiceErrc::unauthorized, "unknown token");
  }

  control::ServiceResult<control::DiskInfo> create_disk(const control::Caller& caller,
                                                        const control::CreateDiskRequest& request) override {
    const std::string& first = request.images.front();
    if (first == "nosuch") return control::service_error(ServiceErrc::bad_request, "no image \"nosuch\"");
    if (first == "toomany") return control::service_error(ServiceErrc::limit_exceeded, "tier allows 1 disk");
    if (first == "busy") return control::service_error(ServiceErrc::conflict, "try again");
    if (first == "broken") return control::service_error(ServiceErrc::internal, "store failed");
    if (first == "throw") throw std::runtime_error("fake service blew up");
    // What a real store failure looks like: a path and a database error.
    if (first == "leaky") return control::service_error(ServiceErrc::internal, "/secret/path: database is locked");
    if (first == "leakythrow") throw std::runtime_error("/secret/path: database is locked");
    std::lock_guard lock(mu_);
    control::DiskInfo d;
    d.id = "d" + std::to_string(++next_id_);
    d.target = control::disk_target(d.id);
    for (uint32_t i = 0; i < request.images.size(); ++i)
      d.luns.push_back({i, request.images[i], 1 << 20, 0, 0});
    d.chap_user = "user-" + d.id;
    d.chap_secret = "secret" + d.id + "xxxxxx";
    d.mutual_secret = "mutual" + d.id + "xxxxxx";
    d.created = std::chrono::sys_seconds{std::chrono::seconds{1735689600}};  // 2025-01-01
    disks_[d.id] = {caller.account_id, d};
    return d;
  }

  control::ServiceResult<std::vector<control::DiskInfo>> list_disks(const control::Caller& caller) override {
    std::lock_guard lock(mu_);
    std::vector<control::DiskInfo> out;
    for (const auto& [id, owned] : disks_) {
      if (owned.first == caller.account_id) out.push_back(owned.second);
    }
    return out;
  }

  control::ServiceResult<control::DiskInfo> get_disk(const control::Caller& caller,
                                                     std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = disks_.find(std::string(id));
    if (it == disks_.end() || it->second.first != caller.account_id) {
      return control::service_error(ServiceErrc::not_found, "no such disk");
    }
    control::DiskInfo d = it->second.second;
    d.sessions = {{"iqn.1993-08.org.debian:01:abc", "023d00000001", "127.0.0.1:40000"}};
    return d;
  }

  control::ServiceResult<Ok> delete_disk(const control::Caller& caller, std::string_view id) override {
    auto found = get_disk(caller, id);
    if (!found) return control::service_error(found.error().code, found.error().message);
    std::lock_guard lock(mu_);
    disks_.erase(std::string(id));
    return Ok{};
  }

  std::vector<control::ImageInfo> images() override {
    return {{"blank", 64 << 20, control::blank_target()},
            {"debian", 1 << 30, control::image_target("debian")}};
  }

  control::Portals portals() override { return {"127.0.0.1:3260", ""}; }

 private:
  std::mutex mu_;
  int next_id_ = 0;
  std::map<std::string, std::pair<std::string, control::DiskInfo>> disks_;  // id -> (account, disk)
};

}  // namespace scsipub::web::testing
