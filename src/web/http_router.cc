#include "web/http_router.h"

#include <algorithm>

namespace scsipub::web {
namespace {

constexpr size_t kMaxSegments = 32;  // more than any route has; longer paths cannot match

// "/a/b/c" -> {"a", "b", "c"}; "/a/" -> {"a", ""}; nothing for paths not
// starting with '/' or longer than kMaxSegments.
std::optional<std::vector<std::string_view>> split(std::string_view path) {
  if (!path.starts_with('/')) return std::nullopt;
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (out.size() <= kMaxSegments) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
  return std::nullopt;
}

bool is_placeholder(std::string_view s) { return s.size() >= 2 && s.front() == '{' && s.back() == '}'; }

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [&](char a, char b) { return lower(a) == lower(b); })) {
      return v;
    }
  }
  return {};
}

void HttpRouter::add(std::string method, std::string_view pattern, HttpHandler handler) {
  Route r{std::move(method), {}, std::move(handler)};
  for (std::string_view s : split(pattern).value_or(std::vector<std::string_view>{})) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

std::optional<std::vector<std::string>> HttpRouter::match_path(const Route& route, std::string_view path) {
  auto segments = split(path);
  if (!segments || segments->size() != route.segments.size()) return std::nullopt;
  std::vector<std::string> params;
  for (size_t i = 0; i < segments->size(); ++i) {
    std::string_view got = (*segments)[i];
    const std::string& want = route.segments[i];
    if (is_placeholder(want)) {
      if (got.empty()) return std::nullopt;
      params.emplace_back(got);
    } else if (got != want) {
      return std::nullopt;
    }
  }
  return params;
}

HttpRouter::Match HttpRouter::match(std::string_view method, std::string_view path) const {
  const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
  Match m;
  std::vector<std::string> allowed;
  for (const Route& r : routes_) {
    auto params = match_path(r, path);
    if (!params) continue;
    if (r.method == wanted) {
      m.handler = &r.handler;
      m.params = std::move(*params);
      return m;
    }
    allowed.push_back(r.method);
    if (r.method == "GET") allowed.emplace_back("HEAD");
  }
  // A stable order: the order the methods appear in RFC 9110 9.3.
  static constexpr std::string_view kOrder[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
  for (std::string_view known : kOrder) {
    if (std::find(allowed.begin(), allowed.end(), known) == allowed.end()) continue;
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += known;
  }
  return m;
}

}  // namespace scsipub::web
