// PostgresStore: catalog image metadata (migration 4).
#include "db/postgres_store.h"
#include "db/postgres_store_impl.h"

namespace scsipub::db {

namespace {

#define SCSIPUB_CATALOG_COLUMNS \
  "name, title, description, size_bytes, sha256, source_format, source, presentation, added_at"

Result<CatalogImage> read_catalog_image(const Res& r, int row) {
  auto size = r.int64(row, 3);
  if (!size) return fail(size.error().message);
  auto added = r.int64(row, 8);
  if (!added) return fail(added.error().message);
  if (*size < 0) return fail("catalog image " + r.text(row, 0) + ": negative size");
  return CatalogImage{r.text(row, 0), r.text(row, 1), r.text(row, 2), static_cast<uint64_t>(*size),
                      r.text(row, 4), r.text(row, 5), r.text(row, 6), r.text(row, 7),
                      from_db_time(*added)};
}

}  // namespace

Status PostgresStore::put_catalog_image(const CatalogImage& image) {
  SCSIPUB_DB_CHECK(validate(image), std::string("put catalog image"));
  std::lock_guard lock(impl_->mu);
  // An upsert of the same values twice is harmless: safe to rerun.
  return impl_->run(true, [&]() -> Status {
    const std::string what = "put catalog image " + q(image.name);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_CHECK(impl_->conn.exec("INSERT INTO catalog_images (" SCSIPUB_CATALOG_COLUMNS
                                      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                                      "ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, "
                                      "description = EXCLUDED.description, size_bytes = EXCLUDED.size_bytes, "
                                      "sha256 = EXCLUDED.sha256, source_format = EXCLUDED.source_format, "
                                      "source = EXCLUDED.source, presentation = EXCLUDED.presentation, "
                                      "added_at = EXCLUDED.added_at",
                                      {image.name, image.title, image.description,
                                       static_cast<int64_t>(image.size_bytes), image.sha256, image.source_format,
                                       image.source, image.presentation, to_db(image.added_at)}),
                     what);
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return ok_status();
  });
}

Result<std::optional<CatalogImage>> PostgresStore::get_catalog_image(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<std::optional<CatalogImage>> {
    const std::string what = "get catalog image " + q(name);
    SCSIPUB_DB_ASSIGN(
        r, impl_->conn.exec("SELECT " SCSIPUB_CATALOG_COLUMNS " FROM catalog_images WHERE name = $1", {name}), what);
    if (r.rows() == 0) return std::optional<CatalogImage>();
    SCSIPUB_DB_ASSIGN(image, read_catalog_image(r, 0), what);
    return std::optional<CatalogImage>(std::move(image));
  });
}

Result<std::vector<CatalogImage>> PostgresStore::list_catalog_images() {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<std::vector<CatalogImage>> {
    const std::string what = "list catalog images";
    SCSIPUB_DB_ASSIGN(r, impl_->conn.exec("SELECT " SCSIPUB_CATALOG_COLUMNS " FROM catalog_images ORDER BY name"),
                      what);
    std::vector<CatalogImage> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      SCSIPUB_DB_ASSIGN(image, read_catalog_image(r, i), what);
      out.push_back(std::move(image));
    }
    return out;
  });
}

Result<bool> PostgresStore::delete_catalog_image(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<bool> {
    const std::string what = "delete catalog image " + q(name);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_ASSIGN(r, impl_->conn.exec("DELETE FROM catalog_images WHERE name = $1", {name}), what);
    const bool deleted = r.affected() > 0;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  });
}

}  // namespace scsipub::db
