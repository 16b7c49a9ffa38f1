#pragma once
// `scsipub admin token ...`: operator tokens for the dashboard (/admin) and
// its API. Like API tokens, a token is printed once and only its SHA-256 is
// stored; `list` shows each token's id and first characters, never more.
#include <iosfwd>
#include <string>

#include "app/config.h"
#include "db/meta_store.h"

namespace scsipub::app {

// Prints the new token alone on one line on `out` (scripts capture it);
// what it is goes to `err`. Returns an exit code.
int admin_token_create(db::MetaStore& store, const std::string& label, std::ostream& out, std::ostream& err);
int admin_token_list(db::MetaStore& store, bool json, std::ostream& out, std::ostream& err);
// `which` is a token id, the whole token, or at least the first
// kOperatorTokenPrefixLength characters of one; an ambiguous prefix is refused.
int admin_token_revoke(db::MetaStore& store, const std::string& which, std::ostream& out, std::ostream& err);

// The same, on the store the configuration names (what main() calls).
int admin_token_create(const Config& cfg, const std::string& label);
int admin_token_list(const Config& cfg, bool json);
int admin_token_revoke(const Config& cfg, const std::string& which);

}  // namespace scsipub::app
