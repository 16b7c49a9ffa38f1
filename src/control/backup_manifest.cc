#include "control/backup_manifest.h"

#include <nlohmann/json.hpp>

#include <set>

namespace scsipub::control {
namespace {

using nlohmann::json;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '+' || c == '@';
}

// One path component: a plain file or folder name.
bool valid_component(std::string_view c) {
  if (c.empty() || c.size() > 255 || c == "." || c == "..") return false;
  for (char ch : c) {
    if (!name_char(ch)) return false;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    out.push_back(p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

bool hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Bounded string field.
Result<std::string> str(const json& j, const char* key, size_t max = 256) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fail(std::string("manifest: ") + key + " missing or not a string");
  auto s = it->get<std::string>();
  if (s.size() > max) return fail(std::string("manifest: ") + key + " too long");
  return s;
}

Result<uint64_t> u64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    return fail(std::string("manifest: ") + key + " missing or not a non-negative integer");
  }
  return it->get<uint64_t>();
}

}  // namespace

bool valid_backup_disk_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

bool valid_backup_path(std::string_view path) {
  if (path.empty() || path.size() > 1024 || path.front() == '/') return false;
  auto parts = split(path);
  for (auto c : parts) {
    if (!valid_component(c)) return false;
  }
  if (parts.size() == 1) return parts[0] == "meta.db";
  if (parts[0] == "disks") return parts.size() == 3 && valid_backup_disk_id(parts[1]);
  if (parts[0] == "images") return parts.size() == 2 && parts[1].front() != '.';
  return false;
}

std::string manifest_to_json(const BackupManifest& m) {
  json j;
  j["format"] = m.format;
  j["created"] = m.created;
  j["scsipub_version"] = m.scsipub_version;
  j["mode"] = m.mode;
  j["database"] = m.database;
  j["schema_version"] = m.schema_version;
  j["images"] = m.images;
  j["files"] = json::array();
  for (const auto& f : m.files) j["files"].push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  j["disks"] = json::array();
  for (const auto& d : m.disks) {
    j["disks"].push_back({{"id", d.id},
                          {"storage", d.storage},
                          {"files", d.files},
                          {"data_bytes", d.data_bytes},
                          {"pause_ms", d.pause_ms}});
  }
  return j.dump(2) + "\n";
}

Result<BackupManifest> parse_manifest(std::string_view text) {
  if (text.size() > kMaxManifestBytes) return fail("manifest: larger than 16 MiB");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("manifest: not a JSON object");
  BackupManifest m;
  auto fmt_it = j.find("format");
  if (fmt_it == j.end() || !fmt_it->is_number_integer()) return fail("manifest: no format version");
  if (fmt_it->get<int64_t>() != kBackupFormatVersion) {
    return fail("manifest: format version " + fmt_it->dump() + " is not one this build reads (" +
                std::to_string(kBackupFormatVersion) + ")");
  }
  m.format = kBackupFormatVersion;
  auto created = str(j, "created");
  auto version = str(j, "scsipub_version");
  auto mode = str(j, "mode");
  auto database = str(j, "database");
  for (auto* r : {&created, &version, &mode, &database}) {
    if (!r->ok()) return fail(r->error().message);
  }
  m.created = *created;
  m.scsipub_version = *version;
  m.mode = *mode;
  m.database = *database;
  if (m.database != "sqlite" && m.database != "postgresql") return fail("manifest: unknown database " + m.database);
  auto schema = u64(j, "schema_version");
  if (!schema.ok() || *schema > 1000000) return fail("manifest: bad schema_version");
  m.schema_version = static_cast<int>(*schema);
  auto images = j.find("images");
  if (images == j.end() || !images->is_boolean()) return fail("manifest: images missing or not a boolean");
  m.images = images->get<bool>();

  auto files = j.find("files");
  if (files == j.end() || !files->is_array()) return fail("manifest: files missing or not an array");
  std::set<std::string, std::less<>> seen;
  for (const auto& f : *files) {
    if (!f.is_object()) return fail("manifest: a file entry is not an object");
    auto path = str(f, "path", 1024);
    if (!path.ok()) return fail(path.error().message);
    if (!valid_backup_path(*path)) return fail("manifest: refused path \"" + *path + "\"");
    if (!seen.insert(*path).second) return fail("manifest: " + *path + " listed twice");
    auto size = u64(f, "size");
    if (!size.ok()) return fail(size.error().message);
    auto sha = str(f, "sha256", 64);
    if (!sha.ok() || !hex64(*sha)) return fail("manifest: " + *path + ": sha256 is not 64 lowercase hex digits");
    m.files.push_back({*path, *size, *sha});
  }
  if ((m.database == "sqlite") != seen.contains("meta.db")) {
    return fail("manifest: meta.db must be listed exactly when the database is sqlite");
  }
  auto disks = j.find("disks");
  if (disks == j.end() || !disks->is_array()) return fail("manifest: disks missing or not an array");
  for (const auto& d : *disks) {
    if (!d.is_object()) return fail("manifest: a disk entry is not an object");
    BackupDiskEntry e;
    auto id = str(d, "id", 64);
    auto storage = str(d, "storage", 32);
    if (!id.ok() || !valid_backup_disk_id(*id)) return fail("manifest: bad disk id");
    if (!storage.ok()) return fail(storage.error().message);
    e.id = *id;
    e.storage = *storage;
    auto df = d.find("files");
    if (df == d.end() || !df->is_array()) return fail("manifest: disk " + e.id + ": files missing");
    for (const auto& p : *df) {
      if (!p.is_string()) return fail("manifest: disk " + e.id + ": a file is not a string");
      auto s = p.get<std::string>();
      if (!seen.contains(s) || !s.starts_with("disks/" + e.id + "/")) {
        return fail("manifest: disk " + e.id + " names " + s + ", which is not one of its listed files");
      }
      e.files.push_back(std::move(s));
    }
    auto bytes = u64(d, "data_bytes");
    auto pause = u64(d, "pause_ms");
    if (!bytes.ok() || !pause.ok()) return fail("manifest: disk " + e.id + ": data_bytes/pause_ms");
    e.data_bytes = *bytes;
    e.pause_ms = *pause;
    m.disks.push_back(std::move(e));
  }
  return m;
}

}  // namespace scsipub::control
