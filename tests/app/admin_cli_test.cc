// `scsipub admin token ...` against a real SQLite store in a temp dir.
#include "app/admin_cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "db/sqlite_store.h"
#include "db/tokens.h"
#include "storage/temp_dir.h"

namespace scsipub::app {
namespace {

class AdminCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = db::SqliteStore::open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }

  // Runs `create`; returns the printed token (stdout without the newline).
  std::string create(const std::string& label = "") {
    std::ostringstream out, err;
    EXPECT_EQ(admin_token_create(*store_, label, out, err), 0) << err.str();
    std::string printed = out.str();
    EXPECT_TRUE(printed.ends_with("\n"));
    EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 1) << "one line only";
    if (!printed.empty()) printed.pop_back();
    return printed;
  }

  int revoke(const std::string& which, std::string* err_text = nullptr) {
    std::ostringstream out, err;
    int rc = admin_token_revoke(*store_, which, out, err);
    if (err_text != nullptr) *err_text = err.str();
    return rc;
  }

  scsipub::testing::TempDir dir_;
  std::unique_ptr<db::SqliteStore> store_;
};

TEST_F(AdminCliTest, CreatePrintsOneTokenAndStoresOnlyItsHash) {
  const std::string token = create("laptop");
  ASSERT_EQ(token.size(), db::kTokenBytes * 2);
  auto tokens = store_->list_operator_tokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  const db::OperatorToken& t = tokens->front();
  EXPECT_EQ(t.token_hash, *db::hash_token(token));
  EXPECT_EQ(t.prefix, token.substr(0, db::kOperatorTokenPrefixLength));
  EXPECT_EQ(t.label, "laptop");
  EXPECT_EQ(t.token_hash.find(token), std::string::npos);
  EXPECT_NE(create(), token);  // fresh every time
}

TEST_F(AdminCliTest, ListShowsPrefixNeverTheToken) {
  const std::string token = create("ops");
  std::ostringstream out, err;
  ASSERT_EQ(admin_token_list(*store_, /*json=*/false, out, err), 0);
  EXPECT_NE(out.str().find(token.substr(0, db::kOperatorTokenPrefixLength)), std::string::npos);
  EXPECT_EQ(out.str().find(token), std::string::npos);
  EXPECT_NE(out.str().find("ops"), std::string::npos);
  std::ostringstream json_out;
  ASSERT_EQ(admin_token_list(*store_, /*json=*/true, json_out, err), 0);
  EXPECT_EQ(json_out.str().find(token), std::string::npos);
  EXPECT_NE(json_out.str().find("\"prefix\""), std::string::npos);
}

TEST_F(AdminCliTest, RevokeByIdPrefixOrWholeToken) {
  const std::string a = create(), b = create(), c = create();
  auto tokens = store_->list_operator_tokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 3u);
  std::string id_of_a;
  for (const auto& t : *tokens)
    if (t.token_hash == *db::hash_token(a)) id_of_a = t.id;
  EXPECT_EQ(revoke(id_of_a), 0);
  EXPECT_EQ(revoke(b.substr(0, 10)), 0);
  EXPECT_EQ(revoke(c), 0);
  auto left = store_->list_operator_tokens();
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  std::string why;
  EXPECT_EQ(revoke(c, &why), 1);
  EXPECT_NE(why.find("no operator token"), std::string::npos) << why;
}

TEST_F(AdminCliTest, ShortPrefixAndControlCharactersAreRefused) {
  const std::string token = create();
  EXPECT_EQ(revoke(token.substr(0, 4)), 1);  // too short to be a prefix
  auto tokens = store_->list_operator_tokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->size(), 1u);
  std::ostringstream out, err;
  EXPECT_EQ(admin_token_create(*store_, "bad\x1b[2Jlabel", out, err), 2);
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace scsipub::app
