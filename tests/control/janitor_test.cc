#include "control/janitor.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "control/overlay_names.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;
using scsipub::testing::TempDir;
using scsipub::testing::write_file;

TEST(OverlayNames, ParseOurNamesOnly) {
  EXPECT_EQ(parse_overlay_file_name("71a61232479cc467.img"),
            (OverlayName{"71a61232479cc467", std::nullopt, false}));
  EXPECT_EQ(parse_overlay_file_name("71a61232479cc467.img.bitmap"),
            (OverlayName{"71a61232479cc467", std::nullopt, true}));
  EXPECT_EQ(parse_overlay_file_name("71a61232479cc467.lun12.img"),
            (OverlayName{"71a61232479cc467", 12u, false}));
  EXPECT_EQ(parse_overlay_file_name("71a61232479cc467.lun0.img.bitmap"),
            (OverlayName{"71a61232479cc467", 0u, true}));
  for (const char* other :
       {"ubuntu.img", "71A61232479CC467.img", "1234567.img", "71a61232479cc467.iso",
        "71a61232479cc467.lun01.img", "71a61232479cc467.lun.img", "71a61232479cc467.lun16384.img",
        "71a61232479cc467.img.bitmap.tmp", "71a61232479cc467.bitmap", "71a61232479cc467.x.img",
        "71a61232479cc467.lun1.lun2.img", ".img", "../71a61232479cc467.img", "71a61232479cc467.lun-1.img"}) {
    EXPECT_FALSE(parse_overlay_file_name(other)) << other;
  }
  EXPECT_EQ(overlay_file_name("abcdef01"), "abcdef01.img");
  EXPECT_EQ(overlay_file_name("abcdef01", 3), "abcdef01.lun3.img");
}

class SelectOrphans : public ::testing::Test {
 protected:
  std::filesystem::file_time_type now_ = std::filesystem::file_time_type::clock::now();
  std::filesystem::file_time_type old_ = now_ - 1h;
  LivePredicate live_ = [](std::string_view id) { return id == "aaaaaaaa"; };
};

TEST_F(SelectOrphans, DeletesUnownedOverlaysWithTheirBitmaps) {
  std::vector<OverlayDirEntry> listing = {
      {"aaaaaaaa.img", true, old_},          {"aaaaaaaa.img.bitmap", true, old_},
      {"aaaaaaaa.lun1.img", true, old_},     {"bbbbbbbb.img", true, old_},
      {"bbbbbbbb.img.bitmap", true, old_},   {"cccccccc.lun0.img", true, old_},
      {"cccccccc.lun1.img.bitmap", true, old_},  // bitmap whose image is already gone
      {"notes.txt", true, old_},             {"ubuntu.img", true, old_},
      {"dddddddd.img", false, old_},         // symlink or directory: never
  };
  auto out = select_orphans(listing, live_, now_, 2min);
  std::set<std::string> got(out.begin(), out.end());
  EXPECT_EQ(got, (std::set<std::string>{"bbbbbbbb.img", "bbbbbbbb.img.bitmap", "cccccccc.lun0.img",
                                        "cccccccc.lun1.img.bitmap"}));
}

TEST_F(SelectOrphans, YoungFilesProtectTheirWholeOverlay) {
  std::vector<OverlayDirEntry> listing = {
      {"bbbbbbbb.img", true, old_},
      {"bbbbbbbb.img.bitmap", true, now_ - 30s},  // recently flushed
      {"cccccccc.img", true, now_ - 119s},
      {"eeeeeeee.img", true, now_ - 120s},  // exactly min_age: old enough
  };
  auto out = select_orphans(listing, live_, now_, 2min);
  EXPECT_EQ(out, std::vector<std::string>{"eeeeeeee.img"});
  EXPECT_EQ(select_orphans(listing, live_, now_, 0s).size(), 4u);
}

TEST_F(SelectOrphans, EverythingLiveMeansNothingToDo) {
  std::vector<OverlayDirEntry> listing = {{"bbbbbbbb.img", true, old_}};
  EXPECT_TRUE(select_orphans(listing, [](std::string_view) { return true; }, now_, 0s).empty());
  EXPECT_TRUE(select_orphans({}, live_, now_, 0s).empty());
}

TEST(Janitor, SweepDeletesOnlyOrphans) {
  TempDir dir;
  for (const char* name : {"aaaaaaaa.img", "aaaaaaaa.img.bitmap", "bbbbbbbb.lun0.img",
                           "bbbbbbbb.lun0.img.bitmap", "keep.txt", "ubuntu.img"}) {
    write_file(dir / name, std::vector<uint8_t>(10, 1));
  }
  std::filesystem::create_directory(dir / "cccccccc.img");
  std::filesystem::create_symlink(dir / "keep.txt", dir / "dddddddd.img");
  Janitor janitor(dir.path());
  auto result = janitor.sweep([](std::string_view id) { return id == "aaaaaaaa"; }, 0s);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->removed, 2u);
  EXPECT_EQ(result->failed, 0u);
  for (const char* name : {"aaaaaaaa.img", "aaaaaaaa.img.bitmap", "keep.txt", "ubuntu.img",
                           "cccccccc.img", "dddddddd.img"}) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::symlink_status(dir / name))) << name;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "bbbbbbbb.lun0.img"));
  EXPECT_FALSE(std::filesystem::exists(dir / "bbbbbbbb.lun0.img.bitmap"));
  // The default age guard keeps files just written.
  write_file(dir / "eeeeeeee.img", std::vector<uint8_t>(10, 1));
  ASSERT_TRUE(janitor.sweep([](std::string_view) { return false; }));
  EXPECT_TRUE(std::filesystem::exists(dir / "eeeeeeee.img"));
}

TEST(Janitor, MissingDirectoryFails) {
  Janitor janitor("/nonexistent/scsipub-janitor-test");
  EXPECT_FALSE(janitor.sweep([](std::string_view) { return false; }));
}

}  // namespace
}  // namespace scsipub::control
