// Feeds an arbitrary byte stream to one iSCSI connection, as the transport
// would: frame, parse, hand over, drain the outbox. The first bytes of the
// input choose a few timing events; the rest is the stream. Any crash, leak or
// sanitizer report is a bug: one bad peer must only cost its own connection.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "iscsi/connection.h"
#include "lu/logical_unit.h"
#include "storage/memory_store.h"

namespace {

using namespace scsipub;

// One MemoryStore-backed unit as LUN 0.
class Binding final : public iscsi::TargetBinding {
 public:
  explicit Binding(const lu::Nexus& n) {
    auto unit = std::make_shared<lu::LogicalUnit>(std::make_shared<storage::MemoryStore>(256),
                                                  lu::Identity{"SCSIPUB", "FUZZ", "0001", "f", 1, "f"});
    unit->attach(n);
    luns_.add(0, std::move(unit));
  }
  const scsi::LunMap& luns() const override { return luns_; }

 private:
  scsi::LunMap luns_;
};

class Targets final : public iscsi::TargetProvider {
 public:
  std::optional<iscsi::LoginTarget> find(std::string_view name, const iscsi::LoginRequester&, const iscsi::PortalInfo&) override {
    if (name != "iqn.2025-01.pub.scsipub:blank") return std::nullopt;
    return iscsi::LoginTarget{std::string(name), "", false};
  }
  std::vector<iscsi::SendTargetsEntry> send_targets(std::string_view, std::string_view, std::string_view,
                                                    const iscsi::PortalInfo&) override {
    return {{"iqn.2025-01.pub.scsipub:blank", {"127.0.0.1:3260,1"}}};
  }
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view, const lu::Nexus& n,
                                                                       const iscsi::PortalInfo&) override {
    return std::unique_ptr<iscsi::TargetBinding>(std::make_unique<Binding>(n));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Targets targets;
  iscsi::SessionRegistry registry;
  iscsi::ConnectionConfig cfg;
  cfg.engine.max_task_bytes = 1u << 20;
  cfg.engine.max_buffered_bytes = 2u << 20;
  auto now = iscsi::Connection::Clock::time_point{};
  const iscsi::PortalInfo portal{"127.0.0.1", 3260, "127.0.0.1", 4000};
  iscsi::Connection conn(cfg, targets, registry, portal, [] {}, now);
  std::span<const uint8_t> in(data, size);
  std::vector<iscsi::OutPdu> sent;
  size_t pos = 0;
  while (pos < in.size() && !conn.closing()) {
    auto rest = in.subspan(pos);
    iscsi::FrameLimits limits = conn.frame_limits();
    iscsi::FrameCheck fc = iscsi::check_frame(rest, limits);
    if (fc.kind == iscsi::FrameCheck::Kind::error) {
      conn.on_frame_error(fc.error, rest.first(iscsi::kBhsSize));
      break;
    }
    if (fc.kind == iscsi::FrameCheck::Kind::need_more) break;
    iscsi::PduView view;
    iscsi::FrameError fe = iscsi::parse_frame(rest.first(fc.total), limits, view);
    if (fe != iscsi::FrameError::none) {
      conn.on_frame_error(fe, rest.first(iscsi::kBhsSize));
    } else {
      conn.on_pdu(view, now);
    }
    pos += fc.total;
    // Time moves on every PDU so the login and NOP deadlines are exercised.
    now += std::chrono::seconds(1);
    conn.on_tick(now);
    conn.outbox().take(sent);
    conn.on_flushed();
  }
  return 0;
}
