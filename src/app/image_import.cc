#include "app/image_import.h"

#include <fmt/format.h>

#include "control/catalog.h"
#include "control/image_usage.h"

namespace scsipub::app {
namespace {

// Titles and descriptions end up on terminals and web pages: no control
// characters (a newline is allowed in a description).
bool printable(const std::string& text, bool allow_newline) {
  for (unsigned char c : text) {
    if (c == '\n' && allow_newline) continue;
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Status validate_add_request(const control::ImageAddRequest& r) {
  if (!control::valid_image_name(r.name)) {
    return fail("invalid image name '" + r.name + "' (1..64 of a-z 0-9 . -, starting with a letter or digit)");
  }
  if (r.title.size() > db::kMaxCatalogTitle || !printable(r.title, false)) {
    return fail(fmt::format("the title must be at most {} printable characters", db::kMaxCatalogTitle));
  }
  if (r.description.size() > db::kMaxCatalogDescription || !printable(r.description, true)) {
    return fail(fmt::format("the description must be at most {} printable characters", db::kMaxCatalogDescription));
  }
  if (r.presentation != "auto" && r.presentation != "disk" && r.presentation != "dvd") {
    return fail("the presentation must be auto, disk or dvd");
  }
  return ok_status();
}

Result<ingest::IngestResult> import_image(db::MetaStore& store, const std::filesystem::path& images_dir,
                                          const ingest::IngestLimits& limits,
                                          const control::ImageAddRequest& r,
                                          std::function<void(const ingest::IngestProgress&)> progress,
                                          const std::atomic<bool>* cancel, LimitEvents* limit_events) {
  if (auto s = validate_add_request(r); !s) return fail(s.error().message);
  if (r.replace) {
    if (auto s = control::image_may_change(store, r.name); !s) return fail(s.error().message);
  }
  auto previous = store.get_catalog_image(r.name);
  if (!previous.ok()) return fail("reading the catalog: " + previous.error().message);
  std::error_code ec;
  std::filesystem::create_directories(images_dir, ec);

  ingest::IngestRequest request;
  request.name = r.name;
  request.source = r.source;
  if (!r.sha256.empty()) request.sha256 = r.sha256;
  request.images_dir = images_dir;
  request.limits = limits;
  request.replace = r.replace;
  request.progress = std::move(progress);
  request.cancel = cancel;
  request.limit_events = limit_events;
  auto prepared = ingest::prepare_image(request);
  if (!prepared.ok()) return fail(prepared.error().message);
  const ingest::IngestResult& result = prepared->result();
  if (result.source.size() > db::kMaxCatalogSource) {
    return fail(fmt::format("the source is longer than {} characters", db::kMaxCatalogSource));
  }
  db::CatalogImage row{r.name,          r.title,       r.description,  result.size_bytes,
                       result.sha256,   result.source_format, result.source, r.presentation,
                       std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
  // The row first: a running server reads it when the rename shows it the file.
  if (auto s = store.put_catalog_image(row); !s) return fail("recording it in the catalog: " + s.error().message);
  if (auto s = prepared->commit(); !s) {
    // Undo the row (or put back the one it replaced): no row without its file.
    Status undo = ok_status();
    if (previous->has_value()) {
      undo = store.put_catalog_image(**previous);
    } else if (auto d = store.delete_catalog_image(r.name); !d.ok()) {
      undo = fail(d.error().message);
    }
    return fail(s.error().message + (undo.ok() ? "" : " (and the catalog row could not be undone)"));
  }
  return result;
}

control::ImageImporter make_image_importer(db::MetaStore& store, std::filesystem::path images_dir,
                                           ingest::IngestLimits limits, LimitEvents* limit_events) {
  return [&store, images_dir = std::move(images_dir), limits, limit_events](
             const control::ImageAddRequest& request, const control::ImportProgressFn& progress,
             const std::atomic<bool>& cancel) -> Status {
    auto forward = [&progress](const ingest::IngestProgress& p) {
      if (progress) progress(control::ImportProgress{p.phase, p.done, p.total});
    };
    auto imported = import_image(store, images_dir, limits, request, forward, &cancel, limit_events);
    if (!imported.ok()) return fail(imported.error().message);
    return ok_status();
  };
}

}  // namespace scsipub::app
