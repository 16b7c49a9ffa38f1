#include "web/refreshing_page.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace scsipub::web {
namespace {

using Clock = RefreshingPage::Clock;
using std::chrono::milliseconds;

struct Fixture {
  Clock::time_point now{Clock::duration(1'000'000'000)};
  std::string content = "version 1";
  bool fail = false;
  RefreshingPage page{[this] {
                        if (fail) throw std::runtime_error("catalog unreadable");
                        return content;
                      },
                      CachedPageOptions{"text/plain", "no-cache", {}}, milliseconds(1000), [this] { return now; }};
};

TEST(RefreshingPage, RendersAtMostOncePerMaxAge) {
  Fixture f;
  auto first = f.page.current();
  EXPECT_EQ(first->body(), "version 1");
  f.content = "version 2";
  for (int i = 0; i < 100; ++i) {
    f.now += milliseconds(9);  // 891 ms in all: still within max_age
    EXPECT_EQ(f.page.current(), first);
  }
  EXPECT_EQ(f.page.renders(), 1u);
  f.now += milliseconds(200);
  auto second = f.page.current();
  EXPECT_EQ(second->body(), "version 2");
  EXPECT_NE(second->etag(), first->etag());
  EXPECT_EQ(f.page.renders(), 2u);
  EXPECT_EQ(f.page.changes(), 2u);
}

TEST(RefreshingPage, SameBytesKeepThePageAndItsTag) {
  Fixture f;
  auto first = f.page.current();
  f.now += milliseconds(5000);
  EXPECT_EQ(f.page.current(), first);
  EXPECT_EQ(f.page.renders(), 2u);
  EXPECT_EQ(f.page.changes(), 1u);
}

TEST(RefreshingPage, AFailedRenderServesThePreviousPage) {
  Fixture f;
  auto first = f.page.current();
  f.fail = true;
  f.now += milliseconds(1500);
  EXPECT_EQ(f.page.current(), first);
  EXPECT_EQ(f.page.current(), first);  // not retried before max_age
  EXPECT_EQ(f.page.renders(), 2u);
  f.fail = false;
  f.content = "back";
  f.now += milliseconds(1500);
  EXPECT_EQ(f.page.current()->body(), "back");
}

TEST(RefreshingPage, AFailedFirstRenderThrows) {
  Fixture f;
  f.fail = true;
  EXPECT_THROW(f.page.current(), std::runtime_error);
  f.fail = false;
  f.now += milliseconds(1500);
  EXPECT_EQ(f.page.current()->body(), "version 1");
}

}  // namespace
}  // namespace scsipub::web
