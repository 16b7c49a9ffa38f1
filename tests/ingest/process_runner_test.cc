#include "ingest/process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "test_files.h"

namespace scsipub::ingest {
namespace {

using namespace std::chrono_literals;
using testing::ScratchDir;

// The tests drive /bin/sh as the "converter" to script behaviours; the
// runner itself never involves a shell.
// Appends the process's stdout to `out`.
void collect_stdout(ProcessSpec& spec, std::string& out) {
  spec.on_stdout = [&out](std::span<const uint8_t> b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    return ok_status();
  };
}

ProcessSpec shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.timeout = 20s;
  return spec;
}

TEST(ProcessRunner, ExitCodes) {
  auto ok = run_process(shell("exit 0"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->succeeded());
  auto three = run_process(shell("exit 3"));
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->exit_code, 3);
  EXPECT_FALSE(three->succeeded());
  EXPECT_EQ(three->describe(), "exited with status 3");
  auto killed = run_process(shell("kill -SEGV $$"));
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->signal, SIGSEGV);
}

TEST(ProcessRunner, ProgramNotFound) {
  ProcessSpec spec;
  spec.argv = {"scsipub-no-such-program-xyz"};
  EXPECT_FALSE(run_process(spec).ok());
  spec.argv = {"/nonexistent/prog"};
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
}

TEST(ProcessRunner, StdoutAndArgvAreNotShellParsed) {
  ProcessSpec spec;
  spec.argv = {"printf", "%s", "$(echo injected); `x` | y"};
  std::string out;
  collect_stdout(spec, out);
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->succeeded());
  EXPECT_EQ(out, "$(echo injected); `x` | y");
}

TEST(ProcessRunner, TimeoutKillsTheWholeGroup) {
  ScratchDir dir;
  const auto marker = dir / "grandchild-survived";
  // A grandchild in the background would outlive a kill of the child alone.
  ProcessSpec spec = shell("(sleep 3; touch " + marker.string() + ") & sleep 30");
  spec.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = run_process(spec);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->succeeded());
  EXPECT_LT(took, 5s);
  EXPECT_NE(r->describe().find("timed out"), std::string::npos);
  std::this_thread::sleep_for(3500ms);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a grandchild survived the timeout";
}

TEST(ProcessRunner, FileSizeLimitStopsTheWriter) {
  ScratchDir dir;
  const auto out = dir / "out";
  ProcessSpec spec = shell("head -c 1048576 /dev/zero > " + out.string());
  spec.limits.file_size = 4096;
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded());
  EXPECT_LE(std::filesystem::file_size(out), 4096u);
}

TEST(ProcessRunner, StderrIsCapped) {
  ProcessSpec spec = shell("head -c 100000 /dev/zero | tr '\\0' e >&2; exit 1");
  spec.stderr_cap = 100;
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stderr_text.size(), 100u);
  EXPECT_TRUE(r->stderr_truncated);
  EXPECT_EQ(r->exit_code, 1);
}

TEST(ProcessRunner, StdoutCallbackErrorStopsTheProcess) {
  ProcessSpec spec;
  spec.argv = {"cat", "/dev/zero"};
  size_t seen = 0;
  spec.on_stdout = [&](std::span<const uint8_t> b) -> Status {
    seen += b.size();
    if (seen > (1u << 20)) return fail("cap reached");
    return ok_status();
  };
  const auto start = std::chrono::steady_clock::now();
  auto r = run_process(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cap reached");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(ProcessRunner, CancelStops) {
  std::atomic<bool> cancel{false};
  ProcessSpec spec = shell("sleep 30");
  spec.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  auto r = run_process(spec);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cancelled");
}

TEST(ProcessRunner, MinimalEnvironmentAndNoInheritedDescriptors) {
  setenv("SCSIPUB_SECRET_FOR_TEST", "leak", 1);
  ProcessSpec spec = shell("echo \"[$SCSIPUB_SECRET_FOR_TEST]\"; ls /proc/self/fd | wc -l");
  std::string out;
  collect_stdout(spec, out);
  auto r = run_process(spec);
  unsetenv("SCSIPUB_SECRET_FOR_TEST");
  ASSERT_TRUE(r.ok());
  // 0, 1, 2 and the directory ls reads: 4. Anything more leaked from us.
  EXPECT_EQ(out, "[]\n4\n");
}

TEST(ProcessRunner, AddressSpaceLimitApplies) {
  ProcessSpec spec = shell("ulimit -v");
  spec.limits.address_space = 512ull << 20;
  std::string out;
  collect_stdout(spec, out);
  auto r = run_process(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(out, "524288\n");
}

}  // namespace
}  // namespace scsipub::ingest
