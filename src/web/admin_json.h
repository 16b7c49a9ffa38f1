#pragma once
// The operator dashboard's JSON: control::OperatorSnapshot as it is, with
// the field names of src/control/operator_console.h. Strings from
// initiators stay raw text here; web/json_writer.h escapes them as JSON
// strings and replaces invalid UTF-8, so nothing an initiator sends can end
// a string or the document early.
#include <string>
#include <vector>

#include "control/operator_console.h"

namespace scsipub::web {

// {"sessions": [...]}: GET /api/v1/admin/sessions
std::string admin_sessions_json(const std::vector<control::LiveSession>& sessions);
// The whole snapshot: GET /api/v1/admin/snapshot (what the dashboard polls):
// {"taken_at_ms", "sessions", "refused", "limit_hits", "disks", "images",
// "retained", "fleet"}.
std::string snapshot_json(const control::OperatorSnapshot& snapshot);

}  // namespace scsipub::web
