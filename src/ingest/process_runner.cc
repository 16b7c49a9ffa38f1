#include "ingest/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/unique_fd.h"

namespace scsipub::ingest {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kChildPath = "PATH=/usr/local/bin:/usr/bin:/bin";
constexpr const char* kMallocArenas = "MALLOC_ARENA_MAX=2";
constexpr uint64_t kChildStackBytes = 2ull << 20;
constexpr int kExecFailed = 127;
constexpr size_t kReadChunk = 1 << 16;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// PATH lookup in the parent (the child may only call async-signal-safe functions).
std::optional<std::string> resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

bool make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = UniqueFd(fds[0]);
  write_end = UniqueFd(fds[1]);
  return true;
}

void set_limit(int resource, uint64_t value) {
  if (value == 0) return;
  rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  if (::setrlimit(resource, &r) != 0) _exit(kExecFailed);
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const char* program, char* const* argv, char* const* envp, const char* cwd, int in_fd,
                             int out_fd, int err_fd, const ProcessLimits& limits) {
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored signals stay ignored across exec; the converter must die of
  // SIGXFSZ at the size cap and of SIGPIPE if we stop reading.
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGXFSZ, SIG_DFL);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) _exit(kExecFailed);
  ::close_range(3, ~0u, 0);
  if (::chdir(cwd) != 0) _exit(kExecFailed);
  set_limit(RLIMIT_AS, limits.address_space);
  set_limit(RLIMIT_CPU, limits.cpu_seconds);
  set_limit(RLIMIT_FSIZE, limits.file_size);
  set_limit(RLIMIT_NOFILE, limits.open_files);
  set_limit(RLIMIT_CORE, 0);
  // RLIMIT_AS counts reserved address space, not memory used: glibc gives
  // every thread an 8 MiB stack (RLIMIT_STACK) and up to 8 x cores malloc
  // arenas of 64 MiB each, so qemu-img's thread pool alone can reserve more
  // than the cap under load and die in pthread_create. Smaller stacks and two
  // arenas (kMallocArenas below) keep the cap about real memory.
  set_limit(RLIMIT_STACK, kChildStackBytes);
  ::execve(program, argv, envp);
  _exit(kExecFailed);
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGXFSZ: return "SIGXFSZ (output file size limit)";
    case SIGXCPU: return "SIGXCPU (CPU time limit)";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGPIPE: return "SIGPIPE";
    default: return nullptr;
  }
}

}  // namespace

std::string ProcessOutcome::describe() const {
  std::string what;
  if (timed_out) {
    what = "timed out and was killed";
  } else if (signal != 0) {
    const char* name = signal_name(signal);
    what = std::string("killed by ") + (name != nullptr ? name : "signal " + std::to_string(signal));
  } else {
    what = "exited with status " + std::to_string(exit_code);
  }
  std::string first_line = stderr_text.substr(0, stderr_text.find('\n'));
  if (!first_line.empty()) what += ": " + first_line;
  return what;
}

