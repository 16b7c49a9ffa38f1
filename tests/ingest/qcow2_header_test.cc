#include "ingest/qcow2_header.h"

#include <gtest/gtest.h>

#include "ingest/content_format.h"
#include "test_files.h"

namespace scsipub::ingest {
namespace {

using namespace testing;  // ScratchDir, sh, have_tool, read_file (test_files.h)

constexpr uint64_t kCap = 64ull << 30;

std::vector<uint8_t> head_of(const std::filesystem::path& p) {
  auto bytes = read_file(p);
  bytes.resize(std::min(bytes.size(), kSniffHeadBytes));
  return bytes;
}

class Qcow2HeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tool("qemu-img")) GTEST_SKIP() << "qemu-img missing";
  }
  std::filesystem::path make(const std::string& name, const std::string& options, const std::string& size = "") {
    auto path = dir_ / name;
    EXPECT_TRUE(sh("cd " + dir_.path().string() + " && qemu-img create -q -f qcow2 " + options + " " + path.string() +
                   " " + size));
    return path;
  }
  ScratchDir dir_;
};

TEST_F(Qcow2HeaderTest, PlainV3AndV2Pass) {
  auto v3 = check_qcow2_header(head_of(make("v3.qcow2", "-o compat=1.1", "10M")), kCap);
  ASSERT_TRUE(v3.ok()) << v3.error().message;
  EXPECT_EQ(v3->version, 3u);
  EXPECT_EQ(v3->virtual_size, 10u << 20);
  auto v2 = check_qcow2_header(head_of(make("v2.qcow2", "-o compat=0.10", "3M")), kCap);
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  EXPECT_EQ(v2->version, 2u);
}

TEST_F(Qcow2HeaderTest, BackingFileRefused) {
  make("base.qcow2", "", "1M");
  auto r = check_qcow2_header(head_of(make("top.qcow2", "-b base.qcow2 -F qcow2")), kCap);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("backing file"), std::string::npos);
  // Even pointing at a host file like /etc/passwd as raw.
  auto r2 = check_qcow2_header(head_of(make("evil.qcow2", "-b /etc/passwd -F raw", "1M")), kCap);
  ASSERT_FALSE(r2.ok());
}

TEST_F(Qcow2HeaderTest, ExternalDataFileRefused) {
  auto r = check_qcow2_header(head_of(make("data.qcow2", "-o data_file=" + (dir_ / "d.raw").string(), "1M")), kCap);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("external data file"), std::string::npos);
}

TEST_F(Qcow2HeaderTest, VirtualSizeCap) {
  auto r = check_qcow2_header(head_of(make("big.qcow2", "", "1T")), 1ull << 30);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("max_virtual_size"), std::string::npos);
}

TEST_F(Qcow2HeaderTest, TruncatedRefused) {
  auto head = head_of(make("t.qcow2", "", "1M"));
  ASSERT_GE(head.size(), 110u);
  for (size_t n : {size_t{0}, size_t{8}, size_t{71}, size_t{103}, size_t{110}}) {
    EXPECT_FALSE(check_qcow2_header(std::span<const uint8_t>(head).first(n), kCap).ok()) << n;
  }
}

TEST(Qcow2Header, ExtensionLengthPastTheBufferRefused) {
  std::vector<uint8_t> h(112, 0);
  const uint8_t magic[] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
  std::copy(std::begin(magic), std::end(magic), h.begin());
  h[23] = 16;   // cluster_bits
  h[103] = 104; // header_length
  h[104] = 0x12;  // extension type, then length 0xffffffff
  h[108] = h[109] = h[110] = h[111] = 0xff;
  auto r = check_qcow2_header(h, kCap);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace scsipub::ingest
