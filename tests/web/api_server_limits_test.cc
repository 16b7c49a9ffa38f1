// The HTTP listener against hostile clients, over real loopback sockets:
// oversized and countless headers, trickling clients, per-address limits.
// Each attack here was measured against the cpp-httplib server this one
// replaced.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "web/api_server.h"
#include "web/fake_disk_service.h"
#include "web/http_test_client.h"

namespace scsipub::web {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::FakeDiskService;
using testing::TestSocket;

// The review's "8 KB headers": just under cpp-httplib's 8 KiB line cap.
constexpr size_t kEightKB = 8000;
constexpr char kPartialRequest[] = "GET /api/v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\n";

class ApiServerLimitsTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits, size_t threads = 2) {
    server_ = std::make_unique<ApiServer>(
        service_, ApiServerConfig{
                      .host = "127.0.0.1", .port = 0, .threads = threads, .limits = limits, .limit_events = &events_});
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
  }
  uint16_t port() const { return server_->port(); }

  // A fresh client's GET /api/v1/images: the status, or 0 without a reply in time.
  int images_status(std::chrono::milliseconds timeout, const std::string& source = "127.0.0.1") {
    auto r = testing::http_request(port(), "GET", "/api/v1/images", {}, {}, timeout, source);
    return r ? r->status : 0;
  }

  FakeDiskService service_;
  LimitEvents events_;
  std::unique_ptr<ApiServer> server_;
};

// Sends a request with `count` headers of `value_size` bytes each, stopping
// at the first refused write. Refused means: a 4xx reply, or the connection
// closed before the request was complete.
struct HeaderFloodOutcome {
  bool sent_everything = false;
  int status = 0;  // 0: no reply
};
HeaderFloodOutcome flood_headers(uint16_t port, size_t count, size_t value_size) {
  TestSocket s(port);
  HeaderFloodOutcome out;
  if (!s.send_all(kPartialRequest)) return out;
  const std::string value(value_size, 'v');
  std::string batch;
  size_t sent = 0;
  for (; sent < count; ++sent) {
    batch += "X-Flood-" + std::to_string(sent) + ": " + value + "\r\n";
    if (batch.size() >= 64 * 1024 || sent + 1 == count) {
      if (!s.send_all(batch)) break;
      batch.clear();
    }
  }
  out.sent_everything = sent == count && s.send_all("\r\n");
  auto reply = s.read_reply(5s);
  out.status = reply ? reply->status : 0;
  return out;
}

void expect_refused(const HeaderFloodOutcome& o) {
  EXPECT_NE(o.status, 200);
  if (o.status != 0) {
    EXPECT_GE(o.status, 400);
    EXPECT_LT(o.status, 500);
  } else {
    EXPECT_FALSE(o.sent_everything) << "no reply although the whole request was sent";
  }
}

