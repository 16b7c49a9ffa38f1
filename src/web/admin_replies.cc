#include "web/admin_replies.h"

#include <utility>

#include "web/api_json.h"

namespace scsipub::web {

HttpResponse json_text_reply(int status, std::string body) {
  HttpResponse r{status, "application/json", std::move(body), {}};
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

HttpResponse json_reply(int status, const nlohmann::json& body) { return json_text_reply(status, dump(body)); }

HttpResponse unauthorized_json(const AdminAuth::Caller& caller) {
  HttpResponse r = json_reply(401, error_json("an operator token (Authorization: Bearer) or a dashboard login is required"));
  // RFC 6750 3: a bad token is told apart from a missing one.
  r.headers.emplace_back("WWW-Authenticate", caller.bad_bearer ? "Bearer error=\"invalid_token\"" : "Bearer");
  return r;
}

HttpResponse csrf_refused_json() {
  return json_reply(403, error_json("missing or wrong CSRF token, or a cross-origin request"));
}

HttpResponse internal_error_json(const HttpRequest& req) {
  return json_reply(500, {{"error", "internal error"}, {"request_id", req.request_id}});
}

}  // namespace scsipub::web
