#include "web/api_json.h"

#include <gtest/gtest.h>

#include <string>

namespace scsipub::web {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string parse_error(std::string_view body) {
  auto r = parse_create_disk_request(body);
  return r ? std::string("<ok>") : r.error();
}

TEST(ParseCreateDiskRequest, AcceptsImagesInOrder) {
  auto r = parse_create_disk_request(R"({"images": ["debian", "blank", "Alpine-3.19_x86.64"]})");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->images, (std::vector<std::string>{"debian", "blank", "Alpine-3.19_x86.64"}));
}

TEST(ParseCreateDiskRequest, AcceptsLimits) {
  json images = json::array();
  for (int i = 0; i < 64; ++i) images.push_back(std::string(128, 'a'));
  auto r = parse_create_disk_request(json{{"images", images}}.dump());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->images.size(), 64u);
}

TEST(ParseCreateDiskRequest, RejectsBadJson) {
  EXPECT_EQ(parse_error(""), "request body is not valid JSON");
  EXPECT_EQ(parse_error("{"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({"images": ["a"]} trailing)"), "request body is not valid JSON");
  EXPECT_EQ(parse_error(R"({'images': ['a']})"), "request body is not valid JSON");
  EXPECT_EQ(parse_error("{\"images\": [\"\xff\"]}"), "request body is not valid JSON");  // not UTF-8
  EXPECT_EQ(parse_error(std::string(R"({"images": ["a"]})") + '\0'), "request body is not valid JSON");
  EXPECT_EQ(parse_error(std::string(R"({"images": ["a"]})") + std::string("\0x", 2)),
            "request body is not valid JSON");
}

TEST(ParseCreateDiskRequest, RejectsNonObjects) {
  EXPECT_EQ(parse_error("[]"), "request body must be a JSON object");
  EXPECT_EQ(parse_error("null"), "request body must be a JSON object");
  EXPECT_EQ(parse_error(R"("images")"), "request body must be a JSON object");
  EXPECT_EQ(parse_error("42"), "request body must be a JSON object");
}

TEST(ParseCreateDiskRequest, RejectsUnknownAndMissingFields) {
  EXPECT_EQ(parse_error("{}"), "\"images\" is required");
  EXPECT_NE(parse_error(R"({"images": ["a"], "size": 1})").find("unknown field"), std::string::npos);
  EXPECT_NE(parse_error(R"({"Images": ["a"]})").find("unknown field"), std::string::npos);
  EXPECT_EQ(parse_error(R"({"images": ["a"], "images": ["b"]})"), "\"images\" is given more than once");
  // The same key nested deeper is just an unknown value shape, not a duplicate.
  EXPECT_EQ(parse_error(R"({"images": [{"images": 1}]})"), "\"images\" must hold only strings");
}

TEST(ParseCreateDiskRequest, RejectsWrongTypes) {
  EXPECT_EQ(parse_error(R"({"images": "debian"})"), "\"images\" must be an array of image names");
  EXPECT_EQ(parse_error(R"({"images": null})"), "\"images\" must be an array of image names");
  EXPECT_EQ(parse_error(R"({"images": {"0": "a"}})"), "\"images\" must be an array of image names");
  EXPECT_EQ(parse_error(R"({"images": [1]})"), "\"images\" must hold only strings");
  EXPECT_EQ(parse_error(R"({"images": ["a", null]})"), "\"images\" must hold only strings");
  EXPECT_EQ(parse_error(R"({"images": [["a"]]})"), "\"images\" must hold only strings");
}

TEST(ParseCreateDiskRequest, RejectsBadCounts) {
  EXPECT_EQ(parse_error(R"({"images": []})"), "\"images\" must name at least one image");
  json images = json::array();
  for (int i = 0; i < 65; ++i) images.push_back("a");
  EXPECT_EQ(parse_error(json{{"images", images}}.dump()), "\"images\" may name at most 64 images");
}

TEST(ParseCreateDiskRequest, RejectsBadNames) {
  const std::string want = "image names are 1-128 characters of [A-Za-z0-9._-]";
  for (const char* name : {"", "a/b", "../etc", "a b", "caf\u00e9", "a:b", "a\\u0000"}) {
    EXPECT_EQ(parse_error(json{{"images", {name}}}.dump()), want) << name;
  }
  EXPECT_EQ(parse_error(json{{"images", {std::string(129, 'a')}}}.dump()), want);
  EXPECT_EQ(parse_error(R"({"images": ["a\u0000b"]})"), want);
}

TEST(ParseCreateDiskRequest, RejectsOversizedBody) {
  std::string body = R"({"images": ["a"]})";
  body.append(kMaxRequestBody - body.size(), ' ');
  EXPECT_TRUE(parse_create_disk_request(body));  // exactly the limit
  body.push_back(' ');
  EXPECT_EQ(parse_error(body), "request body is larger than 64 KiB");
}

TEST(ParseCreateDiskRequest, SurvivesDeepNesting) {
  std::string body(30000, '[');
  body += std::string(30000, ']');
  EXPECT_EQ(parse_error(body), "request body must be a JSON object");
  EXPECT_EQ(parse_error(std::string(60000, '[')), "request body is not valid JSON");
  EXPECT_EQ(parse_error("{\"images\":" + std::string(60000, '[')), "request body is not valid JSON");
}

TEST(Rfc3339, FormatsUtc) {
  using namespace std::chrono;
  EXPECT_EQ(rfc3339(sys_seconds{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(sys_days{2025y / January / 31} + 13h + 4min + 5s), "2025-01-31T13:04:05Z");
  EXPECT_EQ(rfc3339(sys_days{2024y / February / 29} + 23h + 59min + 59s), "2024-02-29T23:59:59Z");
}

control::DiskInfo sample_disk() {
  using namespace std::chrono;
  control::DiskInfo d;
  d.id = "abc";
  d.target = "iqn.2025-01.pub.scsipub:disk.abc";
  d.luns = {{0, "debian", 1 << 20, 4096, 0}, {1, "blank", 2 << 20, 0, 1 << 19}};
  d.chap_user = "u-abc";
  d.chap_secret = "secretsecret";
  d.created = sys_days{2025y / March / 1} + 12h;
  d.sessions = {{"iqn.1993-08.org.debian:01:x", "023d00000001", "198.51.100.7:51234"}};
  return d;
}

TEST(DiskJson, HasEveryField) {
  json j = to_json(sample_disk(), {"192.0.2.1:3260", ""}, true);
  EXPECT_EQ(j["id"], "abc");
  EXPECT_EQ(j["target"], "iqn.2025-01.pub.scsipub:disk.abc");
  ASSERT_EQ(j["luns"].size(), 2u);
  EXPECT_EQ(j["luns"][1], (json{{"lun", 1},
                                {"image", "blank"},
                                {"size_bytes", 2 << 20},
                                {"overlay_bytes", 0},
                                {"write_limit", 1 << 19}}));
  EXPECT_EQ(j["chap"], (json{{"user", "u-abc"}, {"secret", "secretsecret"}, {"mutual_secret", nullptr}}));
  EXPECT_EQ(j["portals"], (json{{"plain", "192.0.2.1:3260"}, {"tls", nullptr}}));
  EXPECT_EQ(j["created"], "2025-03-01T12:00:00Z");
  EXPECT_TRUE(j["expires"].is_null());
  EXPECT_EQ(j["sessions"][0], (json{{"initiator_name", "iqn.1993-08.org.debian:01:x"},
                                    {"isid", "023d00000001"},
                                    {"peer_address", "198.51.100.7:51234"}}));
  EXPECT_EQ(j["iscsiadm"]["discovery"].size(), 9u);
  EXPECT_EQ(j["iscsiadm"]["static"].size(), 5u);
  EXPECT_EQ(j["iscsiadm"]["logout"].size(), 2u);
  EXPECT_EQ(j["iscsiadm"]["static"][0],
            "iscsiadm -m node -o new -T iqn.2025-01.pub.scsipub:disk.abc -p 192.0.2.1:3260");
}

TEST(DiskJson, MutualTlsAndExpiry) {
  auto d = sample_disk();
  d.mutual_secret = "mutualmutual";
  d.expires = d.created + std::chrono::hours(24);
  json j = to_json(d, {"192.0.2.1:3260", "192.0.2.1:3261"}, true);
  EXPECT_EQ(j["chap"]["mutual_secret"], "mutualmutual");
  EXPECT_EQ(j["portals"]["tls"], "192.0.2.1:3261");
  EXPECT_EQ(j["expires"], "2025-03-02T12:00:00Z");
}

TEST(DiskJson, WithoutSecretsLeavesThemOut) {
  auto d = sample_disk();
  d.mutual_secret = "mutualmutual";
  json j = to_json(d, {"192.0.2.1:3260", ""}, false);
  EXPECT_EQ(j["chap"], (json{{"user", "u-abc"}}));
  EXPECT_FALSE(j.contains("iscsiadm"));
  EXPECT_EQ(dump(j).find("secret"), std::string::npos);
}

TEST(DiskJson, ListAndImagesAndErrors) {
  json list = disks_json({sample_disk(), sample_disk()}, {"h:1", ""}, false);
  EXPECT_EQ(list["disks"].size(), 2u);
  EXPECT_EQ(disks_json({}, {"h:1", ""}, false), (json{{"disks", json::array()}}));
  json images = images_json({{"blank", 64 << 20, "iqn.2025-01.pub.scsipub:blank"}}, "192.0.2.7:3260");
  const std::string node = "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank -p 192.0.2.7:3260";
  const json commands = {
      {"iscsiadm", "iscsiadm -m discovery -t sendtargets -p 192.0.2.7:3260\n" + node + " --login"},
      {"cleanup", node + " --logout\n" + node + " -o delete"},
      {"qemu",
       "qemu-system-x86_64 -m 1G -drive file=iscsi://192.0.2.7:3260/iqn.2025-01.pub.scsipub:blank/0,format=raw,"
       "if=virtio"},
      {"ipxe", "sanboot iscsi:192.0.2.7::::iqn.2025-01.pub.scsipub:blank"},
      {"libiscsi", "iscsi-inq iscsi://192.0.2.7:3260/iqn.2025-01.pub.scsipub:blank/0"},
      {"libiscsi_url", "iscsi://192.0.2.7:3260/iqn.2025-01.pub.scsipub:blank/0"},
      {"powershell",
       "New-IscsiTargetPortal -TargetPortalAddress 192.0.2.7 -TargetPortalPortNumber 3260\n"
       "Connect-IscsiTarget -NodeAddress iqn.2025-01.pub.scsipub:blank"},
  };
  EXPECT_EQ(images, (json{{"images",
                           {{{"name", "blank"},
                             {"size_bytes", 64 << 20},
                             {"target", "iqn.2025-01.pub.scsipub:blank"},
                             {"title", ""},
                             {"description", ""},
                             {"presentation", "disk"},
                             {"commands", commands}}}}}));
  EXPECT_FALSE(images.contains("multi"));
  json with_multi = images_json({}, "192.0.2.7:3260", {"debian", "blank"});
  EXPECT_EQ(with_multi["images"], json::array());
  EXPECT_EQ(with_multi["multi"]["target"], "iqn.2025-01.pub.scsipub:multi");
  EXPECT_EQ(with_multi["multi"]["luns"],
            (json::array({{{"lun", 0}, {"image", "debian"}}, {{"lun", 1}, {"image", "blank"}}})));
  EXPECT_EQ(with_multi["multi"]["commands"]["qemu"],
            "qemu-system-x86_64 -m 1G"
            " -drive file=iscsi://192.0.2.7:3260/iqn.2025-01.pub.scsipub:multi/0,format=raw,if=virtio"
            " -drive file=iscsi://192.0.2.7:3260/iqn.2025-01.pub.scsipub:multi/1,format=raw,if=virtio");
  // A DVD image's QEMU command attaches a CD-ROM and boots from it.
  json dvd = images_json({{"demo-iso", 10 << 20, "iqn.2025-01.pub.scsipub:image.demo-iso", control::Presentation::dvd}},
                         "192.0.2.7:3260");
  EXPECT_EQ(dvd["images"][0]["commands"]["qemu"],
            "qemu-system-x86_64 -m 1G -drive file=iscsi://192.0.2.7:3260/iqn.2025-01.pub.scsipub:image.demo-iso/0,"
            "format=raw,media=cdrom -boot d");
  EXPECT_EQ(dump(error_json("no \"such\" disk")), R"({"error":"no \"such\" disk"})");
}

TEST(DiskJson, InvalidUtf8FromInitiatorsDoesNotThrow) {
  auto d = sample_disk();
  d.sessions[0].initiator_name = "iqn.bad\xff\xfe";
  std::string out;
  EXPECT_NO_THROW(out = dump(to_json(d, {"h:1", ""}, true)));
  EXPECT_TRUE(json::accept(out));
}

}  // namespace
}  // namespace scsipub::web
