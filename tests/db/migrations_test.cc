// The migration-history rule both backends apply when they open a database.
#include "db/migrations.h"

#include <gtest/gtest.h>

namespace scsipub::db {
namespace {

TEST(MigrationHistory, EmptyAndContiguousHistoriesOpen) {
  EXPECT_FALSE(migration_history_problem({0, 0, 0}));
  EXPECT_FALSE(migration_history_problem({1, 1, 1}));
  EXPECT_FALSE(migration_history_problem({kLatestSchemaVersion, 1, kLatestSchemaVersion}));
}

TEST(MigrationHistory, NewerSchemaIsRefusedNamingBothVersions) {
  auto p = migration_history_problem({kLatestSchemaVersion + 1, 1, kLatestSchemaVersion + 1});
  ASSERT_TRUE(p);
  EXPECT_NE(p->find("newer than this build supports (" + std::to_string(kLatestSchemaVersion) + ")"),
            std::string::npos)
      << *p;
}

TEST(MigrationHistory, GapsAndMissingFirstStepAreDamage) {
  auto gap = migration_history_problem({2, 1, 3});
  ASSERT_TRUE(gap);
  EXPECT_NE(gap->find("damaged (2 rows, versions 1..3)"), std::string::npos) << *gap;
  EXPECT_TRUE(migration_history_problem({1, 2, 2}));
}

}  // namespace
}  // namespace scsipub::db