Result<ProcessOutcome> run_process(const ProcessSpec& spec) {
  if (spec.argv.empty()) return fail("run_process: empty argv");
  auto program = resolve_program(spec.argv.front());
  if (!program) return fail(spec.argv.front() + " not found in PATH");
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::array<char*, 4> envp{const_cast<char*>(kChildPath), const_cast<char*>("LC_ALL=C"),
                            const_cast<char*>(kMallocArenas), nullptr};
  const std::string cwd = spec.cwd.string();

  UniqueFd dev_null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!dev_null.valid()) return fail(errno_text("open /dev/null"));
  UniqueFd out_read, out_write, err_read, err_write;
  if (spec.on_stdout && !make_pipe(out_read, out_write)) return fail(errno_text("pipe"));
  if (!make_pipe(err_read, err_write)) return fail(errno_text("pipe"));
  const int in_fd = spec.stdin_fd >= 0 ? spec.stdin_fd : dev_null.get();
  const int out_fd = spec.on_stdout ? out_write.get() : dev_null.get();

  const pid_t pid = ::fork();
  if (pid < 0) return fail(errno_text("fork"));
  if (pid == 0) exec_child(program->c_str(), argv.data(), envp.data(), cwd.c_str(), in_fd, out_fd, err_write.get(), spec.limits);
  ::setpgid(pid, pid);  // also here: no race with a kill before the child ran setpgid
  out_write.reset();
  err_write.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  ProcessOutcome outcome;
  std::optional<Error> stop_error;
  const auto deadline = Clock::now() + spec.timeout;
  std::vector<uint8_t> buffer(kReadChunk);
  bool exited = false;
  auto kill_group = [&] { ::kill(-pid, SIGKILL); };
  // Bounded: every iteration either consumes output, sees the exit, or
  // moves toward the deadline (poll wakes at least every 200 ms for cancel).
  while (!exited || out_read.valid() || err_read.valid()) {
    const auto now = Clock::now();
    if (now >= deadline) {
      outcome.timed_out = true;
      break;
    }
    if (spec.cancel != nullptr && spec.cancel->load()) {
      stop_error = Error{"cancelled"};
      break;
    }
    std::array<pollfd, 3> fds{};
    nfds_t n = 0;
    int out_idx = -1, err_idx = -1, pid_idx = -1;
    if (out_read.valid()) { fds[n] = {out_read.get(), POLLIN, 0}; out_idx = static_cast<int>(n++); }
    if (err_read.valid()) { fds[n] = {err_read.get(), POLLIN, 0}; err_idx = static_cast<int>(n++); }
    if (!exited && pidfd.valid()) { fds[n] = {pidfd.get(), POLLIN, 0}; pid_idx = static_cast<int>(n++); }
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    if (spec.cancel != nullptr || !pidfd.valid()) wait_ms = std::min<int64_t>(wait_ms, 200);
    // After the exit, only drain what is already buffered: a pipe still open
    // belongs to a grandchild, which the group kill below ends.
    if (exited) wait_ms = 0;
    const int ready = ::poll(fds.data(), n, static_cast<int>(std::min<int64_t>(wait_ms, 60'000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      stop_error = Error{errno_text("poll")};
      break;
    }
    if (ready == 0 && exited) break;
    if (out_idx >= 0 && fds[out_idx].revents != 0) {
      const ssize_t got = ::read(out_read.get(), buffer.data(), buffer.size());
      if (got > 0) {
        if (auto s = spec.on_stdout(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(got))); !s) {
          stop_error = s.error();
          break;
        }
      } else if (got == 0 || errno != EINTR) {
        out_read.reset();
      }
    }
    if (err_idx >= 0 && fds[err_idx].revents != 0) {
      const ssize_t got = ::read(err_read.get(), buffer.data(), buffer.size());
      if (got > 0) {
        const size_t room = spec.stderr_cap - std::min(spec.stderr_cap, outcome.stderr_text.size());
        const size_t take = std::min(room, static_cast<size_t>(got));
        outcome.stderr_text.append(reinterpret_cast<const char*>(buffer.data()), take);
        if (take < static_cast<size_t>(got)) outcome.stderr_truncated = true;
      } else if (got == 0 || errno != EINTR) {
        err_read.reset();
      }
    }
    if (pid_idx >= 0 && fds[pid_idx].revents != 0) exited = true;
    if (!pidfd.valid()) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
        exited = true;
      }
    }
  }
  // Whatever happened, nothing of the group outlives this call: a
  // grandchild holding our pipe open would otherwise keep running.
  kill_group();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  if (outcome.timed_out) outcome.signal = 0;
  if (stop_error) return Unexpected<Error>{*stop_error};
  if (outcome.exit_code == kExecFailed && outcome.signal == 0 && !outcome.timed_out && outcome.stderr_text.empty()) {
    outcome.stderr_text = "could not start " + *program;
  }
  return outcome;
}

}  // namespace scsipub::ingest
