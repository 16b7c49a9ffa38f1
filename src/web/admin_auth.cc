#include "web/admin_auth.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "control/operator_console.h"
#include "db/tokens.h"

namespace scsipub::web {
namespace {

constexpr size_t kMaxTokenLength = 512;  // longer is not a token we issued
constexpr size_t kMaxCookies = 64;       // pairs looked at in one Cookie header
constexpr size_t kMaxFormFields = 64;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Our session ids: db::kTokenBytes random bytes as lowercase hex. Anything
// else is refused before it is hashed or looked up.
bool plausible_session_id(std::string_view id) {
  if (id.size() != db::kTokenBytes * 2) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (s.size() - i < 3) return std::nullopt;  // "%XY" needs two more characters
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

bool state_changing(std::string_view method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  // Through a volatile so the compiler cannot stop at the first difference.
  volatile unsigned char result = diff;
  return result == 0;
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  for (size_t n = 0; n < kMaxCookies && !header.empty(); ++n) {
    size_t semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::nullopt;
}

std::optional<std::string> form_value(std::string_view body, std::string_view name) {
  for (size_t n = 0; n < kMaxFormFields && !body.empty(); ++n) {
    size_t amp = body.find('&');
    std::string_view field = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    size_t eq = field.find('=');
    auto key = form_decode(field.substr(0, eq));
    if (!key || *key != name) continue;
    return form_decode(eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1));
  }
  return std::nullopt;
}

std::optional<std::string> parse_bearer(const HttpRequest& req) {
  std::string_view header = req.header("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || !iequal(header.substr(0, kScheme.size()), kScheme)) return std::nullopt;
  std::string_view token = trim(header.substr(kScheme.size()));
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  return std::string(token);
}

AdminAuth::AdminAuth(control::OperatorConsole& console, AdminAuthConfig config, LimitEvents* limit_events)
    : console_(console), config_(config), limit_events_(limit_events) {}

bool AdminAuth::https(const HttpRequest& req) const {
  return config_.trust_forwarded_proto && iequal(trim(req.header("X-Forwarded-Proto")), "https");
}

AdminAuth::Caller AdminAuth::authenticate(const HttpRequest& req, Clock::time_point now) {
  Caller caller;
  // An Authorization header decides alone: a wrong token is never rescued
  // by a cookie that happens to ride along.
  if (!req.header("Authorization").empty()) {
    auto token = parse_bearer(req);
    if (token && console_.authenticate_operator(*token)) {
      caller.via = Via::bearer;
    } else {
      caller.bad_bearer = true;
    }
    return caller;
  }
  return from_cookie(req, now);
}

AdminAuth::Caller AdminAuth::from_cookie(const HttpRequest& req, Clock::time_point now) {
  Caller caller;
  auto id = cookie_value(req.header("Cookie"), kAdminCookie);
  if (!id || !plausible_session_id(*id)) return caller;
  auto key = db::hash_token(*id);
  if (!key) return caller;
  std::string token_to_check;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(*key);
    if (it == sessions_.end()) return caller;
    if (now >= it->second.expires) {
      sessions_.erase(it);
      return caller;
    }
    if (now - it->second.checked >= config_.recheck_interval) {
      token_to_check = it->second.operator_token;
      it->second.checked = now;  // one request re-checks; the others go on meanwhile
    }
    caller.csrf = it->second.csrf;
  }
  // Outside the lock: the console may ask the database.
  if (!token_to_check.empty() && !console_.authenticate_operator(token_to_check)) {
    std::lock_guard lock(mu_);
    sessions_.erase(*key);
    caller.csrf.clear();
    return caller;
  }
  caller.via = Via::cookie;
  caller.session_key = std::move(*key);
  return caller;
}

bool AdminAuth::same_origin(const HttpRequest& req) const {
  // Fetch metadata (sent by current browsers) names cross-site requests outright.
  std::string_view site = trim(req.header("Sec-Fetch-Site"));
  const bool browser_says_same = iequal(site, "same-origin");
  if (!site.empty() && !browser_says_same && !iequal(site, "none")) return false;
  std::string_view origin = trim(req.header("Origin"));
  if (origin.empty()) return true;  // older browsers and non-browser clients
  // Our pages send Referrer-Policy: no-referrer, under which browsers send
  // "Origin: null" even on same-origin POSTs (Fetch standard, "serializing a
  // request origin"); then only Sec-Fetch-Site can vouch for the request.
  if (origin == "null") return browser_says_same;
  std::string_view host = trim(req.header("Host"));
  if (host.empty()) return false;
  const std::string_view scheme = https(req) ? "https://" : "http://";
  return origin.size() == scheme.size() + host.size() && iequal(origin.substr(0, scheme.size()), scheme) &&
         iequal(origin.substr(scheme.size()), host);
}

bool AdminAuth::may_change_state(const HttpRequest& req, const Caller& caller,
                                 std::optional<std::string_view> form_token) const {
  if (caller.via == Via::bearer) return true;
  if (caller.via != Via::cookie) return false;
  if (!state_changing(req.method)) return true;
  if (!same_origin(req)) return false;
  std::string_view sent = req.header(kCsrfHeader);
  if (sent.empty() && form_token) sent = *form_token;
  return !sent.empty() && !caller.csrf.empty() && constant_time_equal(sent, caller.csrf);
}

std::string AdminAuth::cookie(const HttpRequest& req, std::string_view value, std::chrono::seconds max_age) const {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kAdminCookie, value,
                     max_age.count(), https(req) ? "; Secure" : "");
}

std::optional<std::string> AdminAuth::login(const HttpRequest& req, std::string_view token, Clock::time_point now) {
  if (token.empty() || token.size() > kMaxTokenLength || !console_.authenticate_operator(token)) return std::nullopt;
  auto id = db::random_hex(db::kTokenBytes);
  auto csrf = db::random_hex(db::kTokenBytes);
  if (!id || !csrf) return std::nullopt;
  auto key = db::hash_token(*id);
  if (!key) return std::nullopt;
  {
    std::lock_guard lock(mu_);
    std::erase_if(sessions_, [&](const auto& entry) { return now >= entry.second.expires; });
    // Full: the oldest login goes (the operator holding it logs in again);
    // refusing instead would let a looping script lock the operator out.
    while (!sessions_.empty() && sessions_.size() >= std::max<size_t>(config_.max_sessions, 1)) {
      auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
        return a.second.created < b.second.created;
      });
      sessions_.erase(oldest);
      count_limit(limit_events_, Limit::admin_sessions, req.peer, "oldest dashboard login logged out");
    }
    sessions_[*key] = Session{*csrf, std::string(token), now, now + config_.session_ttl, now};
  }
  return cookie(req, *id, config_.session_ttl);
}

std::string AdminAuth::logout(const HttpRequest& req, const Caller& caller) {
  if (caller.via == Via::cookie) {
    std::lock_guard lock(mu_);
    sessions_.erase(caller.session_key);
  }
  return cookie(req, "", std::chrono::seconds(0));
}

size_t AdminAuth::live_sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace scsipub::web