// (a) cpp-httplib 0.11 answered both with 200.
TEST_F(ApiServerLimitsTest, LargeOrCountlessHeadersAreRefused) {
  start({});
  expect_refused(flood_headers(port(), 200, kEightKB));
  expect_refused(flood_headers(port(), 10'000, 1));
  // One over the count limit, each header tiny: refused by count, not size.
  HttpLimits defaults;
  auto over_count = flood_headers(port(), defaults.max_headers + 1, 1);
  expect_refused(over_count);
  EXPECT_TRUE(over_count.sent_everything);
  // Within both limits: served.
  auto within = flood_headers(port(), defaults.max_headers / 2, defaults.max_header_bytes / defaults.max_headers);
  EXPECT_EQ(within.status, 200);
  EXPECT_EQ(images_status(2s), 200);
  EXPECT_GE(events_.count(Limit::http_request_refused), 3u);
}

// (a) The review's attack, scaled to a test: headers that never end. With
// cpp-httplib 0.11 every byte of 32 MiB of headers stayed in the server's
// memory while the request was open.
TEST_F(ApiServerLimitsTest, EndlessHeadersDoNotGrowMemory) {
  start({});
  const long before = testing::resident_kib();
  ASSERT_GT(before, 0);
  TestSocket s(port());
  ASSERT_TRUE(s.send_all(kPartialRequest));
  const std::string line = "X-Flood: " + std::string(kEightKB, 'v') + "\r\n";
  std::string batch;
  for (int i = 0; i < 8; ++i) batch += line;
  size_t sent = 0;
  const auto deadline = Clock::now() + 3s;
  while (sent < (32u << 20) && Clock::now() < deadline && s.send_all(batch)) sent += batch.size();
  const long during = testing::resident_kib();  // the connection is still open (or already refused)
  // Socket buffers absorb a few MiB after the server closed; all 32 MiB
  // means it kept reading.
  EXPECT_LT(sent, 16u << 20) << "the server kept reading headers";
  // ASan's allocator and the test's own buffers move RSS a little.
  EXPECT_LT(during - before, 16 * 1024) << "RSS grew from " << before << " to " << during << " KiB";
}

// (b) cpp-httplib 0.11: trickling clients held every worker; a fresh
// request waited for their read timeouts.
TEST_F(ApiServerLimitsTest, TricklingClientsDoNotBlockOthers) {
  start({}, /*threads=*/2);
  constexpr int kTricklers = 8;  // four times the handler threads
  std::atomic<bool> stop{false};
  std::vector<std::thread> tricklers;
  for (int i = 0; i < kTricklers; ++i) {
    tricklers.emplace_back([this, i, &stop] {
      TestSocket s(port(), "127.0.0." + std::to_string(10 + i));
      s.send_all("GET /api/v1/images HTTP/1.1\r\n");
      for (int n = 0; n < 40 && !stop.load(); ++n) {
        if (!s.send_all("X-Slow-" + std::to_string(n) + ": x\r\n")) return;
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  std::this_thread::sleep_for(300ms);  // every trickler has started
  const auto t0 = Clock::now();
  const int status = images_status(1s);
  const auto took = Clock::now() - t0;
  stop.store(true);
  for (auto& t : tricklers) t.join();
  EXPECT_EQ(status, 200);
  EXPECT_LT(took, 1s);
}

// (c) A client that trickles a header byte now and then beats an idle
// timeout; the whole-request deadline closes it. One that goes quiet is
// closed by the idle timeout. cpp-httplib 0.11 kept both open.
TEST_F(ApiServerLimitsTest, TricklingAndIdleClientsAreClosed) {
  HttpLimits limits;
  limits.idle_timeout = 1s;
  limits.request_timeout = 1500ms;
  start(limits);

  TestSocket quiet(port());
  ASSERT_TRUE(quiet.send_all(kPartialRequest));

  TestSocket trickler(port());
  ASSERT_TRUE(trickler.send_all(kPartialRequest));
  const auto t0 = Clock::now();
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {  // a byte every 100 ms, never idle for a second
    if (!trickler.send_all("X")) break;
    closed = trickler.closed_by_peer_within(100ms);
  }
  if (!closed) closed = trickler.closed_by_peer_within(100ms);
  EXPECT_TRUE(closed) << "the trickling client is still connected after 4 s";
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_TRUE(quiet.closed_by_peer_within(1s));
  EXPECT_EQ(images_status(2s), 200);
  EXPECT_GE(events_.count(Limit::http_timeout), 2u);
}

// (d) cpp-httplib 0.11 had no per-address limit: one address could hold
// every connection.
TEST_F(ApiServerLimitsTest, PerAddressLimitLeavesOtherAddressesServed) {
  HttpLimits limits;
  limits.max_connections_per_ip = 4;
  start(limits);
  std::vector<TestSocket> held;
  for (int i = 0; i < 4; ++i) {
    held.emplace_back(port(), "127.0.0.1");
    ASSERT_TRUE(held.back().send_all(kPartialRequest));
  }
  std::this_thread::sleep_for(100ms);  // the server has taken them
  TestSocket excess(port(), "127.0.0.1");
  excess.send_all(kPartialRequest);
  EXPECT_TRUE(excess.closed_by_peer_within(1s)) << "a fifth connection from one address was kept";
  EXPECT_EQ(images_status(1s, "127.0.0.1"), 0);
  EXPECT_EQ(images_status(1s, "127.0.0.2"), 200);
  EXPECT_GE(events_.count(Limit::http_connections_per_ip), 2u);
  held.clear();  // the slots come back
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(images_status(1s, "127.0.0.1"), 200);
}

TEST_F(ApiServerLimitsTest, TotalConnectionLimit) {
  HttpLimits limits;
  limits.max_connections = 6;
  limits.max_connections_per_ip = 4;
  start(limits);
  std::vector<TestSocket> held;
  for (int i = 0; i < 6; ++i) {
    held.emplace_back(port(), i < 3 ? "127.0.0.3" : "127.0.0.4");
    ASSERT_TRUE(held.back().send_all(kPartialRequest));
  }
  std::this_thread::sleep_for(100ms);
  TestSocket excess(port(), "127.0.0.5");
  excess.send_all(kPartialRequest);
  EXPECT_TRUE(excess.closed_by_peer_within(1s));
  EXPECT_EQ(events_.count(Limit::http_connections_total), 1u);
  held.pop_back();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(images_status(1s, "127.0.0.5"), 200);
}

}  // namespace
}  // namespace scsipub::web
