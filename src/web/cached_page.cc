#include "web/cached_page.h"

#include <fmt/format.h>

#include <cstdint>

#include "web/gzip.h"

namespace scsipub::web {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The weight of one Accept-Encoding member's parameters: 0 only for a
// q of zero ("0", "0.", "0.0", ...; RFC 9110 12.4.2), anything else counts
// as acceptable.
bool weight_is_zero(std::string_view params) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
    std::string_view q = trim(param.substr(2));
    if (q.empty() || q[0] != '0') return false;
    for (char c : q.substr(1)) {
      if (c != '.' && c != '0') return false;
    }
    return true;
  }
  return false;
}

// Calls `each(item)` for every comma-separated, trimmed, non-empty item;
// stops early when it returns true. Bounded by the header's length.
template <typename Each>
bool any_item(std::string_view list, Each each) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (!item.empty() && each(item)) return true;
  }
  return false;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  bool listed = false, accepted = false, star = false;
  any_item(accept_encoding, [&](std::string_view item) {
    size_t semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    std::string_view params = semi == std::string_view::npos ? std::string_view() : item.substr(semi + 1);
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      listed = true;
      accepted = accepted || !weight_is_zero(params);
    } else if (coding == "*") {
      star = !weight_is_zero(params);
    }
    return false;
  });
  return listed ? accepted : star;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  std::string_view want = etag.starts_with("W/") ? etag.substr(2) : etag;
  return any_item(if_none_match, [&](std::string_view tag) {
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag == want;
  });
}

std::string etag_for(std::string_view body) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
  for (unsigned char c : body) {
    h ^= c;
    h *= 0x100000001b3ull;  // FNV-1a 64 prime
  }
  return fmt::format("\"{:016x}\"", h);
}

CachedPage::Variant CachedPage::make_variant(std::string body, std::string etag, const CachedPageOptions& options,
                                             bool gzipped) {
  Variant v;
  v.body = std::make_shared<const std::string>(std::move(body));
  v.etag = std::move(etag);
  HeaderList common = {{"ETag", v.etag}, {"Cache-Control", options.cache_control}, {"Vary", "Accept-Encoding"}};
  v.not_modified = std::make_shared<const HeaderList>(common);
  HeaderList full = std::move(common);
  full.emplace_back("Content-Type", options.content_type);
  if (gzipped) full.emplace_back("Content-Encoding", "gzip");
  full.insert(full.end(), options.extra_headers.begin(), options.extra_headers.end());
  v.headers = std::make_shared<const HeaderList>(std::move(full));
  return v;
}

CachedPage::CachedPage(std::string body, const CachedPageOptions& options) {
  const std::string etag = etag_for(body);
  auto packed = gzip_compress(body);
  if (packed && packed->size() < body.size()) {
    // The same digest with a suffix: a distinct strong tag per coding.
    gzip_ = make_variant(std::move(*packed), fmt::format("{}-gz\"", etag.substr(0, etag.size() - 1)), options, true);
  }
  identity_ = make_variant(std::move(body), etag, options, false);
}

HttpResponse CachedPage::respond(const HttpRequest& request) const {
  const Variant& v = (gzip_.body && accepts_gzip(request.header("Accept-Encoding"))) ? gzip_ : identity_;
  HttpResponse r;
  std::string_view if_none_match = request.header("If-None-Match");
  if (!if_none_match.empty() && etag_matches(if_none_match, v.etag)) {
    r.status = 304;
    r.shared_headers = v.not_modified;
    return r;
  }
  r.status = 200;
  r.shared_body = v.body;
  r.shared_headers = v.headers;
  return r;
}

}  // namespace scsipub::web
