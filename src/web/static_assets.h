#pragma once
// The public pages' stylesheet and script, compiled in (no files to deploy,
// nothing from another origin). site.js only wires the copy buttons; every
// page reads and works without it.
#include <string>
#include <string_view>

namespace scsipub::web {

std::string_view site_css();
std::string_view site_js();

// A short digest of both, put into their URLs (?v=...) so browsers may keep
// them long and still fetch a changed one at once.
std::string static_assets_version();

}  // namespace scsipub::web
