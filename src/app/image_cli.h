#pragma once
// `scsipub image add|list|remove`: the catalog from the command line. `add`
// runs the ingest (src/ingest), writes the MetaStore row, then renames the
// finished file into the images directory (a running server sees the row when
// the rename wakes its catalog); `remove` deletes the row, then the file
// (running sessions keep their open descriptor).
#include <atomic>
#include <iosfwd>
#include <optional>
#include <string>

#include "app/config.h"
#include "control/catalog_admin.h"
#include "db/meta_store.h"

namespace scsipub::app {

// The operator API's request: name, source, sha256 (empty: not checked),
// title, description, presentation, replace.
using ImageAddOptions = control::ImageAddRequest;

// Exit codes: 0 done, 1 refused or failed (one line on `err` says why), 2 bad arguments.
int image_add(db::MetaStore& store, const Config& cfg, const ImageAddOptions& options, std::ostream& out,
              std::ostream& err, bool terminal, const std::atomic<bool>* cancel);
int image_list(db::MetaStore& store, const Config& cfg, bool json, std::ostream& out, std::ostream& err);
int image_remove(db::MetaStore& store, const Config& cfg, const std::string& name, std::ostream& out,
                 std::ostream& err);

// The same on the store the configuration names (what main() calls); `add`
// turns SIGINT/SIGTERM into a cancel so its temporary files are removed.
int image_add(const Config& cfg, const ImageAddOptions& options);
int image_list(const Config& cfg, bool json);
int image_remove(const Config& cfg, const std::string& name);

}  // namespace scsipub::app
