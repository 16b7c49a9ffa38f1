#pragma once
// What the SOURCE argument of `image add` names: a local file or an http(s)
// URL. Anything else that looks like a URL (file://, ftp://, ...) is refused
// rather than read as a relative path with a colon in it.
#include <string>
#include <string_view>

#include "common/result.h"

namespace scsipub::ingest {

enum class SourceKind : unsigned char { local_file, http };

struct SourceSpec {
  SourceKind kind = SourceKind::local_file;
  std::string location;    // the path, or the URL as given (libcurl gets this)
  std::string for_record;  // the same without user:password@ (for logs and the catalog row)
};

// Pure.
Result<SourceSpec> parse_source(std::string_view source);

}  // namespace scsipub::ingest
