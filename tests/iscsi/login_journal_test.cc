#include "iscsi/login_journal.h"

#include <gtest/gtest.h>

#include "iscsi/login_negotiator.h"

namespace scsipub::iscsi {
namespace {

using namespace std::chrono_literals;

TEST(LoginJournalTest, FoldsRepeatsWithinTheWindowAndKeepsNewestFirst) {
  LoginJournal j(8, std::chrono::seconds(300));
  auto t0 = LoginJournal::Clock::time_point{} + 1000h;
  j.refused("192.0.2.1:5000", "192.0.2.1", "iqn.a", "iqn.t1", "unknown target", t0);
  j.refused("192.0.2.2:5000", "192.0.2.2", "iqn.b", "iqn.t1", "unknown target", t0 + 1s);
  j.refused("192.0.2.1:5001", "192.0.2.1", "iqn.a", "iqn.t1", "unknown target", t0 + 3s);
  auto r = j.recent();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].group, "192.0.2.1");
  EXPECT_EQ(r[0].repeats, 1u);
  EXPECT_EQ(r[0].peer_address, "192.0.2.1:5001");
  EXPECT_EQ(r[0].last_at, t0 + 3s);
  EXPECT_EQ(r[0].first_at, t0);
  EXPECT_EQ(r[1].group, "192.0.2.2");
  // Past the window the same refusal is a new entry.
  j.refused("192.0.2.1:5002", "192.0.2.1", "iqn.a", "iqn.t1", "unknown target", t0 + 301s);
  EXPECT_EQ(j.recent().size(), 3u);
  EXPECT_EQ(j.total(), 4u);
}

TEST(LoginJournalTest, IsBoundedInEntriesAndInBytes) {
  LoginJournal j(4);
  for (int i = 0; i < 100; ++i) {
    j.refused("192.0.2.1:1", "g" + std::to_string(i), std::string(10000, 'x'), std::string(5000, 'y'), "r");
  }
  auto r = j.recent();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].group, "g99");
  EXPECT_EQ(r[3].group, "g96");
  for (const auto& e : r) {
    EXPECT_EQ(e.initiator_name.size(), LoginJournal::kMaxText);
    EXPECT_EQ(e.target_name.size(), LoginJournal::kMaxText);
  }
}

TEST(LoginJournalTest, StatusTextNamesTheCommonRefusals) {
  EXPECT_EQ(login_status_text(login_status::kInitiatorError, login_status::kNotFound), "unknown target");
  EXPECT_EQ(login_status_text(login_status::kInitiatorError, login_status::kAuthFailure), "authentication failed");
  EXPECT_EQ(login_status_text(login_status::kTargetError, login_status::kOutOfResources), "out of resources");
  EXPECT_EQ(login_status_text(9, 9), "unknown status");
}

}  // namespace
}  // namespace scsipub::iscsi
