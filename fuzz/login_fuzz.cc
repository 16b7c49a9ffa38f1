// Fuzzes the login negotiator and the text exchange with a sequence of
// requests. Input: one mode byte, then records of
//   [flags (BHS byte 1 layout)] [version_min] [len_hi] [len_lo] [len bytes]
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "iscsi/login_negotiator.h"
#include "iscsi/text_exchange.h"

using namespace scsipub::iscsi;

namespace {

class Targets : public LoginTargetLookup {
 public:
  std::optional<LoginTarget> find(std::string_view name, const LoginRequester&) override {
    if (name == "iqn.2025-01.pub.scsipub:blank") return LoginTarget{std::string(name), "", false};
    if (name == "iqn.2025-01.pub.scsipub:disk.1") return LoginTarget{std::string(name), "disk", true};
    // Served by another node, or by none at this instant (redirect, 03/01).
    if (name == "iqn.2025-01.pub.scsipub:disk.2") {
      return LoginTarget{std::string(name), "", true, "disk", "", LoginTarget::Where::moved, "[2001:db8::2]:3260,1"};
    }
    if (name == "iqn.2025-01.pub.scsipub:disk.3") {
      return LoginTarget{std::string(name), "", true, "disk", "", LoginTarget::Where::unavailable, ""};
    }
    return std::nullopt;
  }
};

class Source : public SendTargetsSource {
 public:
  std::vector<SendTargetsEntry> send_targets(std::string_view which) override {
    std::vector<SendTargetsEntry> out;
    if (which == "All" || which.empty()) {
      for (int i = 0; i < 40; ++i) {
        out.push_back({"iqn.2025-01.pub.scsipub:image." + std::to_string(i), {"192.0.2.1:3260,1"}});
      }
    }
    return out;
  }
};

struct Record {
  uint8_t flags;
  uint8_t extra;
  std::span<const uint8_t> data;
};

std::optional<Record> next_record(std::span<const uint8_t>& in) {
  if (in.size() < 4) return std::nullopt;
  Record r{in[0], in[1], {}};
  size_t len = size_t(in[2]) << 8 | in[3];
  in = in.subspan(4);
  len = std::min(len, in.size());
  r.data = in.first(len);
  in = in.subspan(len);
  return r;
}

void fuzz_login(std::span<const uint8_t> in) {
  TargetLoginPolicy policy;
  Targets targets;
  LoginNegotiator n(policy, targets);
  while (auto rec = next_record(in)) {
    LoginRequest req;
    req.transit = (rec->flags & 0x80) != 0;
    req.cont = (rec->flags & 0x40) != 0;
    req.csg = (rec->flags >> 2) & 3;
    req.nsg = rec->flags & 3;
    req.version_min = rec->extra & 1;
    req.data = rec->data;
    LoginReply r = n.step(req);
    if (r.data.size() > kLoginMaxDataSegment) abort();
    if (r.cont && r.transit) abort();
    if (r.complete && (r.close || !r.transit || r.nsg != 3)) abort();
    if (r.close) {
      if (r.status_class == login_status::kSuccess) abort();
      return;
    }
    if (r.complete) return;
  }
}

void fuzz_text(std::span<const uint8_t> in, uint32_t mrdsl) {
  Source source;
  TextExchange x(source, mrdsl);
  uint32_t last_ttt = 0xffffffff;
  while (auto rec = next_record(in)) {
    TextRequest req;
    req.final_bit = (rec->flags & 0x80) != 0;
    req.cont = (rec->flags & 0x40) != 0;
    req.itt = rec->flags & 0x10;
    // Either continue with the tag we were given, or start over.
    req.ttt = (rec->extra & 1) ? last_ttt : 0xffffffff;
    req.data = rec->data;
    TextReply r = x.step(req);
    if (r.data.size() > std::max<uint32_t>(mrdsl, 512)) abort();
    if (!r.final_bit && r.ttt == 0xffffffff && !r.reject) abort();
    last_ttt = r.ttt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::span<const uint8_t> in(data + 1, size - 1);
  if (data[0] & 1) fuzz_text(in, (data[0] & 2) ? 512 : 8192);
  else fuzz_login(in);
  return 0;
}
