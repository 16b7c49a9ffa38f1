// Free-tier isolation checks against a running target.
//
//   isolation BLANK_URL IMAGE_URL IMAGE_FILE OVERLAYS_DIR
//
// IMAGE_URL/IMAGE_FILE and OVERLAYS_DIR may be "-" to skip those checks.
//  1. Two concurrent logins to blank with different InitiatorNames write
//     different patterns to the same LBAs; each reads back its own.
//  2. The same with one InitiatorName and two ISIDs.
//  3. A login's first READ of never-written sectors returns zeros, also for
//     LBAs an earlier (logged-out) session wrote: no stale data.
//  4. After every session logged out, OVERLAYS_DIR holds no files.
//  5. Writes through the image target read back, are invisible to a second
//     concurrent login and to a later login, and leave IMAGE_FILE's SHA-256 as
//     it was; an unwritten region reads back as the base file's bytes.
// Every violation is printed; exit 1 if there was any, 2 on setup errors.
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "iscsi_client.h"

namespace {

int g_violations = 0;
std::string g_overlays = "-";  // OVERLAYS_DIR argument

void violation(const std::string& what) {
  ++g_violations;
  std::fprintf(stderr, "VIOLATION: %s\n", what.c_str());
}

void info(const std::string& what) { std::fprintf(stderr, "isolation: %s\n", what.c_str()); }

[[noreturn]] void setup_error(const std::string& what) {
  std::fprintf(stderr, "SETUP ERROR: %s\n", what.c_str());
  std::exit(2);
}

std::unique_ptr<integ::Session> must_login(const std::string& url, const std::string& ini, uint32_t q) {
  std::string err;
  auto s = integ::Session::login(url, ini, q, &err);
  if (!s) setup_error(err);
  return s;
}

struct Range {
  uint64_t lba;
  uint32_t blocks;
};

// LBA ranges that cover the start, a 1 MiB run (several R2Ts/Data-Outs), an
// unaligned middle piece and the very end of the disk.
std::vector<Range> ranges_for(uint64_t nblocks) {
  std::vector<Range> r{{0, 8}, {4096, 2048}, {nblocks / 2 + 3, 17}, {nblocks - 64, 64}};
  std::vector<Range> ok;
  for (auto x : r)
    if (x.lba + x.blocks <= nblocks) ok.push_back(x);
  return ok;
}

bool write_pattern(integ::Session& s, const std::vector<Range>& rs, uint64_t seed, const std::string& who) {
  for (auto r : rs) {
    std::vector<uint8_t> buf(size_t(r.blocks) * s.block_size());
    integ::fill_pattern(buf, seed, r.lba, s.block_size());
    std::string err;
    if (!s.write(r.lba, buf, &err)) {
      violation(who + ": write lba " + std::to_string(r.lba) + ": " + err);
      return false;
    }
  }
  return true;
}

// expect: seed pattern, or all zeros when zeros==true.
void check_ranges(integ::Session& s, const std::vector<Range>& rs, uint64_t seed, bool zeros, const std::string& who) {
  for (auto r : rs) {
    std::vector<uint8_t> want(size_t(r.blocks) * s.block_size(), 0), got;
    if (!zeros) integ::fill_pattern(want, seed, r.lba, s.block_size());
    std::string err;
    if (!s.read(r.lba, r.blocks, got, &err)) {
      violation(who + ": read lba " + std::to_string(r.lba) + ": " + err);
      continue;
    }
    long d = integ::first_diff(got, want);
    if (d >= 0)
      violation(who + ": lba " + std::to_string(r.lba) + "+" + std::to_string(r.blocks) + " differs at byte " +
                std::to_string(d) + (zeros ? " (want zeros: stale or foreign data)" : " (not its own data)"));
  }
}

size_t count_files(const std::string& dir);

// Two sessions, logged in at once, same LBAs, different data.
void two_sessions(const std::string& url, const std::string& ini_a, uint32_t qa, const std::string& ini_b, uint32_t qb,
                  const std::string& label) {
  auto a = must_login(url, ini_a, qa);
  auto b = must_login(url, ini_b, qb);
  const auto rs = ranges_for(std::min(a->blocks(), b->blocks()));
  const uint64_t seed_a = 0xA000 + qa, seed_b = 0xB000 + qb;
  // Fresh disks read zeros before anyone wrote.
  check_ranges(*a, rs, 0, true, label + " session A before write");
  check_ranges(*b, rs, 0, true, label + " session B before write");
  // Interleave: A writes, B writes the same LBAs, then both read.
  write_pattern(*a, rs, seed_a, label + " session A");
  write_pattern(*b, rs, seed_b, label + " session B");
  check_ranges(*a, rs, seed_a, false, label + " session A");
  check_ranges(*b, rs, seed_b, false, label + " session B");
  // And the other way round, so neither order hides sharing.
  write_pattern(*b, rs, seed_b + 1, label + " session B (2nd)");
  write_pattern(*a, rs, seed_a + 1, label + " session A (2nd)");
  check_ranges(*b, rs, seed_b + 1, false, label + " session B (2nd)");
  check_ranges(*a, rs, seed_a + 1, false, label + " session A (2nd)");
  if (g_overlays != "-") {
    // Makes the "no overlay left after logout" check mean something: while
    // the sessions live, their overlays are where the server says they are.
    const size_t n = count_files(g_overlays);
    info(label + ": " + std::to_string(n) + " file(s) in the overlays dir while logged in");
    if (n == 0) violation(label + ": no overlay file under " + g_overlays + " while two sessions have written");
  }
  std::string err;
  if (!a->logout(&err)) violation(label + " A: " + err);
  if (!b->logout(&err)) violation(label + " B: " + err);
}

std::string sha256_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) setup_error("cannot read " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) setup_error("EVP_Digest failed");
  std::string hex;
  char h[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(h, sizeof h, "%02x", md[i]);
    hex += h;
  }
  return hex;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void image_checks(const std::string& url, const std::string& file) {
  const std::string before = sha256_file(file);
  const std::vector<uint8_t> base = read_file(file);
  info("image base " + file + " sha256 " + before);
  auto a = must_login(url, "iqn.2025-01.test.isolation:image-a", 11);
  auto b = must_login(url, "iqn.2025-01.test.isolation:image-b", 12);
  const uint32_t bs = a->block_size();
  if (uint64_t(a->blocks()) * bs < base.size() || base.size() < 64 * 1024)
    setup_error("image LU has " + std::to_string(a->blocks()) + " blocks of " + std::to_string(bs) +
                ", base file " + std::to_string(base.size()) + " bytes");
  // The whole LU must read back as the base file (a read path check).
  {
    std::vector<uint8_t> got;
    std::string err;
    const uint32_t nb = uint32_t(base.size() / bs);
    for (uint32_t lba = 0; lba < nb; lba += 256) {
      const uint32_t n = std::min<uint32_t>(256, nb - lba);
      if (!a->read(lba, n, got, &err)) {
        violation("image read lba " + std::to_string(lba) + ": " + err);
        break;
      }
      if (integ::first_diff(got, std::span(base).subspan(size_t(lba) * bs, size_t(n) * bs)) >= 0) {
        violation("image lba " + std::to_string(lba) + " differs from the base file before any write");
        break;
      }
    }
  }
  const std::vector<Range> rs{{0, 8}, {64, 128}, {uint64_t(base.size() / bs) - 16, 16}};
  write_pattern(*a, rs, 0x1111, "image session A");
  check_ranges(*a, rs, 0x1111, false, "image session A");
  // B is logged in at the same time and must still see the base bytes.
  for (auto r : rs) {
    std::vector<uint8_t> got;
    std::string err;
    if (!b->read(r.lba, r.blocks, got, &err)) {
      violation("image session B read: " + err);
      continue;
    }
    if (integ::first_diff(got, std::span(base).subspan(size_t(r.lba) * bs, size_t(r.blocks) * bs)) >= 0)
      violation("image session B sees session A's write at lba " + std::to_string(r.lba));
  }
  std::string err;
  if (!a->logout(&err)) violation("image A: " + err);
  if (!b->logout(&err)) violation("image B: " + err);
  a.reset();
  b.reset();
  const std::string after = sha256_file(file);
  if (after != before) violation("image base file changed: sha256 " + before + " -> " + after);
  // A later login sees the base again (the overlay died with the login).
  auto c = must_login(url, "iqn.2025-01.test.isolation:image-a", 11);
  for (auto r : rs) {
    std::vector<uint8_t> got;
    if (!c->read(r.lba, r.blocks, got, &err)) {
      violation("image session C read: " + err);
      continue;
    }
    if (integ::first_diff(got, std::span(base).subspan(size_t(r.lba) * bs, size_t(r.blocks) * bs)) >= 0)
      violation("image: a new login sees an old login's write at lba " + std::to_string(r.lba));
  }
  c->logout(&err);
}

