#pragma once
// UTF-8 well-formedness, for the encoders that turn bytes from the network
// into text other programs read (JSON, log lines).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace scsipub {

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode 15,
// table 3-7: no overlongs, no surrogates, nothing past U+10FFFF), or 0 when
// the bytes there are not one. ASCII counts as a sequence of length 1.
// Requires i < s.size().
size_t utf8_sequence_length(std::string_view s, size_t i);

// The code point of the well-formed sequence s[i, i+len) (len from above).
uint32_t utf8_decode(std::string_view s, size_t i, size_t len);

}  // namespace scsipub
