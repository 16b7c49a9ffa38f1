#pragma once
// Helpers shared by the login negotiator tests: a fake target table and
// request/reply plumbing that keeps request bytes alive for the spans.
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "iscsi/login_negotiator.h"
#include "iscsi/text_keys.h"

namespace scsipub::iscsi::testing {

using Keys = std::vector<std::pair<std::string, std::string>>;

class FakeTargets : public LoginTargetLookup {
 public:
  void add(LoginTarget t) {
    std::string n = t.name;
    targets_[n] = std::move(t);
  }
  std::optional<LoginTarget> find(std::string_view name, const LoginRequester& who) override {
    last_initiator = std::string(who.initiator_name);
    last_isid = who.isid;
    ++lookups;
    auto it = targets_.find(std::string(name));
    if (it == targets_.end()) return std::nullopt;
    return it->second;
  }
  // Who the negotiator said was asking, the last time it looked.
  std::string last_initiator;
  std::array<uint8_t, 6> last_isid{};
  int lookups = 0;

 private:
  std::map<std::string, LoginTarget> targets_;
};

inline std::vector<uint8_t> encode(const Keys& keys) {
  TextWriter w;
  for (const auto& [k, v] : keys) w.add(k, v);
  return w.take();
}

// Owns the bytes a LoginRequest's span points into.
class RequestFactory {
 public:
  LoginRequest make(uint8_t csg, bool transit, uint8_t nsg, std::vector<uint8_t> data, bool cont = false) {
    store_.push_back(std::move(data));
    LoginRequest r;
    r.csg = csg;
    r.transit = transit;
    r.nsg = nsg;
    r.cont = cont;
    r.isid = {0x80, 0x12, 0x34, 0x56, 0x00, 0x01};
    r.itt = 0x1000;
    r.data = store_.back();
    return r;
  }
  LoginRequest make(uint8_t csg, bool transit, uint8_t nsg, const Keys& keys) {
    return make(csg, transit, nsg, encode(keys));
  }

 private:
  std::deque<std::vector<uint8_t>> store_;
};

// The reply's keys as a map; fails the test on a malformed or repeated key.
inline std::map<std::string, std::string> reply_keys(std::span<const uint8_t> data) {
  std::map<std::string, std::string> out;
  auto parsed = parse_text(data);
  EXPECT_TRUE(parsed.ok()) << to_string(parsed.error);
  for (auto& kv : parsed.pairs) {
    EXPECT_TRUE(out.emplace(kv.key, kv.value).second) << "repeated key in reply: " << kv.key;
  }
  return out;
}

}  // namespace scsipub::iscsi::testing
