#include "sessions/chap_login.h"

#include <optional>
#include <string_view>

#include "iscsi/chap.h"
#include "iscsi/text_keys.h"

namespace scsipub::bench {

namespace {

// The value of `key` in a parsed reply, or null when it is absent.
const std::string* find_value(const std::vector<iscsi::KeyValue>& pairs, std::string_view key) {
  for (const auto& kv : pairs) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

void add_key(std::string& keys, std::string_view name, std::string_view value) {
  keys.append(name);
  keys.push_back('=');
  keys.append(value);
  keys.push_back('\0');
}

}  // namespace

bool valid_chap_secret(const ChapSecret& chap) {
  return !chap.user.empty() && chap.user.size() <= kMaxChapField && chap.user.find('\0') == std::string::npos &&
         !chap.secret.empty() && chap.secret.size() <= kMaxChapField;
}

bool advance_chap(ChapProgress& at, std::span<const uint8_t> data, const ChapSecret& chap) {
  const iscsi::TextParse parsed = iscsi::parse_text(data);
  // RFC 7143 6.2: a key is sent once per exchange; two challenges would be ambiguous.
  if (!parsed.ok() || iscsi::find_duplicate_key(parsed.pairs)) return false;
  switch (at.step) {
    case ChapStep::offer: {
      // RFC 7143 12.1: the target picks a method from our list, which is only CHAP.
      const std::string* method = find_value(parsed.pairs, "AuthMethod");
      if (method == nullptr || *method != "CHAP") return false;
      at.step = ChapStep::algorithm;
      return true;
    }
    case ChapStep::algorithm: {
      const std::string* algorithm = find_value(parsed.pairs, "CHAP_A");
      const std::string* id = find_value(parsed.pairs, "CHAP_I");
      const std::string* challenge = find_value(parsed.pairs, "CHAP_C");
      if (algorithm == nullptr || id == nullptr || challenge == nullptr) return false;
      const auto md5 = iscsi::parse_number(*algorithm, iscsi::kChapAlgorithmMd5, iscsi::kChapAlgorithmMd5);
      // RFC 1994 4.1: the identifier is one octet, sent as a decimal number.
      const auto identifier = iscsi::parse_number(*id, 0, 255);
      // RFC 7143 12.1.3 bounds CHAP_C at 1024 bytes.
      const auto bytes = iscsi::decode_chap_binary(*challenge, iscsi::kChapMaxChallengeLength);
      if (!md5 || !identifier || !bytes) return false;
      const auto response = iscsi::chap_md5_response(uint8_t(*identifier), chap.secret, *bytes);
      if (!response) return false;
      at.response = *response;
      at.step = ChapStep::answer;
      return true;
    }
    case ChapStep::answer:
      // The target stayed in the security stage after our answer: it wants
      // something one-way CHAP does not give (or refused us without saying so).
      return false;
  }
  return false;
}

void append_chap_keys(std::string& keys, const ChapProgress& at, const ChapSecret& chap) {
  switch (at.step) {
    case ChapStep::offer: add_key(keys, "AuthMethod", "CHAP"); break;
    case ChapStep::algorithm: add_key(keys, "CHAP_A", "5"); break;
    case ChapStep::answer:
      add_key(keys, "CHAP_N", chap.user);
      add_key(keys, "CHAP_R", iscsi::encode_chap_hex(at.response));
      break;
  }
}

}  // namespace scsipub::bench
