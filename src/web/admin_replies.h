#pragma once
// JSON answers shared by the operator API's route files.
#include <nlohmann/json.hpp>

#include <string>

#include "web/admin_auth.h"
#include "web/http_message.h"

namespace scsipub::web {

// application/json, no-store, nosniff.
HttpResponse json_text_reply(int status, std::string body);
HttpResponse json_reply(int status, const nlohmann::json& body);
// 401 with the WWW-Authenticate RFC 6750 asks for.
HttpResponse unauthorized_json(const AdminAuth::Caller& caller);
// 403 for a state-changing request without the session's CSRF token.
HttpResponse csrf_refused_json();
// 500 that names the request id (the log has the details).
HttpResponse internal_error_json(const HttpRequest& req);

}  // namespace scsipub::web
