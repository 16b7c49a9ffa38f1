// scsipub-storage-roundtrip: what it costs an event loop to have a 4K pread
// done elsewhere and hear back, the two ways a loop can move file I/O off its
// thread:
//   pool     the loop posts a job to a WorkerPool thread, which preads and
//            asio::posts the completion back to the loop (what the server does)
//   uring    the loop queues an io_uring read; an eventfd registered with the
//            ring wakes the loop, which reaps the completions
//   inline   pread on the loop itself (the old behaviour; the floor)
//   nowait   preadv2(RWF_NOWAIT) on the loop: what a page-cache fast path costs
// Each mode keeps `qd` reads in flight for `seconds` against a file that sits
// in the page cache, and reports reads/s, process CPU per read, and mean
// latency. Usage: scsipub-storage-roundtrip [--file PATH] [--mib N]
//                 [--seconds S] [--qd N] [--threads N] [--mode pool|uring|inline|nowait|all]
#include <fcntl.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/worker_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kBlock = 4096;

struct Options {
  std::string file = "/dev/shm/scsipub-roundtrip.img";
  uint64_t mib = 256;
  double seconds = 3;
  unsigned qd = 32;
  unsigned threads = 4;
  std::string mode = "all";
};

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Result {
  uint64_t reads = 0;
  double wall = 0;
  double cpu = 0;
  double latency_sum_us = 0;
};

// Random block-aligned offsets, the same sequence for every mode.
class Offsets {
 public:
  explicit Offsets(uint64_t blocks) : dist_(0, blocks - 1) {}
  off_t next() { return static_cast<off_t>(dist_(rng_) * kBlock); }

 private:
  std::mt19937_64 rng_{42};
  std::uniform_int_distribution<uint64_t> dist_;
};

struct Slot {
  alignas(4096) std::array<uint8_t, kBlock> buf{};
  Clock::time_point started;
};

void fail(const char* what) {
  std::perror(what);
  std::exit(1);
}

// What the loop-side modes share: `qd` slots, each with one read in flight,
// re-issued on completion until the time is up.
struct InFlight {
  InFlight(const Options& o, uint64_t blocks)
      : offs(blocks),
        slots(o.qd),
        end(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds))) {}
  off_t start(size_t i) {
    slots[i].started = Clock::now();
    ++outstanding;
    return offs.next();
  }
  // Counts a completed read; true when its slot should read again.
  bool completed(size_t i, Clock::time_point now) {
    --outstanding;
    ++r.reads;
    r.latency_sum_us += std::chrono::duration<double, std::micro>(now - slots[i].started).count();
    if (now >= end) stopping = true;
    return !stopping;
  }
  Offsets offs;
  std::vector<Slot> slots;
  Clock::time_point end;
  Result r;
  bool stopping = false;
  unsigned outstanding = 0;
};

Result run_pool(int fd, const Options& o, uint64_t blocks) {
  asio::io_context loop(1);
  scsipub::WorkerPool pool(o.threads);
  InFlight f(o, blocks);
  auto guard = asio::make_work_guard(loop);  // completions arrive from the pool
  std::function<void(size_t)> issue = [&](size_t i) {
    off_t off = f.start(i);
    pool.post([&, i, off] {
      if (::pread(fd, f.slots[i].buf.data(), kBlock, off) != ssize_t(kBlock)) fail("pread");
      asio::post(loop, [&, i] {
        if (f.completed(i, Clock::now())) issue(i);
        if (f.outstanding == 0) guard.reset();
      });
    });
  };
  double c0 = cpu_seconds();
  auto t0 = Clock::now();
  asio::post(loop, [&] {
    for (size_t i = 0; i < f.slots.size(); ++i) issue(i);
  });
  loop.run();  // until the last completion releases the guard
  f.r.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  f.r.cpu = cpu_seconds() - c0;
  pool.stop();
  return f.r;
}

