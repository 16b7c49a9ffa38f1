#pragma once
// `scsipub account ...`: accounts are made by the operator on the server's own
// database; the API token is printed once and only its hash is stored.
#include <string>

#include "app/config.h"

namespace scsipub::app {

// Prints the new account and its token; `json` for scripts. Returns an exit code.
int account_create(const Config& cfg, const std::string& tier, bool json);
int account_list(const Config& cfg, bool json);
// Refuses while the account still owns disks (delete them through the API first).
int account_delete(const Config& cfg, const std::string& id);

}  // namespace scsipub::app
