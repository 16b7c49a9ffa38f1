#pragma once
// The operator dashboard's JSON: control::OperatorSnapshot as it is, with
// the field names of src/control/operator_console.h. Strings from
// initiators stay raw text here; nlohmann::json escapes them as JSON
// strings and web::dump() replaces invalid UTF-8, so nothing an initiator
// sends can end a string or the document early.
#include <nlohmann/json.hpp>
#include <vector>

#include "control/operator_console.h"

namespace scsipub::web {

nlohmann::json to_json(const control::LiveSession& session);
// {"sessions": [...]}: GET /api/v1/admin/sessions
nlohmann::json admin_sessions_json(const std::vector<control::LiveSession>& sessions);
// The whole snapshot: GET /api/v1/admin/snapshot (what the dashboard polls).
nlohmann::json snapshot_json(const control::OperatorSnapshot& snapshot);

}  // namespace scsipub::web
