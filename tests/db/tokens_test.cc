#include "db/tokens.h"

#include <gtest/gtest.h>

namespace scsipub::db {
namespace {

TEST(Tokens, GeneratedTokensAreHexAndDistinct) {
  auto a = generate_token();
  auto b = generate_token();
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(a->size(), kTokenBytes * 2);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
}

TEST(Tokens, HashIsSha256Hex) {
  // FIPS 180-2 test vector.
  auto h = hash_token("abc");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto empty = hash_token("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Tokens, RandomHexLength) {
  auto r = random_hex(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 10u);
  EXPECT_FALSE(random_hex(0).ok());
}

}  // namespace
}  // namespace scsipub::db
