// scsipub-bench: block I/O load over iSCSI with libiscsi's async API.
//
//   scsipub-bench --url iscsi://127.0.0.1:3260/iqn.../0 --pattern randread|randwrite|seqread|seqwrite
//                 [--bs 4096] [--qd 32] [--sessions 1] [--seconds 10 | --ops N]
//                 [--initiator IQN] [--span-mib M] [--no-prefill] [--target-pid PID]
//
// --target-pid: read that process's utime+stime from /proc/PID/stat right
// before and after the measured phase (after login and prefill) and report
// target_cpu_s and target_cpu_s_per_mio (CPU seconds per million I/Os).
//
// Each session is its own iSCSI context (own login, own TCP connection); all
// are polled from one thread, each keeping --qd commands in flight. Reads of
// never-written blocks can be free on a sparse target, so read patterns first
// write the span they read (--no-prefill turns that off) -- inside the same
// login, which matters for targets whose disks live and die with the login.
//
// Prints a human line and a machine line:
//   RESULT ops=.. seconds=.. iops=.. mbps=.. p50_us=.. p99_us=.. errors=.. [target_cpu_s=.. target_cpu_s_per_mio=..]
// Exit 1 if any command failed.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;
  std::string pattern = "randread";
  uint32_t bs = 4096;
  int qd = 32;
  int sessions = 1;
  double seconds = 10;
  uint64_t ops = 0;  // 0: run for `seconds`
  std::string initiator = "iqn.2025-01.pub.scsipub:bench";
  uint64_t span_mib = 0;  // 0: whole LU
  bool prefill = true;
  int target_pid = 0;
};

// utime+stime of a whole process (all threads), in seconds; -1 if unreadable.
double proc_cpu_seconds(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char buf[4096];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  // Fields after ") ": state(3) ... utime(14) stime(15).
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return double(ut + st) / double(sysconf(_SC_CLK_TCK));
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --url URL [--pattern randread|randwrite|seqread|seqwrite] [--bs BYTES] [--qd N]\n"
               "          [--sessions N] [--seconds S | --ops N] [--initiator IQN] [--span-mib M] [--no-prefill]\n",
               argv0);
  std::exit(2);
}

struct Session;

struct Slot {
  Session* s = nullptr;
  std::vector<uint8_t> buf;
  scsi_iovec iov{};
  Clock::time_point start;
};

struct Run;

struct Session {
  Run* run = nullptr;
  iscsi_context* ctx = nullptr;
  int lun = 0;
  uint32_t block_size = 512;
  uint64_t blocks = 0;
  uint64_t span_blocks = 0;  // I/O stays in [0, span_blocks)
  uint64_t seq_next = 0;     // next sequential LBA
  int inflight = 0;
  std::vector<Slot> slots;
  std::mt19937_64 rng;
  bool dead = false;
};

struct Run {
  Options o;
  bool write = false;
  bool sequential = false;
  bool measuring = false;  // false during prefill: no latency samples
  bool stop = false;       // no new submissions
  uint64_t submitted = 0, completed = 0, errors = 0;
  uint64_t prefill_target = 0;  // prefill: blocks to write per session
  std::vector<uint32_t> lat_us;
  std::string first_error;
};

void submit(Slot& slot);

void on_done(iscsi_context* iscsi, int status, void* command_data, void* private_data) {
  auto* slot = static_cast<Slot*>(private_data);
  Session* s = slot->s;
  Run* r = s->run;
  auto* task = static_cast<scsi_task*>(command_data);
  s->inflight--;
  r->completed++;
  if (status != SCSI_STATUS_GOOD) {
    r->errors++;
    if (r->first_error.empty()) {
      char b[256];
      std::snprintf(b, sizeof b, "status 0x%x sense %s/%s: %s", status,
                    task ? scsi_sense_key_str(task->sense.key) : "-", task ? scsi_sense_ascq_str(task->sense.ascq) : "-",
                    iscsi_get_error(iscsi));
      r->first_error = b;
    }
  } else if (r->measuring) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - slot->start).count();
    r->lat_us.push_back(uint32_t(std::min<long long>(us, UINT32_MAX)));
  }
  if (task) scsi_free_scsi_task(task);
  if (!r->stop && status != SCSI_STATUS_CANCELLED) submit(*slot);
}

