#pragma once
// Logins to provisioned disks (`disk.<id>`, the paid tier): CHAP only, every
// session attached to the disk's shared logical units, admitted up to the
// owner's tier's session limit; a CHAP user sees its account's disks.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iscsi/chap.h"
#include "iscsi/target_provider.h"

namespace scsipub::control {

class ProvisionedDisks;

class DiskBinder {
 public:
  // Serves the disks of `disks` (set once, before the listener starts; until
  // then no disk target exists).
  void attach(ProvisionedDisks* disks) { disks_ = disks; }
  bool serving() const { return disks_ != nullptr; }

  // The login target of a live disk; nullopt for other names.
  std::optional<iscsi::LoginTarget> find(std::string_view target_name) const;
  // The targets of the account whose disk has CHAP user `chap_user`, sorted.
  std::vector<std::string> account_targets(std::string_view chap_user) const;
  // The CHAP user of the disk behind `target_name`; empty when none.
  std::string chap_user_of(std::string_view target_name) const;
  // A disk target accepts only its own credentials; discovery (empty target
  // name) any disk's.
  iscsi::ChapCredentialLookup credentials() const;

  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(std::string_view target_name,
                                                                       const lu::Nexus& nexus) const;

 private:
  ProvisionedDisks* disks_ = nullptr;
};

}  // namespace scsipub::control
