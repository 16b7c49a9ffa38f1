#include "ingest/http_download.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <thread>

namespace scsipub::ingest {
namespace {

struct Transfer {
  BoundedWriter* writer = nullptr;
  std::optional<Error> write_error;
  const ProgressSink* progress = nullptr;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (auto s = t->writer->write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), bytes)); !s) {
    t->write_error = s.error();
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->progress->cancelled() ? 1 : 0;
}

// Worth resuming: the connection broke or stalled, the server did not refuse.
bool transient(CURLcode code) {
  switch (code) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

void pause_before_retry(std::chrono::milliseconds pause, const ProgressSink& progress) {
  const auto step = std::chrono::milliseconds(100);
  for (auto waited = std::chrono::milliseconds(0); waited < pause && !progress.cancelled(); waited += step) {
    std::this_thread::sleep_for(step);
  }
}

}  // namespace

Result<DownloadResult> download_url(const std::string& url, int fd, const DownloadLimits& limits,
                                    const WriterLimits& space, const ProgressSink& progress) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return fail("libcurl: init failed");
  if (::ftruncate(fd, 0) != 0) return fail("truncate download file");
  CURL* h = curl.get();
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, limits.max_redirects);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // called from worker threads
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(limits.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.stall_timeout.count()));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "scsipub-image-ingest");
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  // No transparent decompression: the sha256 the operator gives is of the bytes as served.
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, nullptr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);

  WriterLimits cap = space;
  cap.cap = limits.max_bytes;
  cap.cap_message = "download is larger than " + std::to_string(limits.max_bytes) + " bytes ([catalog] max_download_bytes)";
  DownloadResult result;
  uint64_t offset = 0;
  for (unsigned attempt = 1;; ++attempt) {
    error_text[0] = '\0';
    BoundedWriter writer(fd, offset, cap, progress, "download", 0);
    Transfer transfer{&writer, std::nullopt, &progress};
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes - offset));
    const CURLcode code = curl_easy_perform(h);
    offset = writer.offset();
    if (code == CURLE_OK) {
      result.bytes = offset;
      return result;
    }
    if (transfer.write_error) return Unexpected<Error>{*transfer.write_error};
    if (progress.cancelled()) return fail("cancelled");
    const std::string reason = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
    if (code == CURLE_FILESIZE_EXCEEDED) return fail(cap.cap_message);
    const bool range_refused = code == CURLE_RANGE_ERROR;
    if ((!transient(code) && !range_refused) || attempt >= limits.max_attempts) {
      return fail("download failed: " + reason + (attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : ""));
    }
    if (range_refused) {
      // The server ignores Range: start over rather than append a second copy.
      spdlog::warn("download: the server does not resume (no Range support); starting over");
      offset = 0;
      if (::ftruncate(fd, 0) != 0) return fail("truncate download file");
    } else {
      ++result.resumes;
      spdlog::warn("download interrupted at {} bytes ({}); resumed from there (attempt {} of {})", offset, reason,
                   attempt + 1, limits.max_attempts);
    }
    pause_before_retry(limits.retry_pause * attempt, progress);
  }
}

}  // namespace scsipub::ingest
