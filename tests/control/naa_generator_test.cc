// NAA identifiers of the free tier's logical units, and what the injected
// randomness makes reproducible: the same seed gives the same overlay id
// prefix and NAA identifiers on every run, another seed other ones.
#include "control/naa_generator.h"

#include <gtest/gtest.h>

#include <set>

#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "scsi/lun_map.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::FixedClock;
using scsipub::testing::SeededRandom;
using scsipub::testing::TempDir;

TEST(NaaGeneratorTest, IdentifiersAreRegisteredNaaAndDistinct) {
  NaaGenerator naa(42);
  std::set<uint64_t> seen;
  for (int i = 0; i < 4096; ++i) {
    const uint64_t id = naa.next();
    EXPECT_EQ(id >> 60, 5u);  // SPC-4 7.8.6.6.4: NAA IEEE Registered
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 4096u);
}

TEST(NaaGeneratorTest, TheSeedDecidesTheSequence) {
  NaaGenerator a(42), b(42), c(43);
  for (int i = 0; i < 8; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
}

// Before the randomness was injected, each TargetDirectory drew from
// std::random_device: its overlay ids and NAA identifiers differed on every
// run and no test could name them.
class SeededDirectoryTest : public ::testing::Test {
 protected:
  struct Run {
    std::string prefix;
    std::vector<uint64_t> naa;  // of the blank target's LU, three logins
  };
  Run run(uint64_t seed) {
    FixedClock clock;
    SeededRandom random(seed);
    std::filesystem::create_directories(tmp_.path() / "images");
    Catalog catalog(tmp_.path() / "images");
    EXPECT_TRUE(catalog.rescan());
    DirectoryConfig cfg;
    cfg.overlay_dir = tmp_.path() / "overlays";
    std::filesystem::create_directories(cfg.overlay_dir);
    cfg.free_tier.blank_size = 1u << 20;
    TargetDirectory dir(cfg, catalog, local_placement(), clock, random);
    Run r{dir.instance_prefix(), {}};
    for (uint64_t id = 1; id <= 3; ++id) {
      lu::Nexus n;
      n.id = id;
      n.target_name = blank_target();
      auto b = dir.bind(blank_target(), n, iscsi::PortalInfo{"127.0.0.1", 3260, "127.0.0.1", 40000});
      EXPECT_TRUE(b.ok());
      if (!b.ok()) continue;
      lu::LogicalUnit* unit = b.value()->luns().find(0);
      EXPECT_NE(unit, nullptr);
      if (unit != nullptr) r.naa.push_back(unit->identity().naa_id);
    }
    return r;
  }
  TempDir tmp_;
};

TEST_F(SeededDirectoryTest, TheSameSeedGivesTheSameIdsOnEveryRun) {
  const Run first = run(7);
  const Run again = run(7);
  const Run other = run(8);
  EXPECT_EQ(first.prefix.size(), 8u);
  EXPECT_EQ(first.prefix, again.prefix);
  EXPECT_EQ(first.naa, again.naa);
  ASSERT_EQ(first.naa.size(), 3u);
  EXPECT_NE(first.naa[0], first.naa[1]);
  EXPECT_NE(first.prefix, other.prefix);
  EXPECT_NE(first.naa, other.naa);
}

}  // namespace
}  // namespace scsipub::control
