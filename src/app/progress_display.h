#pragma once
// Shows an ingest's progress to the person who ran `scsipub image add`: a
// one-line bar redrawn in place on a terminal, or a plain line every few
// seconds when stderr is a file or a pipe (logs, CI), so neither floods.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "ingest/progress.h"

namespace scsipub::app {

class ProgressDisplay {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressDisplay(std::ostream& out, bool terminal, std::chrono::milliseconds line_interval = std::chrono::seconds(5));
  void update(const ingest::IngestProgress& p) { update(p, Clock::now()); }
  void update(const ingest::IngestProgress& p, Clock::time_point now);
  // Ends the bar's line (terminal) so the next message starts on its own line.
  void finish();

 private:
  std::ostream& out_;
  bool terminal_;
  std::chrono::milliseconds interval_;
  Clock::time_point next_{};
  std::string phase_;
  bool drawn_ = false;
};

// "1.5 GiB", "512 B".
std::string human_bytes(uint64_t bytes);

}  // namespace scsipub::app
