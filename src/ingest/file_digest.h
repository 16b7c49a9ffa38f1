#pragma once
// SHA-256 of a whole file (OpenSSL EVP), read from its descriptor.
#include <cstdint>
#include <string>

#include "common/result.h"
#include "ingest/progress.h"

namespace scsipub::ingest {

// Lowercase hex. Reads from offset 0 with pread; reports `phase` progress.
Result<std::string> sha256_of_fd(int fd, const ProgressSink& progress, const std::string& phase);

// True when `hex` is 64 hex digits (either case).
bool valid_sha256_hex(const std::string& hex);

}  // namespace scsipub::ingest
