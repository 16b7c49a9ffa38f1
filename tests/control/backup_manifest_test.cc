// The manifest and the control request are hostile input on the way in.
#include "control/backup_manifest.h"

#include <gtest/gtest.h>

#include <string>

#include "control/backup_request.h"

namespace scsipub::control {
namespace {

const std::string kSha(64, 'a');

BackupManifest sample() {
  BackupManifest m;
  m.created = "2026-12-08T00:00:00Z";
  m.scsipub_version = "0.1.0";
  m.mode = "online";
  m.database = "sqlite";
  m.schema_version = 3;
  m.images = true;
  m.files = {{"meta.db", 4096, kSha},
             {"disks/ab12/lun0.img", 1 << 20, kSha},
             {"disks/ab12/lun0.img.bitmap", 4128, kSha},
             {"images/debian.iso", 7, kSha}};
  m.disks = {{"ab12", "local", {"disks/ab12/lun0.img", "disks/ab12/lun0.img.bitmap"}, 65536, 12}};
  return m;
}

TEST(BackupManifest, RoundTrip) {
  auto m = sample();
  auto back = parse_manifest(manifest_to_json(m));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
}

// Replaces the first file's path with `path` and expects a refusal.
void expect_path_refused(const std::string& path) {
  auto m = sample();
  m.files[1].path = path;
  m.disks.clear();
  EXPECT_FALSE(parse_manifest(manifest_to_json(m)).ok()) << path;
}

TEST(BackupManifest, HostilePathsRefused) {
  for (const char* p : {"/etc/passwd", "../x", "disks/../../etc/passwd", "disks/ab12/../../x", "disks/./ab12/x",
                        "disks//x", "disks/ab12/", "disks/ab12/x/y", "disks/a.b/x", "images/.hidden",
                        "images/a/b", "other/file", "meta.db/x", "disks\\ab12\\x", "disks/ab12/x\ny", "",
                        "scsipub.db", "disks/ab12/\x01"}) {
    expect_path_refused(p);
  }
  EXPECT_TRUE(valid_backup_path("disks/ab12/lun0.img.bitmap"));
  EXPECT_TRUE(valid_backup_path("images/debian-12.iso"));
}

TEST(BackupManifest, MalformedRefused) {
  auto json = manifest_to_json(sample());
  EXPECT_FALSE(parse_manifest("").ok());
  EXPECT_FALSE(parse_manifest("[]").ok());
  EXPECT_FALSE(parse_manifest(json.substr(0, json.size() / 2)).ok());
  auto replace = [&](const std::string& from, const std::string& to) {
    auto s = json;
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return parse_manifest(s);
  };
  EXPECT_FALSE(replace("\"format\": 1", "\"format\": 2").ok());     // unknown format version
  EXPECT_FALSE(replace("\"format\": 1", "\"format\": \"1\"").ok());
  EXPECT_FALSE(replace("\"size\": 4096", "\"size\": -1").ok());
  EXPECT_FALSE(replace(kSha, std::string(63, 'a')).ok());
  EXPECT_FALSE(replace(kSha, std::string(64, 'A')).ok());
  EXPECT_FALSE(replace("\"database\": \"sqlite\"", "\"database\": \"postgresql\"").ok());  // meta.db listed
  EXPECT_FALSE(replace("\"id\": \"ab12\"", "\"id\": \"../x\"").ok());
  // A disk naming a file that is not listed.
  auto m = sample();
  m.disks[0].files.push_back("disks/ab12/lun1.img");
  EXPECT_FALSE(parse_manifest(manifest_to_json(m)).ok());
  // Another disk's file.
  m = sample();
  m.disks[0].id = "cd34";
  EXPECT_FALSE(parse_manifest(manifest_to_json(m)).ok());
  // Listed twice.
  m = sample();
  m.files.push_back(m.files[1]);
  EXPECT_FALSE(parse_manifest(manifest_to_json(m)).ok());
  EXPECT_FALSE(parse_manifest(std::string(kMaxManifestBytes + 1, ' ')).ok());
}

TEST(BackupRequest, RoundTripAndRefusals) {
  BackupRequest r{"/var/backups/scsipub/one", false};
  auto back = parse_backup_request(backup_request_line(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);
  EXPECT_TRUE(parse_backup_request(R"({"op":"backup","dir":"/x"})")->images);
  for (const char* bad : {"", "{}", "null", R"({"op":"restore","dir":"/x"})", R"({"op":"backup"})",
                          R"({"op":"backup","dir":"relative"})", R"({"op":"backup","dir":""})",
                          R"({"op":"backup","dir":"/x","images":1})", R"({"op":"backup","dir":"/x","extra":1})",
                          "{\"op\":\"backup\",\"dir\":\"/a\\nb\"}", R"({"op":"backup","dir":5})"}) {
    EXPECT_FALSE(parse_backup_request(bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_backup_request(R"({"op":"backup","dir":"/)" + std::string(5000, 'a') + "\"}").ok());
}

}  // namespace
}  // namespace scsipub::control