size_t count_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  size_t n = 0;
  if (!fs::exists(dir, ec)) return 0;
  for (auto& e : fs::recursive_directory_iterator(dir, ec))
    if (!e.is_directory()) ++n;
  return n;
}

void overlays_empty(const std::string& dir) {
  namespace fs = std::filesystem;
  // Deletion may trail the logout response a little: allow 5 s.
  std::vector<std::string> left;
  for (int i = 0; i < 50; ++i) {
    left.clear();
    std::error_code ec;
    if (!fs::exists(dir, ec)) return;  // never created: nothing left behind
    for (auto& e : fs::recursive_directory_iterator(dir, ec))
      if (!e.is_directory()) left.push_back(e.path().string());
    if (left.empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& f : left) violation("overlay file left after logout: " + f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s BLANK_URL IMAGE_URL|- IMAGE_FILE|- OVERLAYS_DIR|-\n", argv[0]);
    return 2;
  }
  const std::string blank = argv[1], image = argv[2], image_file = argv[3], overlays = argv[4];
  g_overlays = overlays;

  info("1. different InitiatorNames");
  two_sessions(blank, "iqn.2025-01.test.isolation:alice", 1, "iqn.2025-01.test.isolation:bob", 2, "names");
  info("2. same InitiatorName, different ISIDs");
  two_sessions(blank, "iqn.2025-01.test.isolation:carol", 3, "iqn.2025-01.test.isolation:carol", 4, "isids");
  info("3. a later login reads zeros where earlier logins wrote");
  {
    auto c = must_login(blank, "iqn.2025-01.test.isolation:alice", 1);
    check_ranges(*c, ranges_for(c->blocks()), 0, true, "fresh login");
    std::string err;
    if (!c->logout(&err)) violation("fresh login: " + err);
  }
  if (overlays != "-") {
    info("4. overlays gone after logout");
    overlays_empty(overlays);
  }
  if (image != "-") {
    info("5. image target copy-on-write");
    image_checks(image, image_file);
    if (overlays != "-") overlays_empty(overlays);
  }
  if (g_violations) {
    std::fprintf(stderr, "isolation: %d violation(s)\n", g_violations);
    return 1;
  }
  std::fprintf(stderr, "isolation: all checks passed\n");
  return 0;
}
