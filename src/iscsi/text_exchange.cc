#include "iscsi/text_exchange.h"

#include <algorithm>

#include "iscsi/text_keys.h"

namespace scsipub::iscsi {
namespace {

constexpr uint32_t kNoTag = 0xffffffff;
// A response is built whole before it is split; bound it so a request full
// of SendTargets keys cannot make us build an enormous answer.
constexpr size_t kMaxResponseBytes = 4u << 20;
// RFC 7143 13.12: the smallest MaxRecvDataSegmentLength; guards against a
// caller passing 0.
constexpr uint32_t kMinChunk = 512;

}  // namespace

struct TextExchange::Impl {
  Impl(SendTargetsSource& s, uint32_t mrdsl) : source(s), max_chunk(std::max(mrdsl, kMinChunk)) {}

  SendTargetsSource& source;
  const uint32_t max_chunk;

  // One exchange at a time (RFC 7143 11.10: one outstanding Text Request per
  // connection).
  uint32_t itt = kNoTag;
  uint32_t ttt = kNoTag;        // the tag we handed out, kNoTag when idle
  uint32_t next_ttt = 1;        // per connection, never the reserved value
  TextAccumulator request_text;
  std::vector<uint8_t> pending;  // response not yet sent
  size_t pending_off = 0;

  void reset() {
    itt = kNoTag;
    ttt = kNoTag;
    request_text.clear();
    pending.clear();
    pending_off = 0;
  }
  uint32_t new_tag() {
    uint32_t t = next_ttt++;
    if (next_ttt == kNoTag) next_ttt = 1;
    return t;
  }
  TextReply reject() {
    reset();
    TextReply r;
    r.reject = true;
    return r;
  }
  bool answer(std::span<const KeyValue> keys, TextWriter& out);
  TextReply next_chunk();
  TextReply step(const TextRequest& req);
};

// RFC 7143 13.3 SendTargets: a TargetName line per target, then its
// TargetAddress lines. Every other key is NotUnderstood (6.2).
bool TextExchange::Impl::answer(std::span<const KeyValue> keys, TextWriter& out) {
  for (const auto& kv : keys) {
    if (kv.key != "SendTargets") {
      out.add(kv.key, kNotUnderstood);
      continue;
    }
    for (const auto& entry : source.send_targets(kv.value)) {
      out.add("TargetName", entry.name);
      for (const auto& addr : entry.addresses) out.add("TargetAddress", addr);
      if (out.size() > kMaxResponseBytes) return false;
    }
  }
  return out.size() <= kMaxResponseBytes;
}

// RFC 7143 11.11: a response longer than the initiator's
// MaxRecvDataSegmentLength goes out in pieces with F=0, C=1 and a TTT other
// than 0xffffffff; the last piece has F=1 and the reserved TTT.
TextReply TextExchange::Impl::next_chunk() {
  TextReply r;
  const size_t left = pending.size() - pending_off;
  const size_t n = std::min<size_t>(left, max_chunk);
  const auto first = pending.begin() + static_cast<std::ptrdiff_t>(pending_off);
  r.data.assign(first, first + static_cast<std::ptrdiff_t>(n));
  pending_off += n;
  if (pending_off < pending.size()) {
    if (ttt == kNoTag) ttt = new_tag();
    r.final_bit = false;
    r.cont = true;
    r.ttt = ttt;
    return r;
  }
  reset();
  return r;
}

TextReply TextExchange::Impl::step(const TextRequest& req) {
  // RFC 7143 11.10.2: C=1 requires F=0.
  if (req.cont && req.final_bit) return reject();

  if (req.ttt == kNoTag) {
    // RFC 7143 11.10.4: a request with the reserved TTT starts a new
    // exchange and drops whatever the previous one left behind.
    reset();
    itt = req.itt;
  } else {
    // Continuing: the tag must be the one we handed out, in the same task.
    if (req.ttt != ttt || req.itt != itt) return reject();
    if (!pending.empty()) {
      // The initiator collects the rest of our response with empty requests.
      if (!req.data.empty() || req.cont) return reject();
      return next_chunk();
    }
  }

  if (!request_text.append(req.data)) return reject();
  if (req.cont) {
    // RFC 7143 11.10.2: acknowledge a partial request with an empty
    // response, F=0 and a TTT for the initiator to continue with.
    if (ttt == kNoTag) ttt = new_tag();
    TextReply r;
    r.final_bit = false;
    r.ttt = ttt;
    return r;
  }

  TextParse parsed = parse_text(request_text.data());
  request_text.clear();
  if (!parsed.ok() || find_duplicate_key(parsed.pairs)) return reject();
  TextWriter out;
  if (!answer(parsed.pairs, out)) return reject();
  pending = out.take();
  pending_off = 0;
  ttt = kNoTag;
  return next_chunk();
}

TextExchange::TextExchange(SendTargetsSource& source, uint32_t initiator_max_recv_dsl)
    : impl_(std::make_unique<Impl>(source, initiator_max_recv_dsl)) {}
TextExchange::~TextExchange() = default;
TextReply TextExchange::step(const TextRequest& request) { return impl_->step(request); }

}  // namespace scsipub::iscsi
