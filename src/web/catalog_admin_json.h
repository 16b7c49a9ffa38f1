#pragma once
// The operator API's catalog bodies: the add-image request (hostile input,
// parsed strictly: unknown keys, duplicates, wrong types and local paths are
// refused) and the images / jobs answers. Pure, so it is unit-tested and
// fuzzed directly (fuzz/catalog_admin_fuzz.cc).
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/catalog_admin.h"

namespace scsipub::web {

// {"name": "...", "source": "https://...", "sha256"?: "hex64", "title"?: "...",
//  "description"?: "...", "presentation"?: "auto"|"disk"|"dvd", "replace"?: bool}.
// Only http(s) URLs: a local path would let an operator token publish any
// file the server can read.
Result<control::ImageAddRequest, std::string> parse_image_add_request(std::string_view body);

nlohmann::json image_job_json(const control::ImageJob& job);
// {"images": [...], "jobs": [...]}
nlohmann::json catalog_admin_json(const std::vector<control::CatalogEntry>& images,
                                  const std::vector<control::ImageJob>& jobs);

}  // namespace scsipub::web
