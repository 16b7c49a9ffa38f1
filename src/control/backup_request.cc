#include "control/backup_request.h"

#include <nlohmann/json.hpp>

namespace scsipub::control {

std::string backup_request_line(const BackupRequest& r) {
  nlohmann::json j{{"op", "backup"}, {"dir", r.dir}, {"images", r.images}};
  return j.dump() + "\n";
}

Result<BackupRequest> parse_backup_request(std::string_view line) {
  if (line.size() > kMaxControlRequestBytes) return fail("request too long");
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("request is not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "op" && key != "dir" && key != "images") return fail("unknown request field " + key);
  }
  auto op = j.find("op");
  if (op == j.end() || !op->is_string() || op->get<std::string>() != "backup") return fail("unknown op");
  auto dir = j.find("dir");
  if (dir == j.end() || !dir->is_string()) return fail("dir missing");
  BackupRequest r;
  r.dir = dir->get<std::string>();
  if (r.dir.empty() || r.dir.front() != '/' || r.dir.size() > 1024) return fail("dir must be an absolute path");
  for (unsigned char c : r.dir) {
    if (c < 0x20 || c == 0x7f) return fail("dir holds a control character");
  }
  if (auto images = j.find("images"); images != j.end()) {
    if (!images->is_boolean()) return fail("images must be true or false");
    r.images = images->get<bool>();
  }
  return r;
}

}  // namespace scsipub::control
