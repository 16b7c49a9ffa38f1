#include "web/admin_json.h"

#include "web/api_json.h"
#include "web/json_writer.h"

namespace scsipub::web {
namespace {

void write(JsonWriter& w, const control::LiveSession& s) {
  w.begin_object();
  w.member("id", s.id);
  w.member("discovery", s.discovery);
  w.member("target", s.target);
  w.member("kind", s.kind);
  w.key("luns");
  w.begin_array();
  for (uint32_t lun : s.luns) w.value(lun);
  w.end_array();
  w.member("initiator_name", s.initiator_name);
  w.member("isid", s.isid);
  w.member("peer_address", s.peer_address);
  w.member("tls", s.tls);
  w.member("authenticated", s.authenticated);
  w.member("connected_since_ms", s.connected_since_ms);
  w.member("read_bytes", s.read_bytes);
  w.member("write_bytes", s.write_bytes);
  w.member("read_commands", s.read_commands);
  w.member("write_commands", s.write_commands);
  w.member("read_iops", s.read_iops);
  w.member("write_iops", s.write_iops);
  w.member("read_bytes_per_second", s.read_bytes_per_second);
  w.member("write_bytes_per_second", s.write_bytes_per_second);
  w.member("overlay_bytes", s.overlay_bytes);
  w.member("write_limit", s.write_limit);
  w.end_object();
}

void write_sessions(JsonWriter& w, const std::vector<control::LiveSession>& sessions) {
  w.key("sessions");
  w.begin_array();
  for (const auto& s : sessions) write(w, s);
  w.end_array();
}

void write(JsonWriter& w, const control::RefusedLogin& r) {
  w.begin_object();
  w.member("at_ms", r.at_ms);
  w.member("peer_address", r.peer_address);
  w.member("initiator_name", r.initiator_name);
  w.member("target_name", r.target_name);
  w.member("reason", r.reason);
  w.member("repeats", r.repeats);
  w.end_object();
}

void write(JsonWriter& w, const control::RetainedDisk& r) {
  w.begin_object();
  w.member("target", r.target);
  w.member("initiator_name", r.initiator_name);
  w.member("isid", r.isid);
  w.member("peer_address", r.peer_address);
  w.member("until_ms", r.until_ms);
  w.member("overlay_bytes", r.overlay_bytes);
  w.member("write_limit", r.write_limit);
  w.end_object();
}

void write(JsonWriter& w, const control::FleetView& f) {
  w.begin_object();
  w.member("enabled", f.enabled);
  w.member("this_node", f.this_node);
  w.member("connected", f.connected);
  w.key("nodes");
  w.begin_array();
  for (const auto& n : f.nodes) {
    w.begin_object();
    w.member("id", n.id);
    w.member("iscsi_portal", n.iscsi_portal);
    w.member("tls_portal", n.tls_portal);
    w.member("version", n.version);
    w.member("alive", n.alive);
    w.member("heartbeat_age_ms", n.heartbeat_age_ms);
    w.member("sessions", n.sessions);
    w.end_object();
  }
  w.end_array();
  w.key("leases");
  w.begin_array();
  for (const auto& l : f.leases) {
    w.begin_object();
    w.member("disk_id", l.disk_id);
    w.member("owner_node", l.owner_node);
    w.member("epoch", l.epoch);
    w.member("expires_in_ms", l.expires_in_ms);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

// DiskInfo without secrets (the console leaves them empty; they are not
// even named here, so a console that forgot cannot leak them).
void write(JsonWriter& w, const control::OperatorDisk& p) {
  const control::DiskInfo& d = p.disk;
  w.begin_object();
  w.member("id", d.id);
  w.member("target", d.target);
  w.member("account_id", p.account_id);
  w.member("tier", p.tier);
  w.member("chap_user", d.chap_user);
  w.key("luns");
  w.begin_array();
  for (const auto& l : d.luns) {
    w.begin_object();
    w.member("lun", l.lun);
    w.member("image", l.image);
    w.member("size_bytes", l.size_bytes);
    w.member("overlay_bytes", l.overlay_bytes);
    w.member("write_limit", l.write_limit);
    w.end_object();
  }
  w.end_array();
  w.member("created", rfc3339(d.created));
  if (d.expires) {
    w.member("expires", rfc3339(*d.expires));
  } else {
    w.key("expires");
    w.null();
  }
  w.key("sessions");
  w.begin_array();
  for (const auto& s : d.sessions) {
    w.begin_object();
    w.member("initiator_name", s.initiator_name);
    w.member("isid", s.isid);
    w.member("peer_address", s.peer_address);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

}  // namespace

std::string admin_sessions_json(const std::vector<control::LiveSession>& sessions) {
  std::string out;
  out.reserve(64 + sessions.size() * 512);
  JsonWriter w(out);
  w.begin_object();
  write_sessions(w, sessions);
  w.end_object();
  return out;
}

std::string snapshot_json(const control::OperatorSnapshot& snap) {
  std::string out;
  out.reserve(4096 + snap.sessions.size() * 512 + snap.refused.size() * 256 + snap.disks.size() * 512);
  JsonWriter w(out);
  w.begin_object();
  w.member("taken_at_ms", snap.taken_at_ms);
  write_sessions(w, snap.sessions);
  w.key("refused");
  w.begin_array();
  for (const auto& r : snap.refused) write(w, r);
  w.end_array();
  w.key("limit_hits");
  w.begin_array();
  for (const auto& l : snap.limit_hits) {
    w.begin_object();
    w.member("limit", l.limit);
    w.member("count", l.count);
    w.end_object();
  }
  w.end_array();
  w.key("disks");
  w.begin_array();
  for (const auto& d : snap.disks) write(w, d);
  w.end_array();
  w.key("images");
  w.begin_array();
  for (const auto& i : snap.images) {
    w.begin_object();
    w.member("name", i.name);
    w.member("size_bytes", i.size_bytes);
    w.member("target", i.target);
    w.end_object();
  }
  w.end_array();
  w.key("retained");
  w.begin_array();
  for (const auto& r : snap.retained) write(w, r);
  w.end_array();
  w.key("fleet");
  write(w, snap.fleet);
  w.end_object();
  return out;
}

}  // namespace scsipub::web
