// SqliteStore: catalog image metadata (migration 4).
#include "db/sqlite_store.h"
#include "db/sqlite_store_impl.h"

namespace scsipub::db {

namespace {

#define SCSIPUB_CATALOG_COLUMNS \
  "name, title, description, size_bytes, sha256, source_format, source, presentation, added_at"

CatalogImage read_catalog_image(const Statement& s) {
  return CatalogImage{s.text(0), s.text(1), s.text(2), static_cast<uint64_t>(s.int64(3)), s.text(4),
                      s.text(5), s.text(6),  s.text(7), from_db_time(s.int64(8))};
}

}  // namespace

Status SqliteStore::put_catalog_image(const CatalogImage& image) {
  SCSIPUB_DB_CHECK(validate(image), std::string("put catalog image"));
  std::lock_guard lock(impl_->mu);
  const std::string what = "put catalog image " + q(image.name);
  SCSIPUB_DB_ASSIGN(s_ptr,
                    impl_->statement("INSERT OR REPLACE INTO catalog_images (" SCSIPUB_CATALOG_COLUMNS
                                     ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, image.name).bind(2, image.title).bind(3, image.description);
  s->bind(4, static_cast<int64_t>(image.size_bytes)).bind(5, image.sha256).bind(6, image.source_format);
  s->bind(7, image.source).bind(8, image.presentation).bind(9, to_db(image.added_at));
  SCSIPUB_DB_CHECK(s->run(), what);
  return ok_status();
}

Result<std::optional<CatalogImage>> SqliteStore::get_catalog_image(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  const std::string what = "get catalog image " + q(name);
  SCSIPUB_DB_ASSIGN(s_ptr,
                    impl_->statement("SELECT " SCSIPUB_CATALOG_COLUMNS " FROM catalog_images WHERE name = ?"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, name);
  SCSIPUB_DB_ASSIGN(row, s->step(), what);
  if (!row) return std::optional<CatalogImage>();
  return std::optional<CatalogImage>(read_catalog_image(*s));
}

Result<std::vector<CatalogImage>> SqliteStore::list_catalog_images() {
  std::lock_guard lock(impl_->mu);
  const std::string what = "list catalog images";
  SCSIPUB_DB_ASSIGN(s_ptr,
                    impl_->statement("SELECT " SCSIPUB_CATALOG_COLUMNS " FROM catalog_images ORDER BY name"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  std::vector<CatalogImage> out;
  for (;;) {
    SCSIPUB_DB_ASSIGN(row, s->step(), what);
    if (!row) break;
    out.push_back(read_catalog_image(*s));
  }
  return out;
}

Result<bool> SqliteStore::delete_catalog_image(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  const std::string what = "delete catalog image " + q(name);
  SCSIPUB_DB_ASSIGN(s_ptr, impl_->statement("DELETE FROM catalog_images WHERE name = ?"), what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, name);
  SCSIPUB_DB_CHECK(s->run(), what);
  return impl_->conn.changes() > 0;
}

}  // namespace scsipub::db
