#include "control/catalog.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;
using scsipub::testing::write_file;

TEST(ImageName, AcceptsStrictNames) {
  for (const char* ok : {"ubuntu", "debian-12.5", "a", "0", "x.y-z", "fedora40"}) {
    EXPECT_TRUE(valid_image_name(ok)) << ok;
  }
  EXPECT_TRUE(valid_image_name(std::string(64, 'a')));
}

TEST(ImageName, RejectsUnsafeNames) {
  for (const char* bad : {"", "Ubuntu", ".hidden", "-opt", "a..b", "trailing.", "a/b", "a b",
                          "a_b", "a:b", "caf\xc3\xa9", "a\nb", "..", "."}) {
    EXPECT_FALSE(valid_image_name(bad)) << bad;
  }
  EXPECT_FALSE(valid_image_name(std::string(65, 'a')));
}

TEST(ImageName, ParsesFileNames) {
  auto raw = parse_image_file_name("debian-12.img");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->name, "debian-12");
  EXPECT_EQ(raw->kind, ImageKind::raw);
  auto iso = parse_image_file_name("alpine.ISO");
  ASSERT_TRUE(iso);
  EXPECT_EQ(iso->name, "alpine");
  EXPECT_EQ(iso->kind, ImageKind::iso);
  EXPECT_FALSE(parse_image_file_name(".img"));
  EXPECT_FALSE(parse_image_file_name("x.qcow2"));
  EXPECT_FALSE(parse_image_file_name("Big.img"));
  EXPECT_FALSE(parse_image_file_name("img"));
}

TEST(Catalog, ScansSortsAndSkips) {
  TempDir dir;
  write_file(dir / "zeta.img", std::vector<uint8_t>(1000, 1));
  write_file(dir / "alpha.iso", std::vector<uint8_t>(2048, 2));
  write_file(dir / "alpha.img", std::vector<uint8_t>(512, 3));  // duplicate name: .img wins
  write_file(dir / "Bad Name.img", std::vector<uint8_t>(512, 4));
  write_file(dir / "empty.img", {});
  write_file(dir / "README.txt", std::vector<uint8_t>(10, 5));
  std::filesystem::create_directory(dir / "dir.img");
  ASSERT_EQ(::mkfifo((dir / "fifo.img").c_str(), 0600), 0);
  std::filesystem::create_symlink(dir / "zeta.img", dir / "linked.img");

  Catalog cat(dir.path());
  ASSERT_TRUE(cat.rescan());
  ASSERT_EQ(cat.entries().size(), 3u);
  const auto entries = cat.entries();
  EXPECT_EQ(entries[0].name, "alpha");
  EXPECT_EQ(entries[0].path, dir / "alpha.img");
  EXPECT_EQ(entries[0].size_bytes, 512u);
  EXPECT_EQ(entries[0].kind, ImageKind::raw);
  EXPECT_EQ(entries[0].presentation, Presentation::disk);
  EXPECT_EQ(entries[1].name, "linked");
  EXPECT_EQ(entries[1].size_bytes, 1000u);
  EXPECT_EQ(entries[1].file, entries[2].file);  // the link's target is zeta's file
  EXPECT_EQ(entries[2].name, "zeta");
  EXPECT_EQ(entries[2].path, dir / "zeta.img");
  ASSERT_TRUE(cat.find("zeta"));
  EXPECT_EQ(cat.find("zeta")->size_bytes, 1000u);
  EXPECT_FALSE(cat.find("nope"));

  // Rescan picks up changes.
  std::filesystem::remove(dir / "zeta.img");
  write_file(dir / "mid.iso", std::vector<uint8_t>(4096, 6));
  ASSERT_TRUE(cat.rescan());
  ASSERT_EQ(cat.entries().size(), 2u);  // the dangling symlink is skipped too
  EXPECT_EQ(cat.entries()[0].name, "alpha");
  EXPECT_EQ(cat.entries()[1].name, "mid");
  EXPECT_EQ(cat.entries()[1].kind, ImageKind::iso);
  EXPECT_EQ(cat.entries()[1].presentation, Presentation::dvd);
}

TEST(Catalog, GenerationCountsOnlyChanges) {
  TempDir dir;
  write_file(dir / "one.img", std::vector<uint8_t>(512, 1));
  Catalog cat(dir.path());
  ASSERT_TRUE(cat.rescan());
  const uint64_t g = cat.generation();
  const auto before = cat.snapshot();
  ASSERT_TRUE(cat.rescan());
  EXPECT_EQ(cat.generation(), g);
  EXPECT_EQ(cat.snapshot(), before);  // nothing changed: the same snapshot
  write_file(dir / "two.img", std::vector<uint8_t>(512, 2));
  ASSERT_TRUE(cat.rescan());
  EXPECT_EQ(cat.generation(), g + 1);
  EXPECT_EQ(before->size(), 1u);  // an old snapshot stays valid for its reader
}

TEST(Catalog, ReplacedFileHasANewIdentity) {
  TempDir dir;
  write_file(dir / "one.img", std::vector<uint8_t>(512, 1));
  Catalog cat(dir.path());
  ASSERT_TRUE(cat.rescan());
  const FileIdentity old_file = cat.find("one")->file;
  write_file(dir / "next.tmp", std::vector<uint8_t>(512, 2));
  std::filesystem::rename(dir / "next.tmp", dir / "one.img");
  ASSERT_TRUE(cat.rescan());
  EXPECT_NE(cat.find("one")->file, old_file);
}

TEST(Catalog, PresentationSetting) {
  EXPECT_EQ(presentation_for(ImageKind::iso, "auto"), Presentation::dvd);
  EXPECT_EQ(presentation_for(ImageKind::iso, "disk"), Presentation::disk);
  EXPECT_EQ(presentation_for(ImageKind::raw, "auto"), Presentation::disk);
  EXPECT_EQ(presentation_for(ImageKind::raw, "dvd"), Presentation::dvd);
  EXPECT_EQ(presentation_for(ImageKind::iso, "nonsense"), Presentation::dvd);
}

TEST(Catalog, MissingDirectoryFailsAndKeepsEntries) {
  TempDir dir;
  write_file(dir / "one.img", std::vector<uint8_t>(512, 1));
  Catalog cat(dir.path());
  ASSERT_TRUE(cat.rescan());
  std::filesystem::remove_all(dir.path());
  EXPECT_FALSE(cat.rescan());
  EXPECT_EQ(cat.entries().size(), 1u);
}

}  // namespace
}  // namespace scsipub::control
