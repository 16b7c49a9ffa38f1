#pragma once
// Inflates a gzip body in tests (zlib), to check a served variant against
// the identity one byte for byte.
#include <zlib.h>

#include <optional>
#include <string>
#include <string_view>

namespace scsipub::web::testing {

inline std::optional<std::string> gunzip(std::string_view data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return std::nullopt;  // gzip wrapper only
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  for (int rounds = 0; rc == Z_OK && rounds < 100000; ++rounds) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace scsipub::web::testing
