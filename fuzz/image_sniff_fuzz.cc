// Fuzzes what ingest reads from an image file before any converter runs: the
// content sniffer and the qcow2 header check. Any bytes must give a format or
// a refusal with a reason, never a read outside the buffer; an accepted qcow2
// header must honour the virtual-size cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ingest/content_format.h"
#include "ingest/qcow2_header.h"

using namespace scsipub::ingest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> all(data, size);
  auto head = all.first(std::min(size, kSniffHeadBytes));
  auto tail = size >= kSniffTailBytes ? all.last(kSniffTailBytes) : std::span<const uint8_t>();
  const SniffResult sniffed = sniff_content(head, tail);
  if (sniffed.format == ContentFormat::refused && sniffed.reason.empty()) abort();
  if (sniffed.format != ContentFormat::refused && !sniffed.reason.empty()) abort();
  constexpr uint64_t kCap = 1ull << 30;
  auto header = check_qcow2_header(head, kCap);
  if (header.ok()) {
    if (header->virtual_size > kCap) abort();
    if (header->version != 2 && header->version != 3) abort();
    if (sniffed.format != ContentFormat::qcow2) abort();  // the check accepts only what the sniffer calls qcow2
  } else if (header.error().message.empty()) {
    abort();
  }
  return 0;
}
