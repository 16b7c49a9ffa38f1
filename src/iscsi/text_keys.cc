#include "iscsi/text_keys.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <unordered_set>

namespace scsipub::iscsi {

const char* to_string(TextError e) {
  switch (e) {
    case TextError::none: return "none";
    case TextError::missing_equals: return "key without '='";
    case TextError::empty_key: return "empty key";
    case TextError::key_too_long: return "key longer than 63 bytes";
    case TextError::bad_key_char: return "invalid character in key";
    case TextError::value_too_long: return "value too long";
    case TextError::bad_value_char: return "control character in value";
    case TextError::unterminated: return "last pair not NUL terminated";
  }
  return "?";
}

namespace {

// RFC 7143 6.1: key-name is letters, digits, '.', '-', '+', '@', '_'; the
// extension prefix "X#" (13.x, IANA-registered keys) adds '#'.
// A table: parse_text checks every key byte of every login.
constexpr std::array<bool, 256> kKeyChars = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '.' || c == '-' || c == '+' || c == '@' || c == '_' || c == '#';
  }
  return t;
}();
bool is_key_char(uint8_t c) { return kKeyChars[c]; }

// The offset of the first `byte` in data[from, to), or `to` (memchr: the
// scans over every login's text are the parser's main cost).
size_t find_byte(std::span<const uint8_t> data, size_t from, size_t to, uint8_t byte) {
  const void* hit = std::memchr(data.data() + from, byte, to - from);
  return hit == nullptr ? to : static_cast<size_t>(static_cast<const uint8_t*>(hit) - data.data());
}

// Values are UTF-8 text; control bytes have no business there and would
// confuse logs.
bool is_value_byte(uint8_t c) { return c >= 0x20 && c != 0x7f; }

}  // namespace

size_t max_value_length(std::string_view key) {
  // RFC 7143 12.1.3: CHAP challenges and responses are binary values that may
  // be longer than 255 bytes in their hex/base64 form.
  if (key == "CHAP_C" || key == "CHAP_R") return kMaxLongValueLength;
  return kMaxValueLength;
}

TextParse parse_text(std::span<const uint8_t> data, TextParseOptions options) {
  TextParse r;
  // One allocation for a login's worth of pairs (at most one per NUL, plus an
  // unterminated last), capped: a request of bare NULs must not reserve much.
  constexpr size_t kReservePairs = 32;
  r.pairs.reserve(std::min(kReservePairs, static_cast<size_t>(std::count(data.begin(), data.end(), uint8_t{0})) + 1));
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t start = pos;
    const size_t end = find_byte(data, pos, data.size(), 0);
    const bool terminated = end != data.size();
    pos = terminated ? end + 1 : end;
    if (end == start) continue;  // empty string between NULs
    auto fail = [&](TextError e) {
      r.error = e;
      r.error_offset = start;
      r.pairs.clear();
      return r;
    };
    // RFC 7143 6.1: every pair, the last included, ends in NUL.
    if (!terminated && !options.tolerate_unterminated_last) return fail(TextError::unterminated);
    std::span<const uint8_t> pair = data.subspan(start, end - start);
    const size_t key_len = find_byte(pair, 0, pair.size(), '=');
    if (key_len == pair.size()) return fail(TextError::missing_equals);
    if (key_len == 0) return fail(TextError::empty_key);
    if (key_len > kMaxKeyLength) return fail(TextError::key_too_long);
    for (size_t i = 0; i < key_len; ++i) {
      if (!is_key_char(pair[i])) return fail(TextError::bad_key_char);
    }
    std::string key(reinterpret_cast<const char*>(pair.data()), key_len);
    std::span<const uint8_t> value = pair.subspan(key_len + 1);
    if (value.size() > max_value_length(key)) return fail(TextError::value_too_long);
    for (uint8_t c : value) {
      if (!is_value_byte(c)) return fail(TextError::bad_value_char);
    }
    r.pairs.push_back(
        KeyValue{std::move(key), std::string(reinterpret_cast<const char*>(value.data()), value.size())});
  }
  return r;
}

std::optional<std::string> find_duplicate_key(std::span<const KeyValue> pairs) {
  std::unordered_set<std::string_view> seen;
  for (const auto& kv : pairs) {
    if (!seen.insert(kv.key).second) return kv.key;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_number(std::string_view v, uint64_t min, uint64_t max) {
  if (v.empty()) return std::nullopt;
  uint64_t n = 0;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    // RFC 7143 6.1 hex-constant.
    std::string_view digits = v.substr(2);
    for (char c : digits) {
      unsigned d;
      if (c >= '0' && c <= '9') d = unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
      else return std::nullopt;
      if (n > (UINT64_MAX >> 4)) return std::nullopt;
      n = n << 4 | d;
    }
  } else {
    // RFC 7143 6.1 decimal-constant: no sign, no leading zeros.
    if (v.size() > 1 && v[0] == '0') return std::nullopt;
    for (char c : v) {
      if (c < '0' || c > '9') return std::nullopt;
      const unsigned d = unsigned(c - '0');
      if (n > (UINT64_MAX - d) / 10) return std::nullopt;
      n = n * 10 + d;
    }
  }
  if (n < min || n > max) return std::nullopt;
  return n;
}

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "Yes") return true;
  if (v == "No") return false;
  return std::nullopt;
}

std::optional<std::vector<std::string_view>> split_list(std::string_view v) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t comma = v.find(',', pos);
    std::string_view item = v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) return std::nullopt;
    out.push_back(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

void TextWriter::add(std::string_view key, std::string_view value) {
  out_.insert(out_.end(), key.begin(), key.end());
  out_.push_back('=');
  out_.insert(out_.end(), value.begin(), value.end());
  out_.push_back(0);
}

void TextWriter::add(std::string_view key, uint64_t value) {
  std::array<char, 24> digits{};  // 2^64 has 20 decimal digits
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  (void)ec;  // cannot fail: the buffer holds any uint64_t
  add(key, std::string_view(digits.data(), static_cast<size_t>(end - digits.data())));
}

bool TextAccumulator::append(std::span<const uint8_t> bytes) {
  if (bytes.size() > cap_ - buf_.size()) return false;
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  return true;
}

}  // namespace scsipub::iscsi
