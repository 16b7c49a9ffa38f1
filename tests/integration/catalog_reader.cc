// One libiscsi login to a catalog image, held open while the test changes the
// catalog under it (tests/integration/live_catalog.sh).
//
//   catalog_reader URL [ISID_QUALIFIER]
//
// Each concurrent reader needs its own ISID qualifier: the same initiator name
// and ISID would reinstate (end) the other session (RFC 7143 6.3.5).
//
// Prints "logged-in blocks=N", then answers each stdin line:
//   read   -> "data <hex of the first 16 bytes of LBA 0> <FNV-1a 64 of the first 64 KiB>"
//   quit   -> logs out, prints "logged-out", exits 0
// A failed command prints "error: ..." and exits 3; a failed login exits 2.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "integration/iscsi_client.h"

namespace {

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

uint64_t fnv1a(const std::vector<uint8_t>& data) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : data) h = (h ^ b) * 1099511628211ull;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s URL [ISID_QUALIFIER]\n", argv[0]);
    return 64;
  }
  std::string err;
  const int qualifier = argc == 3 ? std::atoi(argv[2]) : 1;
  auto session = integ::Session::login(argv[1], "iqn.2025-01.test:catalog-reader", qualifier, &err);
  if (!session) {
    say("login-failed: " + err);
    return 2;
  }
  say("logged-in blocks=" + std::to_string(session->blocks()));
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit") break;
    if (line != "read") continue;
    const uint32_t nblocks = (64u * 1024) / session->block_size();
    std::vector<uint8_t> data;
    if (!session->read(0, nblocks, data, &err)) {
      say("error: " + err);
      return 3;
    }
    char head[33] = {};
    for (int i = 0; i < 16; ++i) std::snprintf(head + 2 * i, 3, "%02x", data[static_cast<size_t>(i)]);
    char sum[17] = {};
    std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(fnv1a(data)));
    say(std::string("data ") + head + " " + sum);
  }
  if (!session->logout(&err)) {
    say("error: " + err);
    return 3;
  }
  say("logged-out");
  return 0;
}
