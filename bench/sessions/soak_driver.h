#pragma once
// The traffic of a soak over a SessionPool: verified 4 KiB reads and writes
// (one command in flight per session, a global rate), and churn (sessions
// that log out and come back as a new initiator, sessions that drop their
// connection without a Logout and reinstate within the target's retain
// period, expecting their data back).
//
// Every session slot keeps a small model of what it wrote (block -> version);
// a read must return exactly the tagged block it last wrote there, or the
// disk's base content where it never wrote (soak_blocks.h). A slot's identity
// is "<prefix>:s<slot>g<generation>": a logout starts a new generation, a new
// initiator with a fresh disk; a drop keeps the generation, so the reinstating
// login must find the old overlay (RFC 7143 6.3.5 session reinstatement; the
// target keeps a dropped free session's disk for [free_tier] retain_seconds).
// An abandoned drop never comes back: its disk must go when that period ends.
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sessions/session_pool.h"
#include "sessions/soak_blocks.h"

namespace scsipub::bench {

struct SoakTarget {
  std::string iqn;
  BaseContent base = BaseContent::zeros;
  uint64_t blocks = 0;  // 4 KiB blocks the soak may use (from block 0)
};

struct SoakConfig {
  std::vector<SoakTarget> targets;  // slot i uses targets[i % size]
  std::string initiator_prefix;
  double io_per_s = 200;            // commands started per second, all sessions together
  double churn_per_s = 2;           // logouts + drops per second
  double drop_fraction = 0.3;       // of churn events: drops without Logout
  double abandon_fraction = 0.3;    // of drops: the host never comes back (its disk must expire)
  Clock::duration retain{};         // the target's [free_tier] retain_seconds
  size_t max_tracked_blocks = 16;   // blocks one slot writes before it only overwrites
};

struct SoakCounters {
  uint64_t writes = 0;            // WRITE(10) completed GOOD
  uint64_t reads = 0;             // READ(10) completed GOOD and compared
  uint64_t verify_errors = 0;     // reads whose data differed from the model
  uint64_t io_errors = 0;         // commands that failed (status, Reject, protocol)
  uint64_t unit_attentions = 0;   // commands repeated after a UNIT ATTENTION
  uint64_t churn_logouts = 0;     // sessions logged out by churn (a new generation logs in)
  uint64_t churn_drops = 0;       // sessions dropped without Logout by churn, to reinstate
  uint64_t churn_abandons = 0;    // dropped without Logout, never reinstated (a new generation logs in)
  uint64_t reinstated = 0;        // dropped sessions back within the retain period (model kept)
  uint64_t reinstated_late = 0;   // back only after it: logged out, a new generation
  uint64_t lost = 0;              // sessions the target ended (not churn): a new generation
};

class SoakDriver : public SessionListener {
 public:
  explicit SoakDriver(SoakConfig config, size_t sessions);
  void attach(SessionPool& pool) { pool_ = &pool; }

  // Starts commands and churn due by `now` (call it often: every loop wake-up).
  void tick(Clock::time_point now);
  // No new commands, churn or relogins from here on.
  void stop() { stopping_ = true; }
  size_t commands_in_flight() const { return in_flight_; }
  const SoakCounters& counters() const { return counters_; }

  LoginIdentity identity(size_t i) override;
  void on_logged_in(size_t i, const NegotiatedKeys& keys) override;
  bool on_session_pdu(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data) override;
  void on_session_end(size_t i, SessionEnd how) override;

 private:
  struct Written {
    uint32_t block = 0;
    uint32_t version = 0;
  };
  struct Command {
    bool active = false;
    bool write = false;
    uint32_t block = 0;
    uint32_t version = 0;     // of a write
    uint32_t itt = 0;
    uint32_t received = 0;    // Data-In bytes of a read
    uint32_t repeats = 0;     // after UNIT ATTENTION
    std::vector<uint8_t> data;  // the write's payload or the read's buffer
  };
  struct Slot {
    uint32_t generation = 0;
    uint32_t next_version = 1;
    uint32_t next_itt = 1;
    bool live = false;        // in Full Feature Phase and ours to use
    bool renew = false;       // log out and start a new generation at the next tick
    bool reinstating = false;
    bool abandoning = false;  // the drop under way is an abandon
    Clock::time_point dropped_at{};
    NegotiatedKeys keys;
    Command cmd;
    std::vector<Written> written;
  };

  const SoakTarget& target_of(size_t i) const { return config_.targets[i % config_.targets.size()]; }
  void start_command(size_t i);
  bool send_command(size_t i);
  bool on_r2t(size_t i, const iscsi::Bhs& bhs);
  bool on_data_in(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data);
  bool finish(size_t i, uint8_t status, std::span<const uint8_t> response_data);
  void verify(size_t i);
  void churn(size_t i);
  void new_generation(size_t i, Clock::duration delay);
  // A random slot that is live and has no command in flight (a few tries), or npos.
  size_t pick_idle();
  Clock::duration random_delay(int min_ms, int max_ms);

  SoakConfig config_;
  SessionPool* pool_ = nullptr;
  std::vector<Slot> slots_;
  SoakCounters counters_;
  std::mt19937_64 random_{20261207};
  std::vector<uint8_t> scratch_;
  std::vector<uint8_t> expected_;
  size_t in_flight_ = 0;
  size_t live_ = 0;
  double io_credit_ = 0;
  double churn_credit_ = 0;
  Clock::time_point last_tick_{};
  bool stopping_ = false;
  uint32_t mismatches_reported_ = 0;
};

}  // namespace scsipub::bench
