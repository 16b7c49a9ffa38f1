#include "iscsi/login_keys.h"

#include <algorithm>
#include <array>

namespace scsipub::iscsi {
namespace {

enum class Rule : uint8_t {
  min,          // numerical, result = min(offered, ours)
  max,          // numerical, result = max(offered, ours)
  bool_or,      // result = offered OR ours
  bool_and,     // result = offered AND ours
  digest,       // list, first of the initiator's values we support
  declared_mrdsl,
  erl,          // ErrorRecoveryLevel: min, stored as uint8_t
  always_no,    // boolean AND we never agree to (markers, RDMA)
  irrelevant,   // keys only a target sends, obsolete marker intervals
  task_reporting,
};

struct KeySpec {
  std::string_view name;
  Rule rule;
  KeyUse use = KeyUse::negotiated;
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool normal_only = false;  // "Irrelevant when: SessionType=Discovery"
  uint32_t SessionParams::*param = nullptr;
  uint32_t TargetLoginPolicy::*ours = nullptr;
  bool SessionParams::*flag = nullptr;
  bool TargetLoginPolicy::*our_flag = nullptr;
};

// One row per key, with the RFC 7143 section that defines it.
constexpr std::array kKeys = {
    // 13.1
    KeySpec{.name = "HeaderDigest", .rule = Rule::digest, .flag = &SessionParams::header_digest},
    KeySpec{.name = "DataDigest", .rule = Rule::digest, .flag = &SessionParams::data_digest},
    // 13.2
    KeySpec{.name = "MaxConnections", .rule = Rule::min, .lo = 1, .hi = 65535, .normal_only = true,
            .param = &SessionParams::max_connections, .ours = &TargetLoginPolicy::max_connections},
    // 13.7, 13.8, 13.9: only the target sends these.
    KeySpec{.name = "TargetAlias", .rule = Rule::irrelevant, .use = KeyUse::declarative},
    KeySpec{.name = "TargetAddress", .rule = Rule::irrelevant, .use = KeyUse::declarative},
    KeySpec{.name = "TargetPortalGroupTag", .rule = Rule::irrelevant, .use = KeyUse::declarative},
    // 13.10
    KeySpec{.name = "InitialR2T", .rule = Rule::bool_or, .normal_only = true,
            .flag = &SessionParams::initial_r2t, .our_flag = &TargetLoginPolicy::initial_r2t},
    // 13.11
    KeySpec{.name = "ImmediateData", .rule = Rule::bool_and, .normal_only = true,
            .flag = &SessionParams::immediate_data, .our_flag = &TargetLoginPolicy::immediate_data},
    // 13.12: declarative, may appear in any stage.
    KeySpec{.name = "MaxRecvDataSegmentLength", .rule = Rule::declared_mrdsl, .use = KeyUse::declarative,
            .lo = kMinDataLength, .hi = kMaxDataLength},
    // 13.13
    KeySpec{.name = "MaxBurstLength", .rule = Rule::min, .lo = kMinDataLength, .hi = kMaxDataLength,
            .normal_only = true, .param = &SessionParams::max_burst_length,
            .ours = &TargetLoginPolicy::max_burst_length},
    // 13.14
    KeySpec{.name = "FirstBurstLength", .rule = Rule::min, .lo = kMinDataLength, .hi = kMaxDataLength,
            .normal_only = true, .param = &SessionParams::first_burst_length,
            .ours = &TargetLoginPolicy::first_burst_length},
    // 13.15
    KeySpec{.name = "DefaultTime2Wait", .rule = Rule::max, .lo = 0, .hi = 3600,
            .param = &SessionParams::default_time2wait, .ours = &TargetLoginPolicy::default_time2wait},
    // 13.16
    KeySpec{.name = "DefaultTime2Retain", .rule = Rule::min, .lo = 0, .hi = 3600,
            .param = &SessionParams::default_time2retain, .ours = &TargetLoginPolicy::default_time2retain},
    // 13.17
    KeySpec{.name = "MaxOutstandingR2T", .rule = Rule::min, .lo = 1, .hi = 65535, .normal_only = true,
            .param = &SessionParams::max_outstanding_r2t, .ours = &TargetLoginPolicy::max_outstanding_r2t},
    // 13.18
    KeySpec{.name = "DataPDUInOrder", .rule = Rule::bool_or, .normal_only = true,
            .flag = &SessionParams::data_pdu_in_order, .our_flag = &TargetLoginPolicy::data_pdu_in_order},
    // 13.19
    KeySpec{.name = "DataSequenceInOrder", .rule = Rule::bool_or, .normal_only = true,
            .flag = &SessionParams::data_sequence_in_order,
            .our_flag = &TargetLoginPolicy::data_sequence_in_order},
    // 13.20
    KeySpec{.name = "ErrorRecoveryLevel", .rule = Rule::erl, .lo = 0, .hi = 2},
    // 13.23
    KeySpec{.name = "TaskReporting", .rule = Rule::task_reporting, .normal_only = true},
    // RFC 7143 removed markers (RFC 3720 12.17-12.18) but open-iscsi still
    // offers IFMarker=No/OFMarker=No: the AND result is No, and the interval
    // keys are irrelevant once markers are off.
    KeySpec{.name = "IFMarker", .rule = Rule::always_no},
    KeySpec{.name = "OFMarker", .rule = Rule::always_no},
    KeySpec{.name = "IFMarkInt", .rule = Rule::irrelevant},
    KeySpec{.name = "OFMarkInt", .rule = Rule::irrelevant},
    // RFC 7145 (iSER): we are TCP only.
    KeySpec{.name = "RDMAExtensions", .rule = Rule::always_no},
};

const KeySpec* find_spec(std::string_view key) {
  for (const auto& spec : kKeys) {
    if (spec.name == key) return &spec;
  }
  return nullptr;
}

KeyAnswer answer(std::string_view v) { return KeyAnswer{std::string(v)}; }
KeyAnswer answer(uint64_t v) { return KeyAnswer{std::to_string(v)}; }

// RFC 7143 13.1: the first value of the initiator's list we support.
KeyAnswer negotiate_digest(std::string_view value, const TargetLoginPolicy& policy, bool& out) {
  auto list = split_list(value);
  if (!list) return answer(kReject);
  for (auto item : *list) {
    if (item == "None") {
      out = false;
      return answer(item);
    }
    if (item == "CRC32C" && policy.allow_digests) {
      out = true;
      return answer(item);
    }
  }
  return answer(kReject);
}

}  // namespace

bool is_security_key(std::string_view key) {
  // RFC 7143 12.1: AuthMethod and the per-method keys (CHAP_*, and the
  // SRP_/KRB_/SPKM_ families we do not implement but must not mistake for
  // operational keys).
  return key == "AuthMethod" || key.starts_with("CHAP_") || key.starts_with("SRP_") ||
         key.starts_with("KRB_") || key.starts_with("SPKM_");
}

KeyUse key_use(std::string_view key) {
  const KeySpec* spec = find_spec(key);
  return spec ? spec->use : KeyUse::unknown;
}

KeyAnswer negotiate_key(const KeyValue& kv, const TargetLoginPolicy& policy, SessionType type,
                        SessionParams& params) {
  const KeySpec* spec = find_spec(kv.key);
  // RFC 7143 6.2: unknown keys, vendor X- keys and X# extension keys we do
  // not implement are all answered NotUnderstood.
  if (spec == nullptr) return answer(kNotUnderstood);
  // RFC 7143 6.2: a key irrelevant to this session type is answered Irrelevant.
  if (spec->normal_only && type == SessionType::discovery) return answer(kIrrelevant);

  switch (spec->rule) {
    case Rule::min:
    case Rule::max: {
      auto n = parse_number(kv.value, spec->lo, spec->hi);
      if (!n) return answer(kReject);
      const uint64_t ours = std::clamp<uint64_t>(policy.*(spec->ours), spec->lo, spec->hi);
      const uint64_t result = spec->rule == Rule::min ? std::min(*n, ours) : std::max(*n, ours);
      params.*(spec->param) = static_cast<uint32_t>(result);
      return answer(result);
    }
    case Rule::bool_or:
    case Rule::bool_and: {
      auto b = parse_bool(kv.value);
      if (!b) return answer(kReject);
      const bool ours = policy.*(spec->our_flag);
      const bool result = spec->rule == Rule::bool_or ? (*b || ours) : (*b && ours);
      params.*(spec->flag) = result;
      return answer(bool_value(result));
    }
    case Rule::digest:
      return negotiate_digest(kv.value, policy, params.*(spec->flag));
    case Rule::declared_mrdsl: {
      // RFC 7143 13.12: declarative; the initiator tells us what it can
      // receive. No answer: our own value is declared separately.
      auto n = parse_number(kv.value, spec->lo, spec->hi);
      if (!n) return KeyAnswer{.fatal = true};
      params.initiator_max_recv_dsl = static_cast<uint32_t>(*n);
      return KeyAnswer{};
    }
    case Rule::erl: {
      auto n = parse_number(kv.value, spec->lo, spec->hi);
      if (!n) return answer(kReject);
      const uint64_t result = std::min<uint64_t>(*n, std::min<uint64_t>(policy.max_error_recovery_level, 2));
      params.error_recovery_level = static_cast<uint8_t>(result);
      return answer(result);
    }
    case Rule::always_no:
      if (!parse_bool(kv.value)) return answer(kReject);
      return answer(bool_value(false));
    case Rule::irrelevant:
      return answer(kIrrelevant);
    case Rule::task_reporting: {
      // RFC 7143 13.23: we implement only the RFC3720 behaviour.
      auto list = split_list(kv.value);
      if (list && std::find(list->begin(), list->end(), "RFC3720") != list->end()) {
        return answer(std::string_view("RFC3720"));
      }
      return answer(kReject);
    }
  }
  return answer(kNotUnderstood);
}

bool clamp_first_burst(SessionParams& params) {
  if (params.first_burst_length <= params.max_burst_length) return false;
  params.first_burst_length = params.max_burst_length;
  return true;
}

}  // namespace scsipub::iscsi
