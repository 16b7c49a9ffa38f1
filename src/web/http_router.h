#pragma once
// Method + path -> handler. Paths are literal segments and "{name}"
// placeholders that match one non-empty segment; placeholders reach the
// handler in HttpRequest::params. A path that matches with another method
// answers 405 with Allow (RFC 9110 15.5.6); none answers 404.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "web/http_message.h"

namespace scsipub::web {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpRouter {
 public:
  // Registering GET also serves HEAD.
  void add(std::string method, std::string_view pattern, HttpHandler handler);

  struct Match {
    const HttpHandler* handler = nullptr;  // null: see allow
    std::vector<std::string> params;
    std::string allow;  // non-empty when the path exists but not for this method
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{...}" = placeholder
    HttpHandler handler;
  };
  static std::optional<std::vector<std::string>> match_path(const Route& route, std::string_view path);
  std::vector<Route> routes_;
};

}  // namespace scsipub::web
