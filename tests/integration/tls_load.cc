// A verified I/O load on ONE iSCSI login, for tls_rotation.sh: certificate
// rotation on the server must not disturb a session that is already running.
//
//   tls_load URL SECONDS [--initiator IQN] [--region-mib N] [--seed N] [--stop-file F]
//
// Logs in once (libiscsi, automatic reconnect off: a dropped connection is an
// error here, never a silent new login to a fresh blank disk), prints
// "login ok blocks=N block_size=B", then for SECONDS writes a fresh pattern to a
// random range (1..128 blocks) of the first N MiB (default 16), reads it back and
// compares, and reads back another random range that must still hold what was
// last written there (zeros if never); it stops early once file F exists
// (--stop-file: the script decides when the load may end). Once a second: "progress ops=N
// seconds=S". At the end it reads the whole region back against its shadow
// map, logs out and prints "tls_load ok ops=N written_mib=M verified_mib=V
// seconds=S max_op_ms=L". Any transport error, bad status or wrong byte: "tls_load
// FAIL: ..." and exit 1. Exit 2: usage.
#include <algorithm>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "iscsi_client.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) {
  std::printf("tls_load FAIL: %s\n", what.c_str());
  std::fflush(stdout);
  std::exit(1);
}

[[noreturn]] void usage(const std::string& what) {
  std::fprintf(stderr, "tls_load: %s\nusage: tls_load URL SECONDS [--initiator IQN] [--region-mib N] [--seed N] [--stop-file F]\n",
               what.c_str());
  std::exit(2);
}

// The bytes block `lba` must hold: pattern `gen` (0 = never written = zeros).
void expected(std::vector<uint8_t>& buf, const std::vector<uint64_t>& shadow, uint64_t lba, uint32_t nblocks,
              uint32_t bs) {
  buf.assign(size_t(nblocks) * bs, 0);
  for (uint32_t i = 0; i < nblocks; ++i) {
    const uint64_t gen = shadow[lba + i];
    if (gen == 0) continue;
    integ::fill_pattern(std::span<uint8_t>(buf.data() + size_t(i) * bs, bs), gen, lba + i, bs);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) usage("URL and SECONDS required");
  const std::string url = argv[1];
  const double seconds = std::atof(argv[2]);
  if (seconds <= 0) usage("SECONDS must be > 0");
  std::string initiator = "iqn.2025-01.test.tls:load";
  uint64_t region_mib = 16;
  uint64_t seed = 20261126;
  std::string stop_file;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + a);
    if (a == "--initiator") {
      initiator = argv[++i];
    } else if (a == "--region-mib") {
      region_mib = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--stop-file") {
      stop_file = argv[++i];
    } else if (a == "--seed") {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      usage("unknown option " + a);
    }
  }

  std::string err;
  auto s = integ::Session::login(url, initiator, 1, &err);
  if (!s) fail(err);
  const uint32_t bs = s->block_size();
  const uint64_t region = std::min<uint64_t>((region_mib << 20) / bs, s->blocks());
  if (region < 256) fail("disk too small: " + std::to_string(s->blocks()) + " blocks");
  std::printf("login ok blocks=%llu block_size=%u\n", static_cast<unsigned long long>(s->blocks()), bs);
  std::fflush(stdout);

  std::vector<uint64_t> shadow(region, 0);
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> data, got, want;
  uint64_t ops = 0, gen = 0, written = 0, verified = 0;
  double max_op_ms = 0;
  const auto t0 = Clock::now();
  auto next_progress = t0 + std::chrono::seconds(1);
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

  auto pick = [&](uint32_t& n) {
    n = uint32_t(1 + rng() % 128);
    return rng() % (region - n + 1);
  };
  auto check = [&](uint64_t lba, uint32_t n, const char* what) {
    expected(want, shadow, lba, n, bs);
    if (!s->read(lba, n, got, &err)) fail(std::string(what) + ": " + err);
    if (long d = integ::first_diff(got, want); d >= 0) {
      fail(std::string(what) + ": wrong byte at lba " + std::to_string(lba) + " + " + std::to_string(d) + " (op " +
           std::to_string(ops) + ", got 0x" + std::to_string(got[size_t(d)]) + " want 0x" +
           std::to_string(want[size_t(d)]) + ")");
    }
    verified += uint64_t(n) * bs;
  };

  while (Clock::now() < end) {
    if (!stop_file.empty() && ops % 8 == 0 && ::access(stop_file.c_str(), F_OK) == 0) break;
    const auto op0 = Clock::now();
    uint32_t n = 0;
    const uint64_t lba = pick(n);
    ++gen;
    data.resize(size_t(n) * bs);
    integ::fill_pattern(data, gen, lba, bs);
    if (!s->write(lba, data, &err)) fail("WRITE(16) lba " + std::to_string(lba) + ": " + err);
    for (uint32_t i = 0; i < n; ++i) shadow[lba + i] = gen;
    written += data.size();
    check(lba, n, "read-back");
    uint32_t m = 0;
    const uint64_t other = pick(m);
    check(other, m, "older data");
    ++ops;
    const auto now = Clock::now();
    max_op_ms = std::max(max_op_ms, std::chrono::duration<double, std::milli>(now - op0).count());
    if (now >= next_progress) {
      std::printf("progress ops=%llu seconds=%.1f\n", static_cast<unsigned long long>(ops),
                  std::chrono::duration<double>(now - t0).count());
      std::fflush(stdout);
      next_progress += std::chrono::seconds(1);
    }
  }
  // The whole region, in 128-block reads, against the shadow map.
  for (uint64_t lba = 0; lba < region; lba += 128) {
    const uint32_t n = uint32_t(std::min<uint64_t>(128, region - lba));
    check(lba, n, "final verify");
  }
  if (!s->logout(&err)) fail(err);
  std::printf("tls_load ok ops=%llu written_mib=%.1f verified_mib=%.1f seconds=%.1f max_op_ms=%.0f\n",
              static_cast<unsigned long long>(ops), double(written) / (1 << 20), double(verified) / (1 << 20),
              std::chrono::duration<double>(Clock::now() - t0).count(), max_op_ms);
  return 0;
}
