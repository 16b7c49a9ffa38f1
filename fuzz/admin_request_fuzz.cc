// The operator dashboard's parsers of hostile request text: the Cookie
// header, application/x-www-form-urlencoded bodies and the Authorization
// header; and the feed's JSON string writer, which must make valid JSON of
// any bytes an initiator put in its InitiatorName.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "web/admin_auth.h"
#include "web/http_message.h"
#include "web/json_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace scsipub::web;

  if (auto v = cookie_value(in, kAdminCookie)) {
    // A value is a slice of the header, never past it.
    if (v->data() < in.data() || v->data() + v->size() > in.data() + in.size()) std::abort();
  }
  if (auto v = form_value(in, "token")) {
    if (v->size() > in.size()) std::abort();  // decoding only shrinks
  }
  (void)form_value(in, kCsrfField);

  HttpRequest req;
  req.headers.emplace_back("Authorization", std::string(in));
  if (auto t = parse_bearer(req)) {
    if (t->empty() || t->size() > in.size()) std::abort();
  }

  std::string json;
  append_json_string(json, in);
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_string()) std::abort();
  return 0;
}
