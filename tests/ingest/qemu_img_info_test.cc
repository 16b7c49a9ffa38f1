#include "ingest/qemu_img_info.h"

#include <gtest/gtest.h>

namespace scsipub::ingest {
namespace {

constexpr uint64_t kCap = 64ull << 30;

TEST(QemuImgInfo, PlainQcow2) {
  auto r = parse_qemu_img_info(R"({"virtual-size": 3000320, "filename": "/x/a.qcow2", "format": "qcow2",
    "format-specific": {"type": "qcow2", "data": {"compat": "1.1", "corrupt": false}}})",
                               "qcow2", kCap);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->virtual_size, 3000320u);
  EXPECT_EQ(r->format, "qcow2");
}

TEST(QemuImgInfo, BackingFileRefused) {
  for (const char* key : {"backing-filename", "full-backing-filename", "backing-filename-format"}) {
    std::string json = std::string(R"({"virtual-size": 1, "format": "qcow2", ")") + key + R"(": "/etc/shadow"})";
    auto r = parse_qemu_img_info(json, "qcow2", kCap);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_NE(r.error().message.find("backing file"), std::string::npos);
  }
}

TEST(QemuImgInfo, DataFileRefused) {
  auto r = parse_qemu_img_info(R"({"virtual-size": 1048576, "format": "qcow2", "filename": "c.qcow2",
    "format-specific": {"type": "qcow2", "data": {"data-file": "/dev/sda", "data-file-raw": false}}})",
                               "qcow2", kCap);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("external data file"), std::string::npos);
}

TEST(QemuImgInfo, VmdkExtents) {
  const char* own = R"({"virtual-size": 3000320, "filename": "/i/v.vmdk", "format": "vmdk",
    "format-specific": {"type": "vmdk", "data": {"create-type": "monolithicSparse",
    "extents": [{"virtual-size": 3000320, "filename": "/i/v.vmdk", "format": ""}]}}})";
  EXPECT_TRUE(parse_qemu_img_info(own, "vmdk", kCap).ok());
  const char* other = R"({"virtual-size": 3000320, "filename": "/i/v.vmdk", "format": "vmdk",
    "format-specific": {"type": "vmdk", "data": {"extents": [
      {"filename": "/i/v.vmdk"}, {"filename": "/etc/passwd", "format": "FLAT"}]}}})";
  auto r = parse_qemu_img_info(other, "vmdk", kCap);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("another file"), std::string::npos);
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": 1, "format": "vmdk", "filename": "a",
    "format-specific": {"data": {"extents": {"filename": "a"}}}})", "vmdk", kCap).ok());
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": 1, "format": "vmdk", "filename": "a",
    "format-specific": {"data": {"extents": [{"filename": 7}]}}})", "vmdk", kCap).ok());
}

TEST(QemuImgInfo, VirtualSizeCapAndTypes) {
  EXPECT_TRUE(parse_qemu_img_info(R"({"virtual-size": 1073741824, "format": "qcow2"})", "qcow2", 1ull << 30).ok());
  auto over = parse_qemu_img_info(R"({"virtual-size": 1073741825, "format": "qcow2"})", "qcow2", 1ull << 30);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("max_virtual_size"), std::string::npos);
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": -1, "format": "qcow2"})", "qcow2", kCap).ok());
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": 1e30, "format": "qcow2"})", "qcow2", kCap).ok());
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": "12", "format": "qcow2"})", "qcow2", kCap).ok());
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": 99999999999999999999999, "format": "qcow2"})", "qcow2", kCap).ok());
  EXPECT_FALSE(parse_qemu_img_info(R"({"format": "qcow2"})", "qcow2", kCap).ok());
}

TEST(QemuImgInfo, FormatMustMatchAndEncryptionRefused) {
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": 1, "format": "raw"})", "qcow2", kCap).ok());
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": 1, "format": "qcow2", "encrypted": true})", "qcow2", kCap).ok());
  EXPECT_FALSE(parse_qemu_img_info(R"({"virtual-size": 1, "format": "qcow2", "encrypted": "no"})", "qcow2", kCap).ok());
  EXPECT_TRUE(parse_qemu_img_info(R"({"virtual-size": 1, "format": "qcow2", "encrypted": false})", "qcow2", kCap).ok());
}

TEST(QemuImgInfo, Garbage) {
  for (const char* text : {"", "null", "[]", "{", "{\"virtual-size\":", "\"qcow2\"", "{}}", "\xff\xfe"}) {
    EXPECT_FALSE(parse_qemu_img_info(text, "qcow2", kCap).ok()) << text;
  }
  std::string deep(10000, '[');
  EXPECT_FALSE(parse_qemu_img_info(deep, "qcow2", kCap).ok());
  // A non-object format-specific carries no data file: ignored, not a crash.
  EXPECT_TRUE(parse_qemu_img_info(R"({"virtual-size": 1, "format": "qcow2", "format-specific": 5})", "qcow2", kCap).ok());
}

}  // namespace
}  // namespace scsipub::ingest
