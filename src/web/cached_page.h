#pragma once
// One representation served many times (the landing page, the API
// documentation, static assets): compressed once, answered without copying,
// with validators so a browser that has it already gets 304.
//
//   - gzip (RFC 9110 8.4.1.3) when the client accepts it and it is smaller;
//     Vary: Accept-Encoding either way (RFC 9110 12.5.5) so caches keep the
//     variants apart;
//   - a strong ETag per variant (RFC 9110 8.8.3: different content codings
//     are different representations), If-None-Match -> 304 (RFC 9110 13.1.2,
//     15.4.5: the 304 carries ETag, Cache-Control and Vary again).
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "web/http_message.h"

namespace scsipub::web {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct CachedPageOptions {
  std::string content_type;   // e.g. "text/html; charset=utf-8"
  std::string cache_control;  // e.g. "no-cache" or "public, max-age=3600"
  HeaderList extra_headers;   // e.g. the security headers of HTML pages
};

class CachedPage {
 public:
  CachedPage(std::string body, const CachedPageOptions& options);

  // 200 with the variant the request accepts, or 304 when its
  // If-None-Match names that variant.
  HttpResponse respond(const HttpRequest& request) const;

  const std::string& body() const { return *identity_.body; }
  const std::string& etag() const { return identity_.etag; }
  bool has_gzip() const { return gzip_.body != nullptr; }

 private:
  struct Variant {
    std::shared_ptr<const std::string> body;  // null: no such variant
    std::string etag;
    std::shared_ptr<const HeaderList> headers;      // for 200
    std::shared_ptr<const HeaderList> not_modified;  // for 304
  };
  static Variant make_variant(std::string body, std::string etag, const CachedPageOptions& options,
                              bool gzipped);

  Variant identity_;
  Variant gzip_;
};

// True when Accept-Encoding (RFC 9110 12.5.3) accepts gzip: "gzip" or
// "x-gzip" with a non-zero weight, or "*" when gzip is not listed.
bool accepts_gzip(std::string_view accept_encoding);

// True when an If-None-Match value names `etag` (weak comparison, RFC 9110
// 8.8.3.2) or is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// A strong entity tag for `body`: a quoted 64-bit FNV-1a digest (it tells
// versions apart; nothing relies on it being hard to collide).
std::string etag_for(std::string_view body);

}  // namespace scsipub::web
