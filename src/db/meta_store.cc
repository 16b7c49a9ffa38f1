#include "db/meta_store.h"

#include <cstdint>
#include <limits>
#include <set>
#include <utility>

namespace scsipub::db {

Status validate(const Account& account) {
  if (account.id.empty()) return fail("account: empty id");
  if (account.tier.empty()) return fail("account " + account.id + ": empty tier");
  if (account.token_hash.empty()) return fail("account " + account.id + ": empty token hash");
  return ok_status();
}

Status validate(const OperatorToken& token) {
  if (token.id.empty()) return fail("operator token: empty id");
  if (token.token_hash.empty()) return fail("operator token " + token.id + ": empty token hash");
  return ok_status();
}

Status validate(const CatalogImage& image) {
  if (image.name.empty()) return fail("catalog image: empty name");
  const std::string where = "catalog image " + image.name + ": ";
  if (image.title.size() > kMaxCatalogTitle) return fail(where + "title too long");
  if (image.description.size() > kMaxCatalogDescription) return fail(where + "description too long");
  if (image.source.size() > kMaxCatalogSource) return fail(where + "source too long");
  if (image.size_bytes > uint64_t{std::numeric_limits<int64_t>::max()}) return fail(where + "size out of range");
  if (image.presentation != "auto" && image.presentation != "disk" && image.presentation != "dvd") {
    return fail(where + "presentation must be auto, disk or dvd");
  }
  return ok_status();
}

Status validate(const Disk& disk) {
  if (disk.id.empty()) return fail("disk: empty id");
  const std::string where = "disk " + disk.id + ": ";
  if (disk.account_id.empty()) return fail(where + "empty owner account");
  if (disk.luns.empty()) return fail(where + "no LUNs");
  for (const auto& image : disk.luns) {
    if (image.empty()) return fail(where + "LUN with an empty image name");
  }
  if (disk.chap_user.empty()) return fail(where + "empty CHAP user");
  if (disk.chap_secret.empty()) return fail(where + "empty CHAP secret");
  if (disk.mutual_secret && disk.mutual_secret->empty()) {
    return fail(where + "empty mutual CHAP secret (omit it instead)");
  }
  if (disk.write_limit > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return fail(where + "write_limit out of range");
  }
  return ok_status();
}

Status validate(const PrState& state) {
  if (state.holder && *state.holder >= state.registrations.size()) {
    return fail("PR state: holder index " + std::to_string(*state.holder) + " out of range (" +
                std::to_string(state.registrations.size()) + " registrations)");
  }
  return ok_status();
}

}  // namespace scsipub::db
