#pragma once
// The external tools an ingest runs, each through run_process with the
// converter limits: qemu-img info / convert (format always given with -f,
// never probed) and the xz / gzip / zstd decompressors.
#include <chrono>
#include <cstdint>
#include <filesystem>

#include "common/result.h"
#include "ingest/bounded_copy.h"
#include "ingest/content_format.h"
#include "ingest/process_runner.h"
#include "ingest/progress.h"
#include "ingest/qemu_img_info.h"

namespace scsipub::ingest {

struct ConverterLimits {
  std::chrono::seconds timeout{1800};
  uint64_t memory = 1ull << 30;  // RLIMIT_AS
};

// The runner settings every converter gets; `max_output` becomes RLIMIT_FSIZE.
ProcessSpec confined(std::vector<std::string> argv, const ConverterLimits& limits, uint64_t max_output,
                     const ProgressSink& progress);

// `qemu-img info -f FORMAT --output=json SOURCE`, parsed and checked.
Result<QemuImageInfo> inspect_image(const std::filesystem::path& source, ContentFormat format,
                                    uint64_t max_virtual_size, const ConverterLimits& limits,
                                    const ProgressSink& progress);

// `qemu-img check -f FORMAT SOURCE` for the formats that have a check
// (qcow2, vmdk, vhdx): a truncated image converts "successfully" (reads past
// the end of the file return zeros), the check finds the clusters that point
// past it. Leaked clusters (exit 3) are harmless and accepted.
Status check_image(const std::filesystem::path& source, ContentFormat format, const ConverterLimits& limits,
                   const ProgressSink& progress);

// `qemu-img convert -n -f FORMAT -O raw SOURCE OUTPUT` into an existing file
// that the caller has sized to `virtual_size` (no creation by qemu-img, and
// RLIMIT_FSIZE = virtual_size: it cannot write past it).
Status convert_to_raw(const std::filesystem::path& source, ContentFormat format, const std::filesystem::path& output,
                      uint64_t virtual_size, const ConverterLimits& limits, const ProgressSink& progress);

// `xz|gzip|zstd -dc` from `source_fd` (read from offset 0) into `writer`.
Result<uint64_t> decompress(int source_fd, ContentFormat format, BoundedWriter& writer, const ConverterLimits& limits,
                            const ProgressSink& progress);

}  // namespace scsipub::ingest
