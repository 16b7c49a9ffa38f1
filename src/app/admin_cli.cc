#include "app/admin_cli.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "app/meta_store_open.h"
#include "db/tokens.h"

namespace scsipub::app {
namespace {

constexpr size_t kMaxLabelLength = 200;

std::string rfc3339(db::Timestamp t) { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", t); }

// Labels are printed to terminals: no control characters.
bool printable_label(const std::string& label) {
  if (label.size() > kMaxLabelLength) return false;
  for (unsigned char c : label) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

int admin_token_create(db::MetaStore& store, const std::string& label, std::ostream& out, std::ostream& err) {
  if (!printable_label(label)) {
    err << "scsipub: --label must be at most " << kMaxLabelLength << " printable characters\n";
    return 2;
  }
  auto id = db::random_hex(6);
  auto token = db::generate_token();
  if (!id.ok() || !token.ok()) {
    err << "scsipub: no randomness available\n";
    return 1;
  }
  auto hash = db::hash_token(*token);
  if (!hash.ok()) {
    err << "scsipub: " << hash.error().message << "\n";
    return 1;
  }
  db::OperatorToken record{*id, *hash, token->substr(0, db::kOperatorTokenPrefixLength), label,
                           std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
  if (auto s = store.create_operator_token(record); !s) {
    err << "scsipub: creating the operator token: " << s.error().message << "\n";
    return 1;
  }
  err << "operator token " << record.id << " created; it is shown only now. Use it as "
      << "'Authorization: Bearer <token>' or on the /admin login form.\n";
  out << *token << "\n";
  return 0;
}

int admin_token_list(db::MetaStore& store, bool json, std::ostream& out, std::ostream& err) {
  auto tokens = store.list_operator_tokens();
  if (!tokens.ok()) {
    err << "scsipub: " << tokens.error().message << "\n";
    return 1;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& t : *tokens) {
    if (json) {
      list.push_back({{"id", t.id}, {"prefix", t.prefix}, {"label", t.label}, {"created", rfc3339(t.created)}});
    } else {
      out << fmt::format("{}  {}…  {}  {}\n", t.id, t.prefix, rfc3339(t.created), t.label);
    }
  }
  if (json) out << list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int admin_token_revoke(db::MetaStore& store, const std::string& which, std::ostream& out, std::ostream& err) {
  auto tokens = store.list_operator_tokens();
  if (!tokens.ok()) {
    err << "scsipub: " << tokens.error().message << "\n";
    return 1;
  }
  auto hash = db::hash_token(which);
  std::vector<const db::OperatorToken*> matches;
  for (const auto& t : *tokens) {
    const bool by_id = t.id == which;
    const bool whole = hash.ok() && t.token_hash == *hash;
    const bool by_prefix = which.size() >= db::kOperatorTokenPrefixLength &&
                           which.compare(0, db::kOperatorTokenPrefixLength, t.prefix) == 0;
    if (by_id || whole) {
      matches = {&t};
      break;
    }
    if (by_prefix) matches.push_back(&t);
  }
  if (matches.empty()) {
    err << "scsipub: no operator token with id or prefix '" << which << "' (at least "
        << db::kOperatorTokenPrefixLength << " characters of a token)\n";
    return 1;
  }
  if (matches.size() > 1) {
    err << "scsipub: '" << which << "' matches " << matches.size() << " tokens; revoke by id\n";
    return 1;
  }
  const std::string id = matches.front()->id;
  auto removed = store.revoke_operator_token(id);
  if (!removed.ok()) {
    err << "scsipub: " << removed.error().message << "\n";
    return 1;
  }
  if (!*removed) {
    err << "scsipub: operator token " << id << " was revoked meanwhile\n";
    return 1;
  }
  out << "operator token " << id << " revoked\n";
  return 0;
}

int admin_token_create(const Config& cfg, const std::string& label) {
  return with_meta_store(cfg, [&](db::MetaStore& s) { return admin_token_create(s, label, std::cout, std::cerr); });
}
int admin_token_list(const Config& cfg, bool json) {
  return with_meta_store(cfg, [&](db::MetaStore& s) { return admin_token_list(s, json, std::cout, std::cerr); });
}
int admin_token_revoke(const Config& cfg, const std::string& which) {
  return with_meta_store(cfg, [&](db::MetaStore& s) { return admin_token_revoke(s, which, std::cout, std::cerr); });
}

}  // namespace scsipub::app
