#pragma once
// gzip (RFC 1952) through zlib, for the pages served pre-compressed.
#include <optional>
#include <string>
#include <string_view>

namespace scsipub::web {

// The whole input as one gzip member at the best compression (pages are
// compressed once per change, then served many times); nothing if zlib fails.
std::optional<std::string> gzip_compress(std::string_view data);

}  // namespace scsipub::web
