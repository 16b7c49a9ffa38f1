// One session whose disk is slow must not slow the others down. A target
// whose store sleeps 200 ms per operation sits on the same event loop as
// normal targets; the normal sessions' 4K read latency (p99) is compared with
// and without the slow session busy, over real loopback sockets. The same
// scenario with commands executed on the loop (storage_threads = 0, how the
// server used to run them) shows the stall the storage pool removes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/raw_iscsi.h"
#include "lu/logical_unit.h"
#include "net/iscsi_server.h"
#include "scsi/lun_map.h"
#include "storage/memory_store.h"

namespace scsipub::net {
namespace {

using namespace std::chrono_literals;
using Millis = std::chrono::duration<double, std::milli>;

constexpr char kFastTarget[] = "iqn.2025-01.test:fast";
constexpr char kSlowTarget[] = "iqn.2025-01.test:slow";
constexpr uint64_t kBlocks = 2048;  // 1 MiB
constexpr auto kSlowOp = 200ms;

// A disk on a stalled device: every verb takes kSlowOp.
class SlowStore final : public storage::BlockStore {
 public:
  explicit SlowStore(std::atomic<int>& ops) : inner_(kBlocks), ops_(ops) {}
  uint64_t block_count() const override { return inner_.block_count(); }
  bool read_only() const override { return false; }
  bool thin_provisioned() const override { return inner_.thin_provisioned(); }
  storage::IoStatus read(uint64_t lba, std::span<uint8_t> out) override {
    stall();
    return inner_.read(lba, out);
  }
  storage::IoStatus write(uint64_t lba, std::span<const uint8_t> in) override {
    stall();
    return inner_.write(lba, in);
  }
  storage::IoStatus unmap(uint64_t lba, uint64_t blocks) override {
    stall();
    return inner_.unmap(lba, blocks);
  }
  storage::IoStatus flush() override {
    stall();
    return inner_.flush();
  }
  storage::LbaRun lba_status(uint64_t lba) const override { return inner_.lba_status(lba); }

 private:
  void stall() {
    std::this_thread::sleep_for(kSlowOp);
    ops_.fetch_add(1);
  }
  storage::MemoryStore inner_;
  std::atomic<int>& ops_;
};

// Each login gets its own LU (like a free-tier disk): a fresh MemoryStore, or
// a SlowStore for the slow target.
class Binding final : public iscsi::TargetBinding {
 public:
  Binding(std::shared_ptr<storage::BlockStore> store, const lu::Nexus& nexus, std::atomic<int>& live)
      : unit_(std::make_shared<lu::LogicalUnit>(std::move(store), lu::Identity{})), nexus_id_(nexus.id), live_(live) {
    unit_->attach(nexus);
    luns_.add(0, unit_);
    live_.fetch_add(1);
  }
  ~Binding() override {
    unit_->detach(nexus_id_);
    live_.fetch_sub(1);
  }
  const scsi::LunMap& luns() const override { return luns_; }

 private:
  scsi::LunMap luns_;
  std::shared_ptr<lu::LogicalUnit> unit_;
  uint64_t nexus_id_;
  std::atomic<int>& live_;
};

class Targets final : public iscsi::TargetProvider {
 public:
  std::optional<iscsi::LoginTarget> find(std::string_view name, const iscsi::LoginRequester&, const iscsi::PortalInfo&) override {
    if (name != kFastTarget && name != kSlowTarget) return std::nullopt;
    return iscsi::LoginTarget{std::string(name), "", false};
  }
  std::vector<iscsi::SendTargetsEntry> send_targets(std::string_view, std::string_view, std::string_view,
                                                    const iscsi::PortalInfo&) override {
    return {};
  }
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view name, const lu::Nexus& nexus,
                                                                       const iscsi::PortalInfo&) override {
    std::shared_ptr<storage::BlockStore> store;
    if (name == kSlowTarget) {
      store = std::make_shared<SlowStore>(slow_ops);
    } else {
      store = std::make_shared<storage::MemoryStore>(kBlocks);
    }
    return std::unique_ptr<iscsi::TargetBinding>(std::make_unique<Binding>(std::move(store), nexus, live_bindings));
  }

