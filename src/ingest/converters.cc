#include "ingest/converters.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace scsipub::ingest {
namespace {

constexpr size_t kMaxInfoOutput = 1 << 20;  // qemu-img info JSON: a few KiB in practice

// qemu treats "proto:rest" as a protocol name unless a '/' comes first;
// an absolute path always starts with '/'.
std::string absolute_path(const std::filesystem::path& p) { return std::filesystem::absolute(p).string(); }

// Names the [catalog] key behind a limit the converter ran into.
Unexpected<Error> failed(std::string_view what, const ProcessOutcome& outcome) {
  std::string hint;
  if (outcome.timed_out || outcome.signal == SIGXCPU) hint = " ([catalog] converter_timeout_seconds)";
  if (outcome.signal == SIGABRT || outcome.signal == SIGSEGV || outcome.signal == SIGKILL) {
    hint = " (out of memory? [catalog] converter_memory)";
  }
  return fail(std::string(what) + " " + outcome.describe() + hint);
}

// qemu-img -p writes "    (12.34/100%)\r"; the last complete figure wins.
std::optional<double> last_percent(std::string_view text) {
  const size_t end = text.rfind("/100%)");
  if (end == std::string_view::npos) return std::nullopt;
  const size_t start = text.rfind('(', end);
  if (start == std::string_view::npos || end - start > 8) return std::nullopt;
  std::string figure(text.substr(start + 1, end - start - 1));
  char* stop = nullptr;
  const double v = std::strtod(figure.c_str(), &stop);
  if (stop == figure.c_str() || v < 0 || v > 100) return std::nullopt;
  return v;
}

}  // namespace

ProcessSpec confined(std::vector<std::string> argv, const ConverterLimits& limits, uint64_t max_output,
                     const ProgressSink& progress) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.limits.address_space = limits.memory;
  spec.limits.cpu_seconds = static_cast<uint64_t>(limits.timeout.count());
  spec.limits.file_size = max_output;
  spec.limits.open_files = 64;
  spec.timeout = limits.timeout;
  spec.cancel = progress.cancel;
  return spec;
}

Result<QemuImageInfo> inspect_image(const std::filesystem::path& source, ContentFormat format,
                                    uint64_t max_virtual_size, const ConverterLimits& limits,
                                    const ProgressSink& progress) {
  const std::string fmt(format_name(format));
  std::string output;
  // qemu-img info writes no file: RLIMIT_FSIZE 1 byte.
  ProcessSpec spec = confined({"qemu-img", "info", "-f", fmt, "--output=json", absolute_path(source)}, limits, 1, progress);
  spec.on_stdout = [&](std::span<const uint8_t> bytes) -> Status {
    if (output.size() + bytes.size() > kMaxInfoOutput) return fail("qemu-img info: output larger than 1 MiB");
    output.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return ok_status();
  };
  auto outcome = run_process(spec);
  if (!outcome.ok()) return fail(outcome.error().message);
  if (!outcome->succeeded()) return failed("qemu-img info", *outcome);
  return parse_qemu_img_info(output, fmt, max_virtual_size);
}

Status check_image(const std::filesystem::path& source, ContentFormat format, const ConverterLimits& limits,
                   const ProgressSink& progress) {
  // qemu-img check's exit codes (qemu-img(1)): 0 clean, 1 check failed,
  // 2 corruptions, 3 leaks only, 63 the format has no check.
  constexpr int kCorrupt = 2, kLeaksOnly = 3, kNoCheck = 63;  // 1: the check failed
  const std::string fmt(format_name(format));
  ProcessSpec spec = confined({"qemu-img", "check", "-q", "-f", fmt, absolute_path(source)}, limits, 1, progress);
  progress("check", 0, 0);
  auto outcome = run_process(spec);
  if (!outcome.ok()) return fail(outcome.error().message);
  if (outcome->signal == 0 && !outcome->timed_out) {
    if (outcome->exit_code == 0 || outcome->exit_code == kLeaksOnly || outcome->exit_code == kNoCheck) {
      return ok_status();
    }
    // Exit 1 is what vmdk's check gives for a cluster past the end of the file.
    if (outcome->exit_code == kCorrupt || outcome->exit_code == 1) {
      return fail("the " + fmt + " image is corrupt or truncated (qemu-img check " + outcome->describe() + ")");
    }
  }
  return failed("qemu-img check", *outcome);
}

Status convert_to_raw(const std::filesystem::path& source, ContentFormat format, const std::filesystem::path& output,
                      uint64_t virtual_size, const ConverterLimits& limits, const ProgressSink& progress) {
  const std::string fmt(format_name(format));
  std::string tail;
  ProcessSpec spec = confined({"qemu-img", "convert", "-p", "-n", "-f", fmt, "-O", "raw", absolute_path(source),
                               absolute_path(output)},
                              limits, std::max<uint64_t>(virtual_size, 1), progress);
  spec.on_stdout = [&](std::span<const uint8_t> bytes) -> Status {
    tail.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (auto pct = last_percent(tail)) {
      progress("convert", static_cast<uint64_t>(*pct / 100.0 * static_cast<double>(virtual_size)), virtual_size);
    }
    if (tail.size() > 256) tail.erase(0, tail.size() - 64);  // bounded: keep only the latest figures
    return ok_status();
  };
  progress("convert", 0, virtual_size);
  auto outcome = run_process(spec);
  if (!outcome.ok()) return fail(outcome.error().message);
  if (!outcome->succeeded()) return failed("qemu-img convert", *outcome);
  progress("convert", virtual_size, virtual_size);
  return ok_status();
}

Result<uint64_t> decompress(int source_fd, ContentFormat format, BoundedWriter& writer, const ConverterLimits& limits,
                            const ProgressSink& progress) {
  const std::string tool(format_name(format));  // xz, gzip, zstd: the tool has the format's name
  if (!is_compression(format)) return fail("not a compressed format: " + tool);
  if (::lseek(source_fd, 0, SEEK_SET) != 0) return fail("seek in the source");
  std::vector<std::string> argv{tool, "-dc"};
  if (format == ContentFormat::zstd) argv.push_back("-q");
  // The decompressor writes only to our pipe: RLIMIT_FSIZE 1 byte.
  ProcessSpec spec = confined(argv, limits, 1, progress);
  spec.stdin_fd = source_fd;
  spec.on_stdout = [&](std::span<const uint8_t> bytes) { return writer.write(bytes); };
  const uint64_t start = writer.offset();
  auto outcome = run_process(spec);
  if (!outcome.ok()) return fail(outcome.error().message);
  if (!outcome->succeeded()) return failed(tool + " -dc", *outcome);
  return writer.offset() - start;
}

}  // namespace scsipub::ingest
