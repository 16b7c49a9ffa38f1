#pragma once
// The provider as the login and the text exchange see it, with this
// connection's portal (private to connection.cc and connection_login.cc: the
// nested classes of Connection it declares).
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "iscsi/connection.h"
#include "iscsi/login_journal.h"

namespace scsipub::iscsi {

// Login-time view of the provider, with this connection's portal. Keeps the
// last name asked for, so a refused login can say which target it wanted.
class Connection::LoginLookup final : public LoginTargetLookup {
 public:
  LoginLookup(TargetProvider& p, const PortalInfo& portal) : p_(p), portal_(portal) {}
  std::optional<LoginTarget> find(std::string_view name, const LoginRequester& who) override {
    requested_.assign(name.substr(0, LoginJournal::kMaxText));
    return p_.find(name, who, portal_);
  }
  const std::string& requested() const { return requested_; }

 private:
  std::string requested_;
  TargetProvider& p_;
  const PortalInfo& portal_;
};

// Login-time authentication, with this connection's portal (the provider
// throttles failures per source address).
class Connection::LoginAuth final : public AuthenticatorFactory {
 public:
  LoginAuth(TargetProvider& p, const PortalInfo& portal) : p_(p), portal_(portal) {}
  std::unique_ptr<Authenticator> create(std::string_view method, const LoginTarget& target,
                                        std::string_view initiator_name) override {
    return p_.authenticator(method, target, initiator_name, portal_);
  }

 private:
  TargetProvider& p_;
  const PortalInfo& portal_;
};

class Connection::SendTargets final : public SendTargetsSource {
 public:
  SendTargets(TargetProvider& p, const PortalInfo& portal, std::string session_target, std::string auth_user)
      : p_(p), portal_(portal), session_target_(std::move(session_target)), auth_user_(std::move(auth_user)) {}
  std::vector<SendTargetsEntry> send_targets(std::string_view which) override {
    return p_.send_targets(which, session_target_, auth_user_, portal_);
  }

 private:
  TargetProvider& p_;
  const PortalInfo& portal_;
  std::string session_target_;
  std::string auth_user_;
};

}  // namespace scsipub::iscsi