void submit(Slot& slot) {
  Session* s = slot.s;
  Run* r = s->run;
  if (r->o.ops && r->submitted >= r->o.ops) {
    r->stop = true;
    return;
  }
  const uint64_t nb = r->o.bs / s->block_size;
  uint64_t lba;
  bool write = r->write;
  if (!r->measuring) {  // prefill: sequential writes through the span
    if (s->seq_next + nb > r->prefill_target) return;
    lba = s->seq_next;
    s->seq_next += nb;
    write = true;
  } else if (r->sequential) {
    if (s->seq_next + nb > s->span_blocks) s->seq_next = 0;
    lba = s->seq_next;
    s->seq_next += nb;
  } else {
    lba = (s->rng() % (s->span_blocks / nb)) * nb;
  }
  slot.start = Clock::now();
  scsi_task* t;
  if (write)
    t = iscsi_write16_iov_task(s->ctx, s->lun, lba, nullptr, r->o.bs, int(s->block_size), 0, 0, 0, 0, 0, on_done,
                               &slot, &slot.iov, 1);
  else
    t = iscsi_read16_iov_task(s->ctx, s->lun, lba, r->o.bs, int(s->block_size), 0, 0, 0, 0, 0, on_done, &slot,
                              &slot.iov, 1);
  if (t == nullptr) {
    r->errors++;
    if (r->first_error.empty()) r->first_error = std::string("submit failed: ") + iscsi_get_error(s->ctx);
    s->dead = true;
    return;
  }
  s->inflight++;
  if (r->measuring) r->submitted++;
}

bool connect_session(Session& s, const Options& o, int index, std::string* err) {
  s.ctx = iscsi_create_context(o.initiator.c_str());
  if (!s.ctx) {
    *err = "iscsi_create_context failed";
    return false;
  }
  iscsi_url* u = iscsi_parse_full_url(s.ctx, o.url.c_str());
  if (!u) {
    *err = std::string("bad URL: ") + iscsi_get_error(s.ctx);
    return false;
  }
  s.lun = u->lun;
  iscsi_set_isid_random(s.ctx, uint32_t(std::random_device{}()) & 0xffffff, uint32_t(index));
  iscsi_set_targetname(s.ctx, u->target);
  iscsi_set_session_type(s.ctx, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(s.ctx, ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_noautoreconnect(s.ctx, 1);
  const std::string portal = u->portal;
  iscsi_destroy_url(u);
  if (iscsi_full_connect_sync(s.ctx, portal.c_str(), s.lun) != 0) {
    *err = std::string("login failed: ") + iscsi_get_error(s.ctx);
    return false;
  }
  // READ CAPACITY(16), retrying past a first UNIT ATTENTION.
  for (int i = 0; i < 4; ++i) {
    scsi_task* t = iscsi_readcapacity16_sync(s.ctx, s.lun);
    if (!t) {
      *err = std::string("READ CAPACITY failed: ") + iscsi_get_error(s.ctx);
      return false;
    }
    if (t->status == SCSI_STATUS_GOOD) {
      auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t));
      if (rc) {
        s.block_size = rc->block_length;
        s.blocks = rc->returned_lba + 1;
      }
      scsi_free_scsi_task(t);
      break;
    }
    scsi_free_scsi_task(t);
  }
  if (s.blocks == 0) {
    *err = "READ CAPACITY gave no size";
    return false;
  }
  if (o.bs % s.block_size != 0) {
    *err = "--bs must be a multiple of the block size " + std::to_string(s.block_size);
    return false;
  }
  s.span_blocks = s.blocks;
  if (o.span_mib) s.span_blocks = std::min<uint64_t>(s.blocks, (o.span_mib << 20) / s.block_size);
  s.rng.seed(uint64_t(index) * 7919 + 17);
  return true;
}

