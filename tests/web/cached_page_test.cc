#include "web/cached_page.h"

#include <gtest/gtest.h>

#include <string>

#include "web/gunzip.h"
#include "web/gzip.h"

namespace scsipub::web {
namespace {

std::string header(const HttpResponse& r, std::string_view name) {
  std::string found;
  if (r.shared_headers) {
    for (const auto& [k, v] : *r.shared_headers) {
      if (k == name) found = v;
    }
  }
  for (const auto& [k, v] : r.headers) {
    if (k == name) found = v;
  }
  return found;
}

HttpRequest request(std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/";
  r.headers = std::move(headers);
  return r;
}

std::string big_page() {
  std::string body = "<!doctype html><p>";
  for (int i = 0; i < 200; ++i) body += "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank --login\n";
  return body;
}

const CachedPageOptions kOptions{"text/html; charset=utf-8", "no-cache", {{"X-Test", "yes"}}};

TEST(AcceptsGzip, ListsAndWeights) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("gzip;q=0.001"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));  // listed by name: its own weight decides
  EXPECT_FALSE(accepts_gzip("gzipx"));
  EXPECT_FALSE(accepts_gzip(",,,"));
}

TEST(EtagMatches, WeakComparisonAndLists) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(etag_matches("abc", "\"abc\""));
  EXPECT_FALSE(etag_matches("", "\"abc\""));
}

TEST(EtagFor, QuotedDigestThatFollowsTheBytes) {
  const std::string a = etag_for("a");
  EXPECT_EQ(a.size(), 18u);
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
  EXPECT_EQ(a, etag_for("a"));
  EXPECT_NE(a, etag_for("b"));
  EXPECT_EQ(etag_for(""), "\"cbf29ce484222325\"");  // FNV-1a 64 of nothing is its offset basis
}

TEST(CachedPage, ServesGzipWhenAcceptedAndSmaller) {
  const std::string body = big_page();
  CachedPage page(body, kOptions);
  ASSERT_TRUE(page.has_gzip());

  HttpResponse plain = page.respond(request());
  EXPECT_EQ(plain.status, 200);
  ASSERT_TRUE(plain.shared_body);
  EXPECT_EQ(*plain.shared_body, body);
  EXPECT_EQ(header(plain, "Content-Encoding"), "");
  EXPECT_EQ(header(plain, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(plain, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(plain, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(plain, "X-Test"), "yes");
  EXPECT_EQ(header(plain, "ETag"), etag_for(body));

  HttpResponse packed = page.respond(request({{"Accept-Encoding", "gzip, deflate"}}));
  EXPECT_EQ(packed.status, 200);
  ASSERT_TRUE(packed.shared_body);
  EXPECT_LT(packed.shared_body->size(), body.size() / 4);
  EXPECT_EQ(header(packed, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(packed, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(packed, "X-Test"), "yes");
  EXPECT_NE(header(packed, "ETag"), header(plain, "ETag"));  // another representation, another tag
  EXPECT_EQ(testing::gunzip(*packed.shared_body), body);
}

TEST(CachedPage, NotModifiedForTheVariantsOwnTag) {
  CachedPage page(big_page(), kOptions);
  const std::string plain_tag = header(page.respond(request()), "ETag");
  const std::string gzip_tag = header(page.respond(request({{"Accept-Encoding", "gzip"}})), "ETag");

  HttpResponse r = page.respond(request({{"If-None-Match", plain_tag}}));
  EXPECT_EQ(r.status, 304);
  EXPECT_FALSE(r.shared_body);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(header(r, "ETag"), plain_tag);
  EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");

  EXPECT_EQ(page.respond(request({{"Accept-Encoding", "gzip"}, {"If-None-Match", gzip_tag}})).status, 304);
  // A tag of the other variant is not a match: the client has other bytes.
  EXPECT_EQ(page.respond(request({{"Accept-Encoding", "gzip"}, {"If-None-Match", plain_tag}})).status, 200);
  EXPECT_EQ(page.respond(request({{"If-None-Match", "\"stale\""}})).status, 200);
}

TEST(CachedPage, TinyBodiesAreNotGzipped) {
  CachedPage page("ok", kOptions);
  EXPECT_FALSE(page.has_gzip());
  HttpResponse r = page.respond(request({{"Accept-Encoding", "gzip"}}));
  EXPECT_EQ(*r.shared_body, "ok");
  EXPECT_EQ(header(r, "Content-Encoding"), "");
}

TEST(Gzip, RoundTrips) {
  for (const std::string& s : {std::string(), std::string("x"), big_page(), std::string(100000, '\0')}) {
    auto packed = gzip_compress(s);
    ASSERT_TRUE(packed);
    EXPECT_EQ(testing::gunzip(*packed), s);
  }
}

}  // namespace
}  // namespace scsipub::web
