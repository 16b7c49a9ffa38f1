#include "app/progress_display.h"

#include <fmt/format.h>

#include <ostream>

namespace scsipub::app {
namespace {
constexpr int kBarWidth = 30;
constexpr auto kTerminalRedraw = std::chrono::milliseconds(200);
}  // namespace

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, kUnits[unit]);
}

ProgressDisplay::ProgressDisplay(std::ostream& out, bool terminal, std::chrono::milliseconds line_interval)
    : out_(out), terminal_(terminal), interval_(line_interval) {}

void ProgressDisplay::update(const ingest::IngestProgress& p, Clock::time_point now) {
  const bool new_phase = p.phase != phase_;
  const bool finished = p.total != 0 && p.done >= p.total;
  if (!new_phase && !finished && now < next_) return;
  next_ = now + (terminal_ ? std::chrono::duration_cast<std::chrono::milliseconds>(kTerminalRedraw) : interval_);
  if (!terminal_ && !new_phase && finished) return;  // the next phase's first line says enough
  // A phase that counts nothing (qemu-img check) shows just its name.
  std::string amount = p.total != 0  ? fmt::format("{} / {}", human_bytes(p.done), human_bytes(p.total))
                       : p.done != 0 ? human_bytes(p.done)
                                     : "...";
  if (terminal_) {
    if (new_phase && drawn_) out_ << "\n";
    std::string bar;
    if (p.total != 0) {
      const int filled = static_cast<int>(std::min<uint64_t>(p.done, p.total) * kBarWidth / p.total);
      // fmt, not operator+ chains: g++ 12 -O3 raises a false -Wrestrict on them (GCC bug 105329).
      bar = fmt::format("[{}{}] {:3d}% ", std::string(static_cast<size_t>(filled), '#'),
                        std::string(static_cast<size_t>(kBarWidth - filled), ' '),
                        static_cast<int>(std::min<uint64_t>(p.done, p.total) * 100 / p.total));
    }
    out_ << "\r\033[K" << p.phase << " " << bar << amount << std::flush;
    drawn_ = true;
  } else {
    out_ << p.phase << ": " << amount;
    if (p.total != 0) out_ << fmt::format(" ({}%)", std::min<uint64_t>(p.done, p.total) * 100 / p.total);
    out_ << "\n" << std::flush;
  }
  phase_ = p.phase;
}

void ProgressDisplay::finish() {
  if (terminal_ && drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace scsipub::app
