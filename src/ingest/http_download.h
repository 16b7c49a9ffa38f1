#pragma once
// Fetches an http(s) URL into a file with libcurl: redirects followed (a few,
// and only to http/https: a redirect to file:// or gopher:// is refused), an
// interrupted transfer resumed with a Range request into the partial file,
// a byte cap, a connect timeout and a stall timeout.
#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "ingest/bounded_copy.h"
#include "ingest/progress.h"

namespace scsipub::ingest {

struct DownloadLimits {
  uint64_t max_bytes = 64ull << 30;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds stall_timeout{60};  // below 1 byte/s for this long: give up (then resume)
  unsigned max_attempts = 5;               // the first try plus resumes
  long max_redirects = 5;
  std::chrono::milliseconds retry_pause{1000};  // times the attempt number
};

struct DownloadResult {
  uint64_t bytes = 0;
  unsigned resumes = 0;  // how many times a broken transfer was resumed
};

// Writes into `fd` from offset 0 (truncating whatever was there).
Result<DownloadResult> download_url(const std::string& url, int fd, const DownloadLimits& limits,
                                    const WriterLimits& space, const ProgressSink& progress);

}  // namespace scsipub::ingest
