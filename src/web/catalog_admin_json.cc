#include "web/catalog_admin_json.h"

#include <algorithm>
#include <set>

#include "control/target_names.h"
#include "db/meta_store.h"
#include "web/api_json.h"

namespace scsipub::web {
namespace {

using nlohmann::json;
using ParseResult = Result<control::ImageAddRequest, std::string>;

Unexpected<std::string> bad(std::string message) { return {std::move(message)}; }

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// URL syntax is the fetcher's business; here only the scheme, the length and
// the absence of bytes that would break a log line or a header.
bool acceptable_url(std::string_view url) {
  if (url.size() > db::kMaxCatalogSource) return false;
  if (!url.starts_with("https://") && !url.starts_with("http://")) return false;
  return std::none_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

struct Field {
  const char* key;
  size_t max_length;
};

ParseResult from_object(const json& doc) {
  control::ImageAddRequest r;
  for (const auto& item : doc.items()) {
    const std::string& key = item.key();
    const json& value = item.value();
    if (key == "replace") {
      if (!value.is_boolean()) return bad("\"replace\" must be true or false");
      r.replace = value.get<bool>();
      continue;
    }
    static constexpr Field kFields[] = {{"name", control::kMaxImageNameLength},
                                        {"source", db::kMaxCatalogSource},
                                        {"sha256", 64},
                                        {"title", db::kMaxCatalogTitle},
                                        {"description", db::kMaxCatalogDescription},
                                        {"presentation", 4}};
    auto f = std::find_if(std::begin(kFields), std::end(kFields), [&](const Field& x) { return key == x.key; });
    if (f == std::end(kFields)) {
      return bad("unknown field in request body (name, source, sha256, title, description, presentation, replace)");
    }
    if (!value.is_string()) return bad(std::string("\"") + f->key + "\" must be a string");
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > f->max_length) return bad(std::string("\"") + f->key + "\" is too long");
    if (key == "name") r.name = text;
    if (key == "source") r.source = text;
    if (key == "sha256") r.sha256 = text;
    if (key == "title") r.title = text;
    if (key == "description") r.description = text;
    if (key == "presentation") r.presentation = text;
  }
  if (!control::valid_image_name(r.name)) {
    return bad("\"name\" must be 1-64 characters of a-z 0-9 . - (no uppercase, no leading . or -, no ..)");
  }
  if (!acceptable_url(r.source)) return bad("\"source\" must be an http:// or https:// URL");
  if (!r.sha256.empty() && (r.sha256.size() != 64 || !is_lower_hex(r.sha256))) {
    return bad("\"sha256\" must be 64 lowercase hex digits");
  }
  if (r.presentation != "auto" && r.presentation != "disk" && r.presentation != "dvd") {
    return bad("\"presentation\" must be auto, disk or dvd");
  }
  return r;
}

}  // namespace

ParseResult parse_image_add_request(std::string_view body) {
  if (body.size() > kMaxRequestBody) return bad("request body is larger than 64 KiB");
  if (body.find('\0') != std::string_view::npos) return bad("request body is not valid JSON");
  // nlohmann keeps the last of duplicate keys; a request naming "source"
  // twice is ambiguous, so top-level keys are counted while parsing.
  std::set<std::string> seen;
  bool duplicate = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      duplicate = duplicate || !seen.insert(parsed.get<std::string>()).second;
    }
    return true;
  };
  json doc = json::parse(body.begin(), body.end(), cb, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return bad("request body is not valid JSON");
  if (!doc.is_object()) return bad("request body must be a JSON object");
  if (duplicate) return bad("a field is given more than once");
  return from_object(doc);
}

json image_job_json(const control::ImageJob& j) {
  json out = {{"id", j.id},         {"name", j.name},   {"source", j.source},
              {"state", j.state},   {"phase", j.phase}, {"done_bytes", j.done},
              {"total_bytes", j.total}, {"started_at_ms", j.started_at_ms}};
  out["finished_at_ms"] = j.finished_at_ms == 0 ? json(nullptr) : json(j.finished_at_ms);
  out["error"] = j.error.empty() ? json(nullptr) : json(j.error);
  return out;
}

json catalog_admin_json(const std::vector<control::CatalogEntry>& images, const std::vector<control::ImageJob>& jobs) {
  json list = json::array();
  for (const auto& e : images) {
    list.push_back({{"name", e.name},
                    {"target", control::image_target(e.name)},
                    {"size_bytes", e.size_bytes},
                    {"presentation", e.presentation == control::Presentation::dvd ? "dvd" : "disk"},
                    {"title", e.title},
                    {"description", e.description},
                    {"sha256", e.sha256},
                    {"source_format", e.source_format},
                    {"added_at", e.added_at}});
  }
  json job_list = json::array();
  for (const auto& j : jobs) job_list.push_back(image_job_json(j));
  return {{"images", std::move(list)}, {"jobs", std::move(job_list)}};
}

}  // namespace scsipub::web
