// Fuzzes the key=value parser and value helpers; whatever parses must
// survive a serialize/parse round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "iscsi/text_keys.h"

using namespace scsipub::iscsi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  for (bool tolerate : {false, true}) {
    TextParse r = parse_text(in, TextParseOptions{.tolerate_unterminated_last = tolerate});
    if (!r.ok()) {
      if (!r.pairs.empty() || r.error_offset >= size) abort();
      continue;
    }
    TextWriter w;
    for (const auto& kv : r.pairs) {
      if (kv.key.empty() || kv.key.size() > kMaxKeyLength) abort();
      if (kv.value.size() > max_value_length(kv.key)) abort();
      (void)parse_number(kv.value, 0, UINT64_MAX);
      (void)parse_number(kv.value, 512, (1u << 24) - 1);
      (void)parse_bool(kv.value);
      if (auto list = split_list(kv.value)) {
        for (auto item : *list) {
          if (item.empty()) abort();
        }
      }
      w.add(kv.key, kv.value);
    }
    (void)find_duplicate_key(r.pairs);
    TextParse again = parse_text(w.bytes());
    if (!again.ok() || again.pairs != r.pairs) abort();
  }
  TextAccumulator acc(1024);
  size_t half = size / 2;
  if (acc.append(in.first(half)) && acc.append(in.subspan(half))) {
    if (acc.size() != size) abort();
  } else if (size <= 1024) {
    abort();
  }
  return 0;
}
