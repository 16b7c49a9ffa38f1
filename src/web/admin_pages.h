#pragma once
// The operator dashboard's HTML, rendered on the server so that the first
// view is complete without JavaScript; /static/admin.js then refreshes the
// same tables from /api/v1/admin/snapshot. Every value goes through
// html_escape(); no inline script or style (the CSP below forbids both).
//
// Selectors the browser tests rely on (tests/browser; keep them stable):
// form#login with input[name=token]; table#sessions with one
// tr[data-session-id] per session, its InitiatorName in td.initiator and a
// button.end-session; sections #discovery, #disks, #catalog-admin, #limits,
// #refused.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/operator_console.h"
#include "web/page_layout.h"

namespace scsipub::web {

// web/page_layout.h's security headers (the CSP every HTML page carries),
// plus Cache-Control: no-store.
std::vector<std::pair<std::string, std::string>> admin_page_headers();

// `error` (may be empty) is shown above the form.
std::string render_login_page(std::string_view error);
// `csrf` goes into <meta name="csrf-token"> and every form's hidden field.
std::string render_dashboard(const control::OperatorSnapshot& snapshot, std::string_view csrf);
// The no-JavaScript confirmation step before a disk is deleted.
std::string render_confirm_delete(std::string_view disk_id, std::string_view csrf);
// A short page for errors and results of the no-JavaScript forms.
std::string render_message_page(std::string_view title, std::string_view message);

// Shared with admin.js so both render the same text.
std::string format_bytes(uint64_t bytes);           // "512 B", "1.5 KiB", "64.0 MiB"
std::string format_time_ms(int64_t unix_ms);        // "2026-12-07 00:45:01 UTC"

}  // namespace scsipub::web
