// LuReservations at run time: the per-command conflict check matches a
// session's nexus against stored port names without building them, and it
// neither blocks nor sees a half-made state while a PR OUT waits for its
// database commit.
#include "scsi/lu_reservations.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "common/bytes.h"

namespace scsipub::scsi {
namespace {

using namespace std::chrono_literals;

lu::Nexus session(std::string initiator, uint8_t isid_low, uint16_t tpgt = 1) {
  lu::Nexus n;
  n.id = isid_low;
  n.initiator_name = std::move(initiator);
  n.isid = {0x40, 0x00, 0x01, 0x37, 0xab, isid_low};
  n.target_portal_group = tpgt;
  n.target_name = "iqn.2025-01.pub.scsipub:disk.t";
  return n;
}

TEST(PrNexusRef, MatchesExactlyWhatPrNexusSpells) {
  const lu::Nexus a = session("iqn.2025-01.org.example:a", 1);
  EXPECT_TRUE(PrNexusRef(a).matches(pr_nexus(a)));
  // Any one part different: no match.
  for (const lu::Nexus& other : {session("iqn.2025-01.org.example:b", 1), session("iqn.2025-01.org.example:a", 2),
                                 session("iqn.2025-01.org.example:a", 1, 2), session("iqn.2025-01.org.example:", 1),
                                 session("iqn.2025-01.org.example:aa", 1)}) {
    EXPECT_FALSE(PrNexusRef(other).matches(pr_nexus(a))) << pr_nexus(other).initiator_port;
    EXPECT_FALSE(PrNexusRef(a).matches(pr_nexus(other))) << pr_nexus(other).initiator_port;
  }
  lu::Nexus other_target = a;
  other_target.target_name += "x";
  EXPECT_FALSE(PrNexusRef(other_target).matches(pr_nexus(a)));
  // Longer or shorter spellings never match.
  PrNexus longer = pr_nexus(a);
  longer.initiator_port += "0";
  EXPECT_FALSE(PrNexusRef(a).matches(longer));
  PrNexus shorter = pr_nexus(a);
  shorter.target_port.pop_back();
  EXPECT_FALSE(PrNexusRef(a).matches(shorter));
  // A stored name compares as before.
  const PrNexus stored = pr_nexus(a);
  EXPECT_TRUE(PrNexusRef(stored).matches(pr_nexus(a)));
}

std::vector<uint8_t> pr_out_cdb(uint8_t sa, uint8_t type) {
  std::vector<uint8_t> c(10, 0);
  c[0] = 0x5F;
  c[1] = sa;
  c[2] = type;
  store_be32(&c[5], 24);
  return c;
}

std::vector<uint8_t> params(uint64_t key, uint64_t sa_key) {
  std::vector<uint8_t> v(24, 0);
  store_be64(&v[0], key);
  store_be64(&v[8], sa_key);
  return v;
}

constexpr lu::ReservationAccess kWrite{lu::PrAccess::write, lu::Scsi2Access::holder_only};
constexpr lu::ReservationAccess kRead{lu::PrAccess::read, lu::Scsi2Access::holder_only};

// A persistence hook the test can hold, like a database commit that takes long.
class SlowCommit {
 public:
  Status operator()(const PrStateValue&) {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait_for(lock, 10s, [&] { return !hold_; });
    return ok_status();
  }
  void hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  bool wait_entered(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return entered_ >= n; });
  }
  void release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  int entered_ = 0;
};

TEST(LuReservations, ConflictCheckDoesNotWaitForACommit) {
  SlowCommit commit;
  LuReservations res({}, [&](const PrStateValue& s) { return commit(s); });
  lu::LogicalUnit unit(nullptr, lu::Identity{});
  const lu::Nexus holder = session("iqn.2025-01.org.example:holder", 1);
  const lu::Nexus stranger = session("iqn.2025-01.org.example:stranger", 2);
  ASSERT_EQ(res.out(pr_out_cdb(0x06, 0), params(0, 1), holder, unit).status, PrStatus::good);  // REGISTER
  ASSERT_EQ(res.out(pr_out_cdb(0x01, 0x01), params(1, 0), holder, unit).status, PrStatus::good);  // RESERVE WE
  EXPECT_TRUE(res.conflicts(kWrite, stranger));
  EXPECT_FALSE(res.conflicts(kRead, stranger));
  EXPECT_FALSE(res.conflicts(kWrite, holder));

  // The holder releases; the commit hangs. Meanwhile the LU's other commands
  // are checked at once, against the state still in force.
  commit.hold();
  auto release = std::async(std::launch::async, [&] {
    return res.out(pr_out_cdb(0x02, 0x01), params(1, 0), holder, unit).status;
  });
  ASSERT_TRUE(commit.wait_entered(3));
  auto check = std::async(std::launch::async, [&] { return res.conflicts(kWrite, stranger); });
  ASSERT_EQ(check.wait_for(2s), std::future_status::ready) << "the conflict check waited for the commit";
  EXPECT_TRUE(check.get());
  commit.release();
  EXPECT_EQ(release.get(), PrStatus::good);
  EXPECT_FALSE(res.conflicts(kWrite, stranger));  // committed: released
}

}  // namespace
}  // namespace scsipub::scsi
