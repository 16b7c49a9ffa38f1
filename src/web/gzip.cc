#include "web/gzip.h"

#include <zlib.h>

namespace scsipub::web {

std::optional<std::string> gzip_compress(std::string_view data) {
  // One deflate call takes at most uInt bytes; pages are far smaller.
  if (data.size() > (1u << 30)) return std::nullopt;
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's (zlib.h,
  // deflateInit2).
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  // deflateBound is enough for one Z_FINISH call (zlib.h).
  const int rc = deflate(&z, Z_FINISH);
  const size_t produced = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(produced);
  return out;
}

}  // namespace scsipub::web
