// `scsipub image add|list|remove` against a real SQLite store and a real
// images directory; and the [catalog] configuration keys.
#include "app/image_cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "app/image_import.h"
#include "app/progress_display.h"
#include "db/sqlite_store.h"
#include "storage/temp_dir.h"

namespace scsipub::app {
namespace {

namespace fs = std::filesystem;

class ImageCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = db::SqliteStore::open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
    cfg_.images_dir = dir_ / "images";
    cfg_.catalog.reserve_free_bytes = 0;
    raw_ = std::vector<uint8_t>(1 << 20, 0x5a);
    testing::write_file(dir_ / "disk.raw", raw_);
  }
  int add(ImageAddOptions o, std::string* err_text = nullptr) {
    std::ostringstream out, err;
    int rc = image_add(*store_, cfg_, o, out, err, false, nullptr);
    if (err_text != nullptr) *err_text = err.str();
    return rc;
  }
  ImageAddOptions options(const std::string& name) {
    ImageAddOptions o;
    o.name = name;
    o.source = (dir_ / "disk.raw").string();
    o.title = "A title";
    return o;
  }
  testing::TempDir dir_;
  std::unique_ptr<db::MetaStore> store_;
  Config cfg_;
  std::vector<uint8_t> raw_;
};

TEST_F(ImageCliTest, AddWritesFileAndRow) {
  ASSERT_EQ(add(options("demo")), 0);
  EXPECT_EQ(testing::read_file(cfg_.images_dir / "demo.img"), raw_);
  auto row = store_->get_catalog_image("demo");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->title, "A title");
  EXPECT_EQ((*row)->source_format, "raw");
  EXPECT_EQ((*row)->size_bytes, raw_.size());
  EXPECT_EQ((*row)->presentation, "auto");
  std::ostringstream out, err;
  ASSERT_EQ(image_list(*store_, cfg_, true, out, err), 0);
  EXPECT_NE(out.str().find("\"title\":\"A title\""), std::string::npos) << out.str();
}

TEST_F(ImageCliTest, BadArgumentsExitTwoAndLeaveNothing) {
  std::string err;
  auto o = options("Bad_Name");
  EXPECT_EQ(add(o, &err), 2);
  EXPECT_NE(err.find("invalid image name"), std::string::npos);
  o = options("ok");
  o.title = "line\nbreak";
  EXPECT_EQ(add(o, &err), 2);
  o = options("ok");
  o.presentation = "floppy";
  EXPECT_EQ(add(o, &err), 2);
  EXPECT_FALSE(fs::exists(cfg_.images_dir / "ok.img"));
}

TEST_F(ImageCliTest, RefusedIngestLeavesNoRowAndOneLineReason) {
  auto o = options("demo");
  o.sha256 = std::string(64, '1');
  std::string err;
  EXPECT_EQ(add(o, &err), 1);
  // Progress lines come first (stderr is not a terminal here); the reason is the last line.
  ASSERT_TRUE(err.ends_with("\n"));
  const std::string last = err.substr(err.rfind('\n', err.size() - 2) + 1);
  EXPECT_TRUE(last.starts_with("scsipub: image add demo: sha256 mismatch")) << err;
  auto row = store_->get_catalog_image("demo");
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->has_value());
  EXPECT_TRUE(fs::is_empty(cfg_.images_dir));
}

TEST_F(ImageCliTest, RemoveDeletesRowThenFile) {
  ASSERT_EQ(add(options("demo")), 0);
  std::ostringstream out, err;
  ASSERT_EQ(image_remove(*store_, cfg_, "demo", out, err), 0);
  EXPECT_FALSE(fs::exists(cfg_.images_dir / "demo.img"));
  EXPECT_FALSE(store_->get_catalog_image("demo")->has_value());
  // A file without a row is still removed, and it says so.
  testing::write_file(cfg_.images_dir / "orphan.iso", {1, 2, 3});
  std::ostringstream out2;
  ASSERT_EQ(image_remove(*store_, cfg_, "orphan", out2, err), 0);
  EXPECT_NE(out2.str().find("there was no catalog row; 1 file(s) unlinked"), std::string::npos) << out2.str();
  EXPECT_FALSE(fs::exists(cfg_.images_dir / "orphan.iso"));
  std::ostringstream out3, err3;
  EXPECT_EQ(image_remove(*store_, cfg_, "nothing", out3, err3), 1);
}

