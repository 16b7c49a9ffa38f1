#pragma once
// Where a provisioned disk is served, and where a new free-tier session
// should go, as a login sees it at this instant. A single node serves every
// disk itself (LocalPlacement); a fleet answers from the lease keeper's
// in-memory snapshot. Answers come from memory: logins ask on an event loop.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scsipub::control {

// How initiators reach a node: "host:port" (IPv6 host in brackets), no
// portal group tag.
struct NodePortals {
  std::string node_id;
  std::string iscsi_portal;
  std::string tls_portal;  // "" when the node has no TLS listener
};

struct Placement {
  // here: this node serves it; elsewhere: `owner` does; unavailable: nobody
  // holds it at this instant (a failover in progress).
  enum class Where : uint8_t { here, elsewhere, unavailable };
  Where where = Where::here;
  NodePortals owner;  // meaningful for `elsewhere`
};

class DiskPlacement {
 public:
  virtual ~DiskPlacement() = default;
  // Answers from memory; called on an event loop during login: must never block.
  virtual Placement place_disk(std::string_view disk_id) const = 0;
  // Where a new free-tier session should go instead of here; nullopt: serve here.
  virtual std::optional<NodePortals> free_tier_redirect() const = 0;
  // The portals of another node while it is alive; nullopt when it is gone
  // (or unknown). A free-tier initiator sent there before goes there again,
  // where its disk is.
  virtual std::optional<NodePortals> alive_node(std::string_view node_id) const = 0;
};

// Single node: every disk here, never redirect.
class LocalPlacement final : public DiskPlacement {
 public:
  Placement place_disk(std::string_view /*disk_id*/) const override { return {}; }
  std::optional<NodePortals> free_tier_redirect() const override { return std::nullopt; }
  std::optional<NodePortals> alive_node(std::string_view /*node_id*/) const override { return std::nullopt; }
};

// A LocalPlacement for whoever needs one without owning it (it has no state).
inline const DiskPlacement& local_placement() {
  static const LocalPlacement kLocal;
  return kLocal;
}

}  // namespace scsipub::control