// Polls every session until nothing is in flight (and, if `until` is set,
// until that time passes, after which submissions stop).
bool drive(std::vector<std::unique_ptr<Session>>& ss, Run& r, Clock::time_point until, bool timed) {
  std::vector<pollfd> pfd(ss.size());
  for (;;) {
    if (timed && !r.stop && Clock::now() >= until) r.stop = true;
    int busy = 0;
    for (auto& s : ss) busy += s->dead ? 0 : s->inflight;
    if (busy == 0 && (r.stop || !timed)) return true;
    if (busy == 0 && timed) return true;  // every slot gave up (ops limit reached)
    for (size_t i = 0; i < ss.size(); ++i) {
      pfd[i].fd = iscsi_get_fd(ss[i]->ctx);
      pfd[i].events = short(iscsi_which_events(ss[i]->ctx));
      pfd[i].revents = 0;
    }
    int n = poll(pfd.data(), nfds_t(pfd.size()), 1000);
    if (n < 0 && errno != EINTR) {
      r.first_error = std::string("poll: ") + std::strerror(errno);
      return false;
    }
    for (size_t i = 0; i < ss.size(); ++i) {
      if (ss[i]->dead) continue;
      if (iscsi_service(ss[i]->ctx, pfd[i].revents) < 0) {
        r.errors++;
        if (r.first_error.empty()) r.first_error = std::string("iscsi_service: ") + iscsi_get_error(ss[i]->ctx);
        ss[i]->dead = true;
        ss[i]->inflight = 0;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0]);
      return argv[++i];
    };
    if (a == "--url") o.url = val();
    else if (a == "--pattern") o.pattern = val();
    else if (a == "--bs") o.bs = uint32_t(std::stoul(val()));
    else if (a == "--qd") o.qd = std::stoi(val());
    else if (a == "--sessions") o.sessions = std::stoi(val());
    else if (a == "--seconds") o.seconds = std::stod(val());
    else if (a == "--ops") o.ops = std::stoull(val());
    else if (a == "--initiator") o.initiator = val();
    else if (a == "--span-mib") o.span_mib = std::stoull(val());
    else if (a == "--no-prefill") o.prefill = false;
    else if (a == "--target-pid") o.target_pid = std::stoi(val());
    else usage(argv[0]);
  }
  if (o.url.empty() || o.bs == 0 || o.qd < 1 || o.sessions < 1) usage(argv[0]);
  Run r;
  r.o = o;
  if (o.pattern == "randread") {
  } else if (o.pattern == "randwrite") {
    r.write = true;
  } else if (o.pattern == "seqread") {
    r.sequential = true;
  } else if (o.pattern == "seqwrite") {
    r.write = r.sequential = true;
  } else {
    usage(argv[0]);
  }

  std::vector<std::unique_ptr<Session>> ss;
  for (int i = 0; i < o.sessions; ++i) {
    auto s = std::make_unique<Session>();
    s->run = &r;
    std::string err;
    if (!connect_session(*s, o, i + 1, &err)) {
      std::fprintf(stderr, "session %d: %s\n", i, err.c_str());
      return 1;
    }
    std::mt19937_64 fill(uint64_t(i) + 1);
    s->slots.resize(size_t(o.qd));
    for (auto& sl : s->slots) {
      sl.s = s.get();
      sl.buf.resize(o.bs);
      for (auto& b : sl.buf) b = uint8_t(fill());
      sl.iov.iov_base = sl.buf.data();
      sl.iov.iov_len = o.bs;
    }
    ss.push_back(std::move(s));
  }

  // Prefill for reads: every session writes its span once (128 KiB at a time
  // would be nicer, but the slots have --bs buffers; this is not measured).
  if (!r.write && o.prefill) {
    for (auto& s : ss) s->seq_next = 0, r.prefill_target = s->span_blocks;
    for (auto& s : ss)
      for (auto& sl : s->slots) submit(sl);
    if (!drive(ss, r, Clock::now(), false) || r.errors) {
      std::fprintf(stderr, "prefill failed: %s\n", r.first_error.c_str());
      return 1;
    }
    r.completed = 0;
    for (auto& s : ss) s->seq_next = 0;
  }

  r.measuring = true;
  r.lat_us.reserve(1 << 20);
  const double cpu0 = o.target_pid ? proc_cpu_seconds(o.target_pid) : -1;
  const auto t0 = Clock::now();
  for (auto& s : ss)
    for (auto& sl : s->slots) submit(sl);
  const bool timed = o.ops == 0;
  drive(ss, r, t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds)), timed);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu1 = o.target_pid ? proc_cpu_seconds(o.target_pid) : -1;

  for (auto& s : ss) {
    if (!s->dead) iscsi_logout_sync(s->ctx);
    iscsi_destroy_context(s->ctx);
  }

  std::sort(r.lat_us.begin(), r.lat_us.end());
  auto pct = [&](double p) -> uint32_t {
    if (r.lat_us.empty()) return 0;
    size_t k = size_t(p * double(r.lat_us.size() - 1) + 0.5);
    return r.lat_us[k];
  };
  const uint64_t ok = r.lat_us.size();
  const double iops = double(ok) / secs;
  const double mbps = iops * o.bs / 1e6;
  std::printf("%s bs=%u qd=%d sessions=%d: %.0f IOPS, %.1f MB/s, p50 %u us, p99 %u us, %lu errors (%.1fs)\n",
              o.pattern.c_str(), o.bs, o.qd, o.sessions, iops, mbps, pct(0.50), pct(0.99),
              static_cast<unsigned long>(r.errors), secs);
  std::printf("RESULT ops=%lu seconds=%.3f iops=%.0f mbps=%.1f p50_us=%u p99_us=%u errors=%lu",
              static_cast<unsigned long>(ok), secs, iops, mbps, pct(0.50), pct(0.99),
              static_cast<unsigned long>(r.errors));
  if (cpu0 >= 0 && cpu1 >= 0 && ok > 0)
    std::printf(" target_cpu_s=%.2f target_cpu_s_per_mio=%.1f", cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / double(ok));
  std::printf("\n");
  if (r.errors) {
    std::fprintf(stderr, "first error: %s\n", r.first_error.c_str());
    return 1;
  }
  return 0;
}
