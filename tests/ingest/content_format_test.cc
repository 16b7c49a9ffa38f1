#include "ingest/content_format.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_files.h"

namespace scsipub::ingest {
namespace {

using namespace testing;  // ScratchDir, sh, have_tool, read_file (test_files.h)

SniffResult sniff_file(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  std::span<const uint8_t> all(bytes);
  auto head = all.first(std::min(all.size(), kSniffHeadBytes));
  auto tail = all.size() >= kSniffTailBytes ? all.last(kSniffTailBytes) : std::span<const uint8_t>();
  return sniff_content(head, tail);
}

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

TEST(ContentFormat, MagicBytes) {
  auto head = [](std::string_view s) { return sniff_content(bytes_of(s), {}).format; };
  using namespace std::string_view_literals;
  EXPECT_EQ(head("QFI\xfb\0\0\0\x02rest"sv), ContentFormat::qcow2);
  EXPECT_EQ(head("QFI\xfb\0\0\0\x03rest"sv), ContentFormat::qcow2);
  EXPECT_EQ(head("QFI\xfb\0\0\0\x01rest"sv), ContentFormat::refused);  // qcow v1
  EXPECT_EQ(head("QFI\xfb\0\0"sv), ContentFormat::refused);            // truncated
  EXPECT_EQ(head("KDMV\x01\0\0\0"sv), ContentFormat::vmdk);
  EXPECT_EQ(head("# Disk DescriptorFile\nversion=1\n"sv), ContentFormat::refused);
  EXPECT_EQ(head("vhdxfile"sv), ContentFormat::vhdx);
  EXPECT_EQ(head("\xfd" "7zXZ\0\0"sv), ContentFormat::xz);
  EXPECT_EQ(head("\x1f\x8b\x08\0"sv), ContentFormat::gzip);
  EXPECT_EQ(head("\x28\xb5\x2f\xfd\0"sv), ContentFormat::zstd);
  EXPECT_EQ(head(""sv), ContentFormat::raw);
  EXPECT_EQ(head("QF"sv), ContentFormat::raw);
}

TEST(ContentFormat, IsoAndVhdFooter) {
  std::vector<uint8_t> iso(kSniffHeadBytes, 0);
  iso[0x8000] = 1;
  std::memcpy(iso.data() + 0x8001, "CD001", 5);
  EXPECT_EQ(sniff_content(iso, {}).format, ContentFormat::iso);
  // One byte short of the identifier: raw.
  EXPECT_EQ(sniff_content(std::span<const uint8_t>(iso).first(0x8005), {}).format, ContentFormat::raw);

  std::vector<uint8_t> footer(512, 0);
  std::memcpy(footer.data(), "conectix", 8);
  std::vector<uint8_t> zeros(4096, 0);
  EXPECT_EQ(sniff_content(zeros, footer).format, ContentFormat::vpc);
  EXPECT_EQ(sniff_content(zeros, zeros).format, ContentFormat::raw);
}

TEST(ContentFormat, RealFilesFromTheTools) {
  if (!have_tool("qemu-img") || !have_tool("xz") || !have_tool("gzip") || !have_tool("zstd")) {
    GTEST_SKIP() << "qemu-img, xz, gzip or zstd missing";
  }
  ScratchDir dir;
  const std::string raw = (dir / "disk.raw").string();
  ASSERT_TRUE(sh("head -c 1048576 /dev/urandom > " + raw));
  EXPECT_EQ(sniff_file(raw).format, ContentFormat::raw);
  struct Case {
    std::string out_name, qemu_args;
    ContentFormat expect;
  };
  for (const Case& c : std::vector<Case>{{"v3.qcow2", "-O qcow2", ContentFormat::qcow2},
                                         {"v2.qcow2", "-O qcow2 -o compat=0.10", ContentFormat::qcow2},
                                         {"c.qcow2", "-O qcow2 -c", ContentFormat::qcow2},
                                         {"d.vmdk", "-O vmdk", ContentFormat::vmdk},
                                         {"d.vhdx", "-O vhdx", ContentFormat::vhdx},
                                         {"dyn.vhd", "-O vpc", ContentFormat::vpc},
                                         {"fixed.vhd", "-O vpc -o subformat=fixed", ContentFormat::vpc}}) {
    // Named ".img" on purpose: the name must not matter.
    const std::string out = (dir / (c.out_name + ".img")).string();
    ASSERT_TRUE(sh("qemu-img convert -q -f raw " + c.qemu_args + " " + raw + " " + out)) << c.out_name;
    EXPECT_EQ(sniff_file(out).format, c.expect) << c.out_name;
  }
  ASSERT_TRUE(sh("xz -k -c " + raw + " > " + raw + ".xz && gzip -c " + raw + " > " + raw + ".gz && zstd -q -c " +
                 raw + " > " + raw + ".zst"));
  EXPECT_EQ(sniff_file(raw + ".xz").format, ContentFormat::xz);
  EXPECT_EQ(sniff_file(raw + ".gz").format, ContentFormat::gzip);
  EXPECT_EQ(sniff_file(raw + ".zst").format, ContentFormat::zstd);
  if (have_tool("xorriso")) {
    ASSERT_TRUE(sh("mkdir -p " + (dir / "tree").string() + " && echo hi > " + (dir / "tree/a.txt").string() +
                   " && xorriso -as mkisofs -quiet -o " + (dir / "x.img").string() + " " + (dir / "tree").string() +
                   " 2>/dev/null"));
    EXPECT_EQ(sniff_file(dir / "x.img").format, ContentFormat::iso);
  }
}

}  // namespace
}  // namespace scsipub::ingest
