#pragma once
// iSCSI text data: "key=value\0" pairs as Login and Text PDUs carry them
// (RFC 7143 6.1 format, 6.2 negotiation, 13 value types). Pure, bounds-checked
// functions over bytes from the network; the login negotiator and the text
// exchange build on them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scsipub::iscsi {

// RFC 7143 6.1: a key name is at most 63 bytes; a simple value at most 255.
inline constexpr size_t kMaxKeyLength = 63;
inline constexpr size_t kMaxValueLength = 255;
// RFC 7143 13 (large-binary-value, used by CHAP_C/CHAP_R and the like): the
// longest value we accept for the few keys that may exceed 255 bytes.
inline constexpr size_t kMaxLongValueLength = 8192;
// How much continued text (C bit) we buffer for one exchange.
inline constexpr size_t kMaxAccumulatedText = 64 * 1024;

// The special values of RFC 7143 6.2.
inline constexpr std::string_view kNotUnderstood = "NotUnderstood";
inline constexpr std::string_view kIrrelevant = "Irrelevant";
inline constexpr std::string_view kReject = "Reject";

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

enum class TextError : uint8_t {
  none,
  missing_equals,    // a pair without '='
  empty_key,         // "=value"
  key_too_long,      // > kMaxKeyLength
  bad_key_char,      // outside the RFC 7143 6.1 key-name alphabet
  value_too_long,    // > the per-key limit (max_value_length())
  bad_value_char,    // a control byte inside a value
  unterminated,      // last pair has no NUL and the caller did not tolerate it
};
const char* to_string(TextError e);

struct TextParse {
  std::vector<KeyValue> pairs;  // in the order received
  TextError error = TextError::none;
  size_t error_offset = 0;      // byte offset where the bad pair starts
  bool ok() const { return error == TextError::none; }
};

struct TextParseOptions {
  // RFC 7143 6.1 requires a NUL after every pair, the last one included; some
  // initiators omit the final one. Off by default.
  bool tolerate_unterminated_last = false;
};

// Longest value accepted for `key` (RFC 7143 6.1 / 12.1.3).
size_t max_value_length(std::string_view key);

// Splits key=value\0 data. Empty strings between NULs (padding, a stray
// double NUL) are skipped.
TextParse parse_text(std::span<const uint8_t> data, TextParseOptions options = {});

// The first key that occurs more than once, if any (RFC 7143 6.2: a key must
// not be negotiated twice).
std::optional<std::string> find_duplicate_key(std::span<const KeyValue> pairs);

// RFC 7143 13 numerical-value: decimal (no sign, no leading zeros beyond "0")
// or 0x/0X hex; the result must lie in [min, max].
std::optional<uint64_t> parse_number(std::string_view value, uint64_t min, uint64_t max);

// RFC 7143 13 boolean-value: exactly "Yes" or "No".
std::optional<bool> parse_bool(std::string_view value);
inline std::string_view bool_value(bool b) { return b ? "Yes" : "No"; }

// RFC 7143 6.1 list-of-values: comma separated, no empty elements.
std::optional<std::vector<std::string_view>> split_list(std::string_view value);

// Builds key=value\0 text.
class TextWriter {
 public:
  void add(std::string_view key, std::string_view value);
  void add(std::string_view key, uint64_t value);
  void reserve(size_t bytes) { out_.reserve(bytes); }
  const std::vector<uint8_t>& bytes() const { return out_; }
  std::vector<uint8_t> take() { return std::move(out_); }
  size_t size() const { return out_.size(); }
  bool empty() const { return out_.empty(); }

 private:
  std::vector<uint8_t> out_;
};

// Collects text continued over several PDUs (C bit, RFC 7143 11.10.2 and
// 11.12.2) and refuses to grow past `cap`, so a peer cannot make us buffer
// without bound.
class TextAccumulator {
 public:
  explicit TextAccumulator(size_t cap = kMaxAccumulatedText) : cap_(cap) {}
  // false when the total would exceed the cap (nothing is appended then).
  [[nodiscard]] bool append(std::span<const uint8_t> bytes);
  std::span<const uint8_t> data() const { return buf_; }
  size_t size() const { return buf_.size(); }
  bool empty() const { return buf_.empty(); }
  void clear() { buf_.clear(); }

 private:
  size_t cap_;
  std::vector<uint8_t> buf_;
};

}  // namespace scsipub::iscsi
