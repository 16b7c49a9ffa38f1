#include "app/account_cli.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "app/meta_store_open.h"
#include "db/tokens.h"

namespace scsipub::app {
namespace {

std::unique_ptr<db::MetaStore> open_or_report(const Config& cfg) {
  auto store = open_meta_store(cfg);
  if (!store.ok()) {
    std::cerr << "scsipub: " << describe_database(cfg) << ": " << store.error().message << "\n";
    return nullptr;
  }
  if (store_was_migrated(**store)) std::cerr << "scsipub: " << describe_database(cfg) << ": " << describe_schema(**store) << "\n";
  return std::move(store).value();
}

std::string rfc3339(db::Timestamp t) { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", t); }

}  // namespace

int account_create(const Config& cfg, const std::string& tier, bool json) {
  if (cfg.tiers.find(tier) == nullptr) {
    std::string known;
    for (const auto& [name, t] : cfg.tiers.all()) known += (known.empty() ? "" : ", ") + name;
    std::cerr << "scsipub: no tier named '" << tier << "' (configured: " << known << ")\n";
    return 2;
  }
  auto store = open_or_report(cfg);
  if (!store) return 1;
  auto id = db::random_hex(6);
  auto token = db::generate_token();
  if (!id.ok() || !token.ok()) {
    std::cerr << "scsipub: no randomness available\n";
    return 1;
  }
  auto hash = db::hash_token(token.value());
  if (!hash.ok()) {
    std::cerr << "scsipub: " << hash.error().message << "\n";
    return 1;
  }
  db::Account account{id.value(), tier, hash.value(),
                      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
  if (auto s = store->create_account(account); !s) {
    std::cerr << "scsipub: creating the account: " << s.error().message << "\n";
    return 1;
  }
  if (json) {
    std::cout << nlohmann::json{{"id", account.id}, {"tier", tier}, {"token", token.value()}}.dump() << "\n";
  } else {
    std::cout << "account " << account.id << " (tier " << tier << ")\n"
              << "API token (shown only now, store it safely):\n"
              << token.value() << "\n";
  }
  return 0;
}

int account_list(const Config& cfg, bool json) {
  auto store = open_or_report(cfg);
  if (!store) return 1;
  auto accounts = store->list_accounts();
  if (!accounts.ok()) {
    std::cerr << "scsipub: " << accounts.error().message << "\n";
    return 1;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : accounts.value()) {
    auto disks = store->list_disks_by_account(a.id);
    size_t n = disks.ok() ? disks.value().size() : 0;
    if (json) {
      out.push_back({{"id", a.id}, {"tier", a.tier}, {"created", rfc3339(a.created)}, {"disks", n}});
    } else {
      std::cout << fmt::format("{}  {:<12} {}  {} disk(s)\n", a.id, a.tier, rfc3339(a.created), n);
    }
  }
  if (json) std::cout << out.dump() << "\n";
  return 0;
}

int account_delete(const Config& cfg, const std::string& id) {
  auto store = open_or_report(cfg);
  if (!store) return 1;
  auto removed = store->delete_account(id);
  if (!removed.ok()) {
    std::cerr << "scsipub: " << removed.error().message << "\n";
    return 1;
  }
  if (!removed.value()) {
    std::cerr << "scsipub: no account " << id << "\n";
    return 1;
  }
  std::cout << "account " << id << " deleted\n";
  return 0;
}

}  // namespace scsipub::app
