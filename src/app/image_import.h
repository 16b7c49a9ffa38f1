#pragma once
// One catalog import, start to finish: ingest (src/ingest) to a finished
// temporary file, the MetaStore row, then the rename into the images
// directory (a running server reads the row when the rename shows it the
// file); if the rename fails the row is undone. Shared by `scsipub image add`
// and the operator API's import jobs (control::ImageImporter).
#include <atomic>
#include <filesystem>
#include <functional>

#include "common/limit_events.h"
#include "common/result.h"
#include "control/catalog_admin.h"
#include "control/catalog_jobs.h"
#include "db/meta_store.h"
#include "ingest/image_ingest.h"

namespace scsipub::app {

// Name, title, description and presentation as the catalog accepts them
// (the source is judged by the ingest).
Status validate_add_request(const control::ImageAddRequest& request);

// Refuses what validate_add_request refuses, a replace of an image a
// provisioned disk builds on, and everything the ingest refuses; leaves
// nothing behind on any error.
Result<ingest::IngestResult> import_image(db::MetaStore& store, const std::filesystem::path& images_dir,
                                          const ingest::IngestLimits& limits,
                                          const control::ImageAddRequest& request,
                                          std::function<void(const ingest::IngestProgress&)> progress,
                                          const std::atomic<bool>* cancel, LimitEvents* limit_events);

// import_image in the shape the operator API's jobs take (control::CatalogJobs);
// `store` and `limit_events` must outlive the importer.
control::ImageImporter make_image_importer(db::MetaStore& store, std::filesystem::path images_dir,
                                           ingest::IngestLimits limits, LimitEvents* limit_events);

}  // namespace scsipub::app
