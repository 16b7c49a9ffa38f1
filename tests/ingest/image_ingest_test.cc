#include "ingest/image_ingest.h"

#include <gtest/gtest.h>

#include "test_files.h"

namespace scsipub::ingest {
namespace {

using namespace testing;  // ScratchDir, sh, have_tool, read_file (test_files.h)

class ImageIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tool("qemu-img") || !have_tool("xz")) GTEST_SKIP() << "qemu-img or xz missing";
    // 3 MiB + 4608 bytes: a multiple of 512, not of a qcow2 cluster.
    raw_ = testing::random_bytes((3u << 20) + 4608, 7);
    for (size_t i = 0; i < raw_.size(); i += 65536) raw_[i] = 0xa5;  // a pattern on top
    testing::write_file(src_ / "disk.raw", raw_);
  }
  IngestRequest request(const std::string& source) {
    IngestRequest r;
    r.name = "test";
    r.source = source;
    r.images_dir = images_.path();
    r.limits.reserve_free_bytes = 0;
    return r;
  }
  // Refused, with the reason, and nothing left in the images directory.
  void expect_refused(const IngestRequest& r, const std::string& reason) {
    auto prepared = prepare_image(r);
    ASSERT_FALSE(prepared.ok()) << "accepted: " << r.source;
    EXPECT_NE(prepared.error().message.find(reason), std::string::npos) << prepared.error().message;
    EXPECT_TRUE(images_.names().empty()) << "left behind: " << images_.names().front();
  }
  std::string src(const std::string& name) const { return (src_ / name).string(); }

  ScratchDir src_, images_;
  std::vector<uint8_t> raw_;
};

TEST_F(ImageIngestTest, RawCopiedAndCommitted) {
  std::vector<IngestProgress> seen;
  auto r = request(src("disk.raw"));
  r.progress = [&](const IngestProgress& p) { seen.push_back(p); };
  auto prepared = prepare_image(r);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  EXPECT_EQ(prepared->result().source_format, "raw");
  EXPECT_EQ(prepared->result().size_bytes, raw_.size());
  EXPECT_FALSE(prepared->result().iso);
  EXPECT_EQ(prepared->result().path, images_ / "test.img");
  EXPECT_FALSE(std::filesystem::exists(images_ / "test.img"));  // not before commit
  ASSERT_TRUE(prepared->commit().ok());
  EXPECT_EQ(read_file(images_ / "test.img"), raw_);
  EXPECT_EQ(images_.names(), std::vector<std::string>{"test.img"});
  EXPECT_FALSE(seen.empty());
  ASSERT_TRUE(sh("sha256sum " + (images_ / "test.img").string() + " | grep -q " + prepared->result().sha256));
}

TEST_F(ImageIngestTest, ConvertedFormatsEqualTheRaw) {
  struct Case {
    std::string file, make, format;
  };
  for (const Case& c : std::vector<Case>{
           {"c.qcow2", "qemu-img convert -q -f raw -O qcow2 -c", "qcow2"},
           {"v2.qcow2", "qemu-img convert -q -f raw -O qcow2 -o compat=0.10", "qcow2"},
           {"d.vmdk", "qemu-img convert -q -f raw -O vmdk", "vmdk"},
           {"d.vhdx", "qemu-img convert -q -f raw -O vhdx", "vhdx"},
       }) {
    ASSERT_TRUE(sh(c.make + " " + src("disk.raw") + " " + src(c.file)));
    auto prepared = prepare_image(request(src(c.file)));
    ASSERT_TRUE(prepared.ok()) << c.file << ": " << prepared.error().message;
    EXPECT_EQ(prepared->result().source_format, c.format);
    ASSERT_TRUE(prepared->commit().ok());
    EXPECT_EQ(read_file(images_ / "test.img"), raw_) << c.file;
    std::filesystem::remove(images_ / "test.img");
  }
}

TEST_F(ImageIngestTest, XzRawAndXzQcow2) {
  ASSERT_TRUE(sh("xz -c " + src("disk.raw") + " > " + src("disk.raw.xz")));
  auto prepared = prepare_image(request(src("disk.raw.xz")));
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  EXPECT_EQ(prepared->result().source_format, "xz+raw");
  ASSERT_TRUE(prepared->commit().ok());
  EXPECT_EQ(read_file(images_ / "test.img"), raw_);
  std::filesystem::remove(images_ / "test.img");

  ASSERT_TRUE(sh("qemu-img convert -q -f raw -O qcow2 " + src("disk.raw") + " " + src("q.qcow2") + " && xz -c " +
                 src("q.qcow2") + " > " + src("q.qcow2.xz")));
  auto q = prepare_image(request(src("q.qcow2.xz")));
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->result().source_format, "xz+qcow2");
  ASSERT_TRUE(q->commit().ok());
  EXPECT_EQ(read_file(images_ / "test.img"), raw_);
}

TEST_F(ImageIngestTest, IsoStoredAsIso) {
  if (!have_tool("xorriso")) GTEST_SKIP() << "xorriso missing";
  ASSERT_TRUE(sh("mkdir -p " + src("tree") + " && cp " + src("disk.raw") + " " + src("tree/") +
                 " && xorriso -as mkisofs -quiet -o " + src("cd.bin") + " " + src("tree") + " 2>/dev/null"));
  auto prepared = prepare_image(request(src("cd.bin")));
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  EXPECT_TRUE(prepared->result().iso);
  EXPECT_EQ(prepared->result().source_format, "iso");
  ASSERT_TRUE(prepared->commit().ok());
  EXPECT_EQ(images_.names(), std::vector<std::string>{"test.iso"});
}

