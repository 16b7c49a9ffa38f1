#include "web/admin_json.h"

#include "web/api_json.h"

namespace scsipub::web {
namespace {

using nlohmann::json;

template <class T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json to_json(const control::RefusedLogin& r) {
  return {{"at_ms", r.at_ms},
          {"peer_address", r.peer_address},
          {"initiator_name", r.initiator_name},
          {"target_name", r.target_name},
          {"reason", r.reason},
          {"repeats", r.repeats}};
}

// DiskInfo without secrets (the console leaves them empty; they are not
// even named here, so a console that forgot cannot leak them).
json to_json(const control::OperatorDisk& p) {
  const control::DiskInfo& d = p.disk;
  json luns = json::array();
  for (const auto& l : d.luns) {
    luns.push_back({{"lun", l.lun},
                    {"image", l.image},
                    {"size_bytes", l.size_bytes},
                    {"overlay_bytes", l.overlay_bytes},
                    {"write_limit", l.write_limit}});
  }
  json sessions = json::array();
  for (const auto& s : d.sessions) {
    sessions.push_back({{"initiator_name", s.initiator_name}, {"isid", s.isid}, {"peer_address", s.peer_address}});
  }
  return {{"id", d.id},
          {"target", d.target},
          {"account_id", p.account_id},
          {"tier", p.tier},
          {"chap_user", d.chap_user},
          {"luns", std::move(luns)},
          {"created", rfc3339(d.created)},
          {"expires", d.expires ? json(rfc3339(*d.expires)) : json(nullptr)},
          {"sessions", std::move(sessions)}};
}

}  // namespace

json to_json(const control::LiveSession& s) {
  return {{"id", s.id},
          {"discovery", s.discovery},
          {"target", s.target},
          {"kind", s.kind},
          {"luns", s.luns},
          {"initiator_name", s.initiator_name},
          {"isid", s.isid},
          {"peer_address", s.peer_address},
          {"tls", s.tls},
          {"authenticated", s.authenticated},
          {"connected_since_ms", s.connected_since_ms},
          {"read_bytes", s.read_bytes},
          {"write_bytes", s.write_bytes},
          {"read_commands", s.read_commands},
          {"write_commands", s.write_commands},
          {"read_iops", s.read_iops},
          {"write_iops", s.write_iops},
          {"read_bytes_per_second", s.read_bytes_per_second},
          {"write_bytes_per_second", s.write_bytes_per_second},
          {"overlay_bytes", optional_json(s.overlay_bytes)},
          {"write_limit", optional_json(s.write_limit)}};
}

json admin_sessions_json(const std::vector<control::LiveSession>& sessions) {
  json list = json::array();
  for (const auto& s : sessions) list.push_back(to_json(s));
  return {{"sessions", std::move(list)}};
}

json snapshot_json(const control::OperatorSnapshot& snap) {
  json out = admin_sessions_json(snap.sessions);
  out["taken_at_ms"] = snap.taken_at_ms;
  json refused = json::array();
  for (const auto& r : snap.refused) refused.push_back(to_json(r));
  out["refused"] = std::move(refused);
  json limits = json::array();
  for (const auto& l : snap.limit_hits) limits.push_back({{"limit", l.limit}, {"count", l.count}});
  out["limit_hits"] = std::move(limits);
  json disks = json::array();
  for (const auto& d : snap.disks) disks.push_back(to_json(d));
  out["disks"] = std::move(disks);
  json images = json::array();
  // The catalog without the commands: those need the portal, and the
  // dashboard shows names, sizes and targets.
  for (const auto& i : snap.images) {
    images.push_back({{"name", i.name}, {"size_bytes", i.size_bytes}, {"target", i.target}});
  }
  out["images"] = std::move(images);
  return out;
}

}  // namespace scsipub::web
