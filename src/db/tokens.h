#pragma once
// API tokens: random, shown to the user once, stored only as a SHA-256 hash.
#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace scsipub::db {

// Number of random bytes in a token (its hex form is twice as long).
inline constexpr std::size_t kTokenBytes = 32;

// `bytes` bytes from the OpenSSL CSPRNG (RAND_bytes), as lowercase hex.
Result<std::string> random_hex(std::size_t bytes);

// A fresh API token: kTokenBytes random bytes as lowercase hex.
Result<std::string> generate_token();

// Lowercase hex SHA-256 of the token (what the MetaStore keeps).
Result<std::string> hash_token(std::string_view token);

}  // namespace scsipub::db