TEST_F(ImageIngestTest, Sha256CheckedOnTheSource) {
  auto r = request(src("disk.raw"));
  r.sha256 = std::string(64, '0');
  expect_refused(r, "sha256 mismatch");
  r.sha256 = "xyz";
  expect_refused(r, "64 hex digits");
}

TEST_F(ImageIngestTest, HostileQcow2Refused) {
  ASSERT_TRUE(sh("cd " + src_.path().string() + " && qemu-img create -q -f qcow2 base.qcow2 4M && " +
                 "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 && " +
                 "qemu-img create -q -f qcow2 -o data_file=ext.raw data.qcow2 4M && " +
                 "qemu-img create -q -f qcow2 bomb.qcow2 1T && " +
                 "qemu-img convert -q -f raw -O qcow2 disk.raw whole.qcow2 && head -c 200000 whole.qcow2 > cut.qcow2"));
  expect_refused(request(src("top.qcow2")), "backing file");
  expect_refused(request(src("data.qcow2")), "external data file");
  auto bomb = request(src("bomb.qcow2"));
  bomb.limits.max_virtual_size = 1ull << 30;
  expect_refused(bomb, "max_virtual_size");
  expect_refused(request(src("cut.qcow2")), "truncated");
}

TEST_F(ImageIngestTest, TruncatedVmdkVhdAndXzRefused) {
  ASSERT_TRUE(sh("cd " + src_.path().string() + " && qemu-img convert -q -f raw -O vmdk disk.raw d.vmdk && " +
                 "head -c 1000000 d.vmdk > cut.vmdk && qemu-img convert -q -f raw -O vpc disk.raw d.vhd && " +
                 "head -c 1000000 d.vhd > cut.vhd && xz -c disk.raw | head -c 100000 > cut.xz"));
  expect_refused(request(src("cut.vmdk")), "truncated");
  expect_refused(request(src("cut.vhd")), "truncated");
  expect_refused(request(src("cut.xz")), "xz -dc");
}

TEST_F(ImageIngestTest, DecompressionBombRefused) {
  ASSERT_TRUE(sh("head -c 16777216 /dev/zero | xz -c > " + src("zeros.xz")));
  auto r = request(src("zeros.xz"));
  r.limits.max_virtual_size = 1u << 20;
  expect_refused(r, "decompressed size is above the cap");
}

TEST_F(ImageIngestTest, SourcesRefused) {
  expect_refused(request("file:///etc/passwd"), "unsupported URL scheme");
  expect_refused(request("ftp://127.0.0.1/x.img"), "unsupported URL scheme");
  expect_refused(request(src("missing.img")), "No such file");
  expect_refused(request(src_.path().string()), "not a regular file");
  testing::write_file(src_ / "empty", {});
  expect_refused(request(src("empty")), "empty");
}

TEST_F(ImageIngestTest, DiskFullRefusedBeforeWriting) {
  auto r = request(src("disk.raw"));
  r.limits.reserve_free_bytes = 1ull << 60;
  expect_refused(r, "not enough free space");
}

TEST_F(ImageIngestTest, RefusalsByALimitAreCounted) {
  LimitEvents events;
  ASSERT_TRUE(sh("qemu-img create -q -f qcow2 " + src("bomb.qcow2") + " 1T"));
  auto bomb = request(src("bomb.qcow2"));
  bomb.limits.max_virtual_size = 1ull << 30;
  bomb.limit_events = &events;
  expect_refused(bomb, "max_virtual_size");
  auto full = request(src("disk.raw"));
  full.limits.reserve_free_bytes = 1ull << 60;
  full.limit_events = &events;
  expect_refused(full, "reserve_free_bytes");
  auto mismatch = request(src("disk.raw"));
  mismatch.sha256 = std::string(64, 'a');
  mismatch.limit_events = &events;
  expect_refused(mismatch, "sha256 mismatch");  // not a limit: not counted
  EXPECT_EQ(events.count(Limit::ingest_size), 1u);
  EXPECT_EQ(events.count(Limit::ingest_free_space), 1u);
  EXPECT_EQ(events.count(Limit::ingest_converter), 0u);
}

TEST_F(ImageIngestTest, ExistingNameNeedsReplace) {
  testing::write_file(images_ / "test.iso", {1, 2, 3});
  auto prepared = prepare_image(request(src("disk.raw")));
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(prepared.error().message.find("already exists"), std::string::npos);
  EXPECT_EQ(images_.names(), std::vector<std::string>{"test.iso"});
  auto r = request(src("disk.raw"));
  r.replace = true;
  auto replaced = prepare_image(r);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  ASSERT_TRUE(replaced->commit().ok());
  // One name, one file: test.iso gave way to test.img.
  EXPECT_EQ(images_.names(), std::vector<std::string>{"test.img"});
}

TEST_F(ImageIngestTest, DroppedPreparedImageLeavesNothing) {
  {
    auto prepared = prepare_image(request(src("disk.raw")));
    ASSERT_TRUE(prepared.ok());
    EXPECT_EQ(images_.names().size(), 1u);  // the temp file
  }
  EXPECT_TRUE(images_.names().empty());
}

TEST_F(ImageIngestTest, CancelLeavesNothing) {
  std::atomic<bool> cancel{true};
  auto r = request(src("disk.raw"));
  r.cancel = &cancel;
  expect_refused(r, "cancelled");
}

}  // namespace
}  // namespace scsipub::ingest
