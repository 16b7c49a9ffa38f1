#include "ingest/source_spec.h"

#include <algorithm>
#include <cctype>

namespace scsipub::ingest {
namespace {

constexpr size_t kMaxSourceLength = 8192;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool valid_scheme(std::string_view s) {
  if (s.empty() || std::isalpha(static_cast<unsigned char>(s.front())) == 0) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '+' || c == '-' || c == '.';
  });
}

// RFC 3986 3.2.1: userinfo ends at the last '@' of the authority.
std::string strip_userinfo(std::string_view url, size_t authority_at) {
  const size_t authority_end = url.find_first_of("/?#", authority_at);
  const std::string_view authority =
      url.substr(authority_at, authority_end == std::string_view::npos ? std::string_view::npos : authority_end - authority_at);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, authority_at)) + std::string(url.substr(authority_at + at + 1));
}

}  // namespace

Result<SourceSpec> parse_source(std::string_view source) {
  if (source.empty()) return fail("empty source");
  if (source.size() > kMaxSourceLength) return fail("source is longer than 8192 characters");
  if (std::any_of(source.begin(), source.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return fail("source contains control characters");
  }
  const size_t colon = source.find("://");
  if (colon != std::string_view::npos && valid_scheme(source.substr(0, colon))) {
    const std::string scheme = lower(source.substr(0, colon));
    if (scheme != "http" && scheme != "https") {
      return fail("unsupported URL scheme '" + scheme + "' (a local path or an http(s) URL)");
    }
    if (source.size() == colon + 3) return fail("URL without a host");
    return SourceSpec{SourceKind::http, std::string(source), strip_userinfo(source, colon + 3)};
  }
  return SourceSpec{SourceKind::local_file, std::string(source), std::string(source)};
}

}  // namespace scsipub::ingest
