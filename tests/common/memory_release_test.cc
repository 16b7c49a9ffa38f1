#include "common/memory_release.h"

#include <gtest/gtest.h>

namespace scsipub {
namespace {

using Clock = SessionEndTrim::Clock;
using Decision = SessionEndTrim::Decision;
using std::chrono::milliseconds;

const Clock::time_point kStart = Clock::time_point{} + std::chrono::hours(1);

TEST(SessionEndTrim, TrimsWhenTheLastSessionEnds) {
  SessionEndTrim trim(100, milliseconds(1000));
  EXPECT_EQ(trim.session_ended(5, kStart), Decision::none);
  EXPECT_EQ(trim.session_ended(0, kStart + milliseconds(1)), Decision::now);
  // Emptying again at once still trims: that is the logout storm's end.
  EXPECT_EQ(trim.session_ended(0, kStart + milliseconds(2)), Decision::now);
  EXPECT_EQ(trim.trims(), 2u);
}

TEST(SessionEndTrim, TrimsAfterEnoughSessionsEndedOnAServerThatKeepsSome) {
  SessionEndTrim trim(4, milliseconds(1000));
  int trims = 0;
  for (int i = 0; i < 4; ++i) trims += trim.session_ended(1000, kStart) == Decision::now ? 1 : 0;
  EXPECT_EQ(trims, 1);  // the fourth
  EXPECT_EQ(trim.trims(), 1u);
}

// Sessions that end within the interval after a trim get one deferred trim
// at its end, however many they are; it is not handed out twice.
TEST(SessionEndTrim, SessionsEndingInsideTheIntervalGetOneDeferredTrim) {
  SessionEndTrim trim(4, milliseconds(1000));
  for (int i = 0; i < 4; ++i) trim.session_ended(1000, kStart);
  ASSERT_EQ(trim.trims(), 1u);
  int later = 0;
  for (int i = 0; i < 12; ++i) later += trim.session_ended(1000, kStart + milliseconds(500)) == Decision::later ? 1 : 0;
  EXPECT_EQ(later, 1);
  EXPECT_EQ(trim.retry_at(), kStart + milliseconds(1000));
  EXPECT_TRUE(trim.deferred(kStart + milliseconds(1000)));
  EXPECT_EQ(trim.trims(), 2u);
  // Nothing ended since: a second deferred call does not trim.
  EXPECT_FALSE(trim.deferred(kStart + milliseconds(1100)));
}

TEST(SessionEndTrim, FewEndedSessionsDoNotTrim) {
  SessionEndTrim trim(256, milliseconds(0));
  for (int i = 0; i < 255; ++i) EXPECT_EQ(trim.session_ended(10, kStart + milliseconds(i * 10)), Decision::none);
  EXPECT_EQ(trim.session_ended(10, kStart + milliseconds(5000)), Decision::now);
  EXPECT_EQ(trim.trims(), 1u);
}

}  // namespace
}  // namespace scsipub
