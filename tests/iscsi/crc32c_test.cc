// CRC32C: RFC 3720 B.4 vectors for both implementations, and agreement of
// the two on odd lengths and alignments.
#include "iscsi/crc32c.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <vector>

namespace scsipub::iscsi {
namespace {

using UpdateFn = uint32_t (*)(uint32_t, std::span<const uint8_t>);

uint32_t run(UpdateFn fn, std::span<const uint8_t> bytes) { return crc32c_final(fn(crc32c_init(), bytes)); }

struct Vectors {
  std::vector<uint8_t> zeros = std::vector<uint8_t>(32, 0x00);
  std::vector<uint8_t> ones = std::vector<uint8_t>(32, 0xff);
  std::vector<uint8_t> inc = std::vector<uint8_t>(32);
  std::vector<uint8_t> dec = std::vector<uint8_t>(32);
  Vectors() {
    std::iota(inc.begin(), inc.end(), uint8_t{0});
    for (size_t i = 0; i < 32; ++i) dec[i] = uint8_t(31 - i);
  }
};

void check_vectors(UpdateFn fn) {
  Vectors v;
  // RFC 3720 appendix B.4.
  EXPECT_EQ(run(fn, v.zeros), 0x8a9136aau);
  EXPECT_EQ(run(fn, v.ones), 0x62a8ab43u);
  EXPECT_EQ(run(fn, v.inc), 0x46dd794eu);
  EXPECT_EQ(run(fn, v.dec), 0x113fdb5cu);
}

TEST(Crc32c, TableVectors) { check_vectors(&detail::crc32c_update_table); }

TEST(Crc32c, HardwareVectors) {
  if (!detail::crc32c_hw_available()) GTEST_SKIP() << "no SSE4.2";
  check_vectors(&detail::crc32c_update_hw);
}

TEST(Crc32c, DispatchedVectors) {
  Vectors v;
  EXPECT_EQ(crc32c(v.zeros), 0x8a9136aau);
  EXPECT_EQ(crc32c(v.dec), 0x113fdb5cu);
}

TEST(Crc32c, EmptyInput) {
  EXPECT_EQ(crc32c({}), 0u);
  EXPECT_EQ(detail::crc32c_update_hw(crc32c_init(), {}), crc32c_init());
}

TEST(Crc32c, PathsAgreeOnEveryAlignmentAndLength) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(300);
  for (auto& b : buf) b = uint8_t(rng());
  for (size_t off = 0; off < 9; ++off) {
    for (size_t len = 0; len + off <= 100; ++len) {
      std::span<const uint8_t> s(buf.data() + off, len);
      ASSERT_EQ(run(&detail::crc32c_update_table, s), run(&detail::crc32c_update_hw, s))
          << off << " " << len;
    }
  }
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  Vectors v;
  std::span<const uint8_t> all(v.inc);
  uint32_t state = crc32c_update(crc32c_init(), all.first(5));
  state = crc32c_update(state, all.subspan(5, 20));
  state = crc32c_update(state, all.subspan(25));
  EXPECT_EQ(crc32c_final(state), 0x46dd794eu);
}

TEST(Crc32c, DigestIsLittleEndianOnTheWire) {
  uint8_t b[4];
  store_digest(b, 0x8a9136aau);
  EXPECT_EQ(b[0], 0xaa);
  EXPECT_EQ(b[3], 0x8a);
  EXPECT_EQ(load_digest(b), 0x8a9136aau);
}

}  // namespace
}  // namespace scsipub::iscsi