Result run_uring(int fd, const Options& o, uint64_t blocks) {
  asio::io_context loop(1);
  io_uring ring{};
  if (io_uring_queue_init(std::max(8u, o.qd * 2), &ring, 0) != 0) fail("io_uring_queue_init");
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) fail("eventfd");
  if (io_uring_register_eventfd(&ring, efd) != 0) fail("io_uring_register_eventfd");
  asio::posix::stream_descriptor wake(loop, efd);
  InFlight f(o, blocks);
  auto queue_read = [&](size_t i) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe == nullptr) fail("io_uring_get_sqe");
    off_t off = f.start(i);
    io_uring_prep_read(sqe, fd, f.slots[i].buf.data(), kBlock, static_cast<uint64_t>(off));
    io_uring_sqe_set_data64(sqe, i);
  };
  std::function<void()> arm = [&] {
    wake.async_wait(asio::posix::stream_descriptor::wait_read, [&](const asio::error_code& ec) {
      if (ec) return;
      uint64_t n = 0;
      if (::read(efd, &n, sizeof n) < 0 && errno != EAGAIN) fail("read eventfd");
      io_uring_cqe* cqe = nullptr;
      unsigned head = 0;
      unsigned seen = 0;
      auto now = Clock::now();
      io_uring_for_each_cqe(&ring, head, cqe) {
        if (cqe->res != int(kBlock)) fail("io_uring read");
        size_t i = io_uring_cqe_get_data64(cqe);
        ++seen;
        if (f.completed(i, now)) queue_read(i);
      }
      io_uring_cq_advance(&ring, seen);
      if (!f.stopping) io_uring_submit(&ring);  // one syscall for every re-issued read
      if (f.outstanding != 0) arm();
    });
  };
  double c0 = cpu_seconds();
  auto t0 = Clock::now();
  for (size_t i = 0; i < f.slots.size(); ++i) queue_read(i);
  io_uring_submit(&ring);
  arm();
  loop.run();
  f.r.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  f.r.cpu = cpu_seconds() - c0;
  wake.release();
  ::close(efd);
  io_uring_queue_exit(&ring);
  return f.r;
}

// On the loop: `nowait` uses preadv2(RWF_NOWAIT), which fails with EAGAIN
// instead of blocking when the data is not in the page cache.
Result run_inline(int fd, const Options& o, uint64_t blocks, bool nowait) {
  Offsets offs(blocks);
  Slot slot;
  Result r;
  double c0 = cpu_seconds();
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::duration<double>(o.seconds);
  uint64_t misses = 0;
  while (Clock::now() < end) {
    for (int k = 0; k < 256; ++k) {
      auto s = Clock::now();
      off_t off = offs.next();
      if (nowait) {
        iovec iov{slot.buf.data(), kBlock};
        ssize_t n = ::preadv2(fd, &iov, 1, off, RWF_NOWAIT);
        if (n < 0 && errno == EOPNOTSUPP) {
          std::fprintf(stderr, "nowait: RWF_NOWAIT not supported on this file system\n");
          return r;
        }
        if (n < 0 && errno == EAGAIN) {
          ++misses;
          n = ::pread(fd, slot.buf.data(), kBlock, off);
        }
        if (n != ssize_t(kBlock)) fail("preadv2");
      } else if (::pread(fd, slot.buf.data(), kBlock, off) != ssize_t(kBlock)) {
        fail("pread");
      }
      ++r.reads;
      r.latency_sum_us += std::chrono::duration<double, std::micro>(Clock::now() - s).count();
    }
  }
  r.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  r.cpu = cpu_seconds() - c0;
  if (misses != 0) std::fprintf(stderr, "nowait: %llu page-cache misses\n", static_cast<unsigned long long>(misses));
  return r;
}

void report(const char* mode, const Options& o, const Result& r) {
  if (r.reads == 0) return;
  double rate = double(r.reads) / r.wall;
  bool on_loop = std::string(mode) == "inline" || std::string(mode) == "nowait";
  std::printf("| %-6s | %3u | %8.0f | %6.2f | %7.1f |\n", mode, on_loop ? 1 : o.qd, rate,
              r.cpu / double(r.reads) * 1e6, r.latency_sum_us / double(r.reads));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--file") o.file = v;
    else if (k == "--mib") o.mib = std::strtoull(v, nullptr, 10);
    else if (k == "--seconds") o.seconds = std::strtod(v, nullptr);
    else if (k == "--qd") o.qd = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (k == "--threads") o.threads = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (k == "--mode") o.mode = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (o.qd == 0 || o.mib == 0) return 2;
  int fd = ::open(o.file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail("open");
  uint64_t bytes = o.mib << 20;
  // Written once, so every read below hits the page cache (as a hot image does).
  std::vector<uint8_t> chunk(1 << 20, 0x5a);
  for (uint64_t off = 0; off < bytes; off += chunk.size()) {
    if (::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(off)) != ssize_t(chunk.size())) fail("pwrite");
  }
  uint64_t blocks = bytes / kBlock;
  std::printf("| mode | QD | reads/s | CPU µs/read | mean latency µs |\n|---|---|---|---|---|\n");
  if (o.mode == "all" || o.mode == "inline") report("inline", o, run_inline(fd, o, blocks, false));
  if (o.mode == "all" || o.mode == "nowait") report("nowait", o, run_inline(fd, o, blocks, true));
  if (o.mode == "all" || o.mode == "pool") report("pool", o, run_pool(fd, o, blocks));
  if (o.mode == "all" || o.mode == "uring") report("uring", o, run_uring(fd, o, blocks));
  ::close(fd);
  ::unlink(o.file.c_str());
  return 0;
}
