#pragma once
// Text Request / Text Response exchange in Full Feature Phase (RFC 7143
// 11.10-11.11), pure: SendTargets for discovery and normal sessions, with
// request continuation (C bit) and responses longer than the initiator's
// MaxRecvDataSegmentLength split across several Text Responses tied together
// by a Target Transfer Tag.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace scsipub::iscsi {

struct SendTargetsEntry {
  std::string name;
  std::vector<std::string> addresses;  // "host:port,tpgt" ("[v6]:port,tpgt")
};

class SendTargetsSource {
 public:
  virtual ~SendTargetsSource() = default;
  // Every target this session may see; `which` is "All", a target name, or ""
  // (RFC 7143 13.x: empty in a normal session means the session's own target).
  virtual std::vector<SendTargetsEntry> send_targets(std::string_view which) = 0;
};

struct TextRequest {
  bool final_bit = true;
  bool cont = false;
  uint32_t itt = 0;
  uint32_t ttt = 0xffffffff;
  std::span<const uint8_t> data;
};

struct TextReply {
  bool final_bit = true;
  bool cont = false;
  uint32_t ttt = 0xffffffff;
  std::vector<uint8_t> data;
  bool reject = false;  // protocol error: answer with Reject (reason 0x09 invalid PDU field)
};

class TextExchange {
 public:
  TextExchange(SendTargetsSource& source, uint32_t initiator_max_recv_dsl);
  ~TextExchange();
  TextReply step(const TextRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scsipub::iscsi