TEST_F(ImageCliTest, ImporterForTheOperatorApi) {
  LimitEvents events;
  auto importer = make_image_importer(*store_, cfg_.images_dir, cfg_.catalog, &events);
  std::vector<std::string> phases;
  std::atomic<bool> cancel{false};
  auto request = options("viaapi");
  ASSERT_TRUE(importer(request, [&](const control::ImportProgress& p) { phases.push_back(p.phase); }, cancel).ok());
  EXPECT_EQ(testing::read_file(cfg_.images_dir / "viaapi.img"), raw_);
  EXPECT_TRUE(store_->get_catalog_image("viaapi")->has_value());
  EXPECT_FALSE(phases.empty());
  // A refusal by a limit is counted where the server exports it.
  auto big = options("big");
  ingest::IngestLimits tiny = cfg_.catalog;
  tiny.max_download_bytes = 1000;
  auto refusing = make_image_importer(*store_, cfg_.images_dir, tiny, &events);
  auto refused = refusing(big, {}, cancel);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("max_download_bytes"), std::string::npos);
  EXPECT_EQ(events.count(Limit::ingest_size), 1u);
  EXPECT_FALSE(std::filesystem::exists(cfg_.images_dir / "big.img"));
}

TEST(CatalogConfig, KeysLoadAndValidate) {
  testing::TempDir dir;
  std::ofstream(dir / "c.toml") << "[catalog]\nmax_virtual_size = 2147483648\nmax_download_bytes = 1073741824\n"
                                   "converter_timeout_seconds = 60\nconverter_memory = 2147483648\n"
                                   "reserve_free_bytes = 0\ndownload_connect_timeout_seconds = 5\n"
                                   "download_stall_timeout_seconds = 30\n";
  Config cfg;
  ASSERT_TRUE(load_toml(dir / "c.toml", cfg).ok());
  EXPECT_EQ(cfg.catalog.max_virtual_size, 2147483648u);
  EXPECT_EQ(cfg.catalog.max_download_bytes, 1073741824u);
  EXPECT_EQ(cfg.catalog.converter_timeout, std::chrono::seconds(60));
  EXPECT_EQ(cfg.catalog.converter_memory, 2147483648u);
  EXPECT_EQ(cfg.catalog.reserve_free_bytes, 0u);
  EXPECT_EQ(cfg.catalog.download_connect_timeout, std::chrono::seconds(5));
  EXPECT_EQ(cfg.catalog.download_stall_timeout, std::chrono::seconds(30));
  EXPECT_TRUE(validate(cfg).ok());

  std::ofstream(dir / "typo.toml") << "[catalog]\nmax_virtual_sise = 1\n";
  Config typo;
  EXPECT_FALSE(load_toml(dir / "typo.toml", typo).ok());
  std::ofstream(dir / "neg.toml") << "[catalog]\nconverter_memory = -1\n";
  EXPECT_FALSE(load_toml(dir / "neg.toml", typo).ok());

  ingest::IngestLimits l;
  EXPECT_TRUE(validate_catalog_limits(l).ok());
  EXPECT_EQ(l.max_virtual_size, 64ull << 30);  // documented defaults
  EXPECT_EQ(l.reserve_free_bytes, 1ull << 30);
  l.converter_memory = 256u << 20;
  EXPECT_FALSE(validate_catalog_limits(l).ok());
  l = {};
  l.converter_timeout = std::chrono::seconds(0);
  EXPECT_FALSE(validate_catalog_limits(l).ok());
  l = {};
  l.max_virtual_size = 1000;
  EXPECT_FALSE(validate_catalog_limits(l).ok());
}

}  // namespace
}  // namespace scsipub::app

namespace scsipub::app {
namespace {

TEST(ProgressDisplay, PlainLinesAtMostEveryIntervalAndOnEachNewPhase) {
  std::ostringstream out;
  ProgressDisplay display(out, false, std::chrono::seconds(5));
  const auto t0 = ProgressDisplay::Clock::time_point{} + std::chrono::hours(1);
  display.update({"download", 1 << 20, 0}, t0);
  display.update({"download", 2 << 20, 0}, t0 + std::chrono::seconds(1));  // too soon: nothing
  display.update({"download", 3 << 20, 0}, t0 + std::chrono::seconds(6));
  display.update({"convert", 0, 4 << 20}, t0 + std::chrono::seconds(7));   // a new phase: at once
  display.update({"convert", 4 << 20, 4 << 20}, t0 + std::chrono::seconds(8));
  display.finish();
  EXPECT_EQ(out.str(), "download: 1.0 MiB\ndownload: 3.0 MiB\nconvert: 0 B / 4.0 MiB (0%)\n");
}

TEST(ProgressDisplay, TerminalRedrawsOneLine) {
  std::ostringstream out;
  ProgressDisplay display(out, true);
  const auto t0 = ProgressDisplay::Clock::time_point{} + std::chrono::hours(1);
  display.update({"convert", 1 << 20, 4 << 20}, t0);
  display.update({"convert", 4 << 20, 4 << 20}, t0 + std::chrono::milliseconds(10));  // finished: drawn
  display.finish();
  const std::string text = out.str();
  EXPECT_NE(text.find("\r\033[Kconvert [#######                       ]  25% 1.0 MiB / 4.0 MiB"), std::string::npos)
      << text;
  EXPECT_NE(text.find("100% 4.0 MiB / 4.0 MiB\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST(ProgressDisplay, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(64ull << 30), "64.0 GiB");
}

}  // namespace
}  // namespace scsipub::app