  std::atomic<int> slow_ops{0};
  std::atomic<int> live_bindings{0};
};

// READ(10) of 8 blocks at `lba` (SBC-3 5.15), non-immediate.
raw::ScsiCommandHeader read10(raw::Session& s, uint32_t lba) {
  raw::ScsiCommandHeader b;
  b.set_final(true);
  b.set_read(true);
  b.set_attribute(raw::TaskAttribute::simple);
  b.set_lun_raw(raw::lun_field(0));
  b.set_itt(s.itt++);
  b.set_expected_data_transfer_length(8 * 512);
  b.set_cmd_sn(s.cmdsn++);
  b.set_exp_stat_sn(s.expstatsn);
  b.cdb()[0] = 0x28;
  store_be32(&b.cdb()[2], lba);
  store_be16(&b.cdb()[7], 8);
  return b;
}

// Waits for the status of `itt` (in the last Data-In or a SCSI Response).
bool await_status(raw::Session& s, uint32_t itt, raw::Clock::time_point deadline) {
  for (;;) {
    raw::Pdu p;
    if (s.c.recv_pdu(p, deadline) != raw::Recv::pdu) return false;
    bool status = p.bhs.opcode() == raw::Opcode::scsi_response ||
                  (p.bhs.opcode() == raw::Opcode::data_in && raw::DataInHeader(p.bhs).status_present());
    if (!status) continue;
    s.expstatsn = raw::TargetHeader(p.bhs).stat_sn() + 1;
    if (p.bhs.itt() == itt) return true;
  }
}

bool log_in(raw::Session& s, uint16_t port, const char* target, uint16_t isid) {
  raw::LoginSpec spec;
  spec.port = port;
  spec.target = target;
  spec.isid_q = isid;
  spec.initiator = "iqn.2025-01.test:initiator-" + std::to_string(isid);
  std::string why;
  bool ok = raw::login(s, spec, &why) == raw::LoginResult::ok;
  EXPECT_TRUE(ok) << target << ": " << why;
  return ok;
}

struct Outcome {
  double p99_ms = 0;
  size_t samples = 0;
  int slow_ops = 0;
};

// Three sessions read 4K at queue depth 1 for `span`; with `slow`, a fourth
// session on the slow target keeps four reads outstanding meanwhile.
Outcome run(unsigned storage_threads, bool slow, std::chrono::milliseconds span = 1500ms) {
  Targets targets;
  iscsi::SessionRegistry registry;
  ServerConfig cfg;
  cfg.listen_port = 0;
  cfg.threads = 1;  // every session on one loop: a stall there hits them all
  cfg.storage_threads = storage_threads;
  IscsiServer server(cfg, targets, registry);
  server.start();

  constexpr int kFast = 3;
  std::vector<std::unique_ptr<raw::Session>> fast;
  for (int i = 0; i < kFast; ++i) {
    fast.push_back(std::make_unique<raw::Session>());
    if (!log_in(*fast.back(), server.port(), kFastTarget, static_cast<uint16_t>(10 + i))) return {};
  }
  raw::Session slow_session;
  if (slow && !log_in(slow_session, server.port(), kSlowTarget, 99)) return {};

  std::atomic<bool> stop{false};
  std::thread slow_driver;
  if (slow) {
    slow_driver = std::thread([&] {
      // Four reads in flight, each answered 200 ms after the one before.
      std::vector<uint32_t> pending;
      for (int i = 0; i < 4; ++i) {
        auto b = read10(slow_session, static_cast<uint32_t>(i * 8));
        pending.push_back(b.itt());
        slow_session.c.send_pdu(b);
      }
      while (!stop.load()) {
        uint32_t itt = pending.front();
        pending.erase(pending.begin());
        if (!await_status(slow_session, itt, raw::Clock::now() + 5s)) return;
        auto b = read10(slow_session, 0);
        pending.push_back(b.itt());
        slow_session.c.send_pdu(b);
      }
    });
    std::this_thread::sleep_for(50ms);  // the slow reads are under way
  }

  std::vector<std::vector<double>> latencies(kFast);
  std::vector<std::thread> drivers;
  auto until = raw::Clock::now() + span;
  for (int i = 0; i < kFast; ++i) {
    drivers.emplace_back([&, i] {
      raw::Session& s = *fast[static_cast<size_t>(i)];
      uint32_t lba = 0;
      while (raw::Clock::now() < until) {
        auto b = read10(s, lba);
        lba = (lba + 8) % kBlocks;
        auto t0 = raw::Clock::now();
        if (!s.c.send_pdu(b) || !await_status(s, b.itt(), t0 + 5s)) {
          ADD_FAILURE() << "a fast session's read did not complete";
          return;
        }
        latencies[static_cast<size_t>(i)].push_back(Millis(raw::Clock::now() - t0).count());
      }
    });
  }
  for (auto& d : drivers) d.join();
  stop = true;
  if (slow_driver.joinable()) slow_driver.join();

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Outcome o;
  o.samples = all.size();
  if (!all.empty()) o.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  o.slow_ops = targets.slow_ops.load();
  server.shutdown(0ms);
  return o;
}

TEST(SlowStorage, OtherSessionsOnTheLoopKeepTheirLatency) {
  Outcome alone = run(16, false);
  Outcome beside_slow = run(16, true);
  std::printf("fast sessions' 4K read p99: %.2f ms alone (%zu reads), %.2f ms beside the slow session (%zu reads, "
              "%d slow ops)\n",
              alone.p99_ms, alone.samples, beside_slow.p99_ms, beside_slow.samples, beside_slow.slow_ops);
  ASSERT_GT(alone.samples, 100u);
  ASSERT_GT(beside_slow.samples, 100u);
  EXPECT_GE(beside_slow.slow_ops, 4) << "the slow session did no I/O";
  // Unaffected: within noise of the run without it (sanitizers and a busy
  // machine make single runs noisy), and well below one slow op; on the
  // loop a slow op lands in the p99 whole (the next test).
  EXPECT_LT(beside_slow.p99_ms, std::max(4 * alone.p99_ms, alone.p99_ms + 30.0));
  EXPECT_LT(beside_slow.p99_ms, 100.0);
}

TEST(SlowStorage, CommandsOnTheLoopStallEveryoneThere) {
  // The measurement above can fail: executed on the loop, a slow disk's
  // 200 ms stalls show in every other session's p99.
  Outcome on_loop = run(0, true);
  std::printf("on the loop: fast sessions' p99 %.2f ms (%zu reads)\n", on_loop.p99_ms, on_loop.samples);
  EXPECT_GE(on_loop.p99_ms, 150.0);
}

TEST(SlowStorage, ConnectionDroppedWhileItsCommandRunsEndsAfterIt) {
  Targets targets;
  iscsi::SessionRegistry registry;
  ServerConfig cfg;
  cfg.listen_port = 0;
  cfg.threads = 1;
  cfg.storage_threads = 2;
  IscsiServer server(cfg, targets, registry);
  server.start();
  {
    raw::Session s;
    ASSERT_TRUE(log_in(s, server.port(), kSlowTarget, 7));
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(s.c.send_pdu(read10(s, 0)));
    std::this_thread::sleep_for(50ms);  // the first read is running on the pool
    EXPECT_EQ(targets.live_bindings.load(), 1);
  }  // the socket closes with seven reads queued behind the running one
  for (int i = 0; i < 200 && (targets.live_bindings.load() != 0 || registry.size() != 0); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(targets.live_bindings.load(), 0) << "the session's LU outlived it";
  EXPECT_EQ(registry.size(), 0u);
  // The running read finished; the queued ones were skipped.
  EXPECT_LE(targets.slow_ops.load(), 2);

  // The loop still serves: a fast session logs in and reads.
  raw::Session fast;
  ASSERT_TRUE(log_in(fast, server.port(), kFastTarget, 8));
  auto b = read10(fast, 0);
  ASSERT_TRUE(fast.c.send_pdu(b));
  EXPECT_TRUE(await_status(fast, b.itt(), raw::Clock::now() + 2s));
  server.shutdown(0ms);
}

}  // namespace
}  // namespace scsipub::net
