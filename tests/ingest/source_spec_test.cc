#include "ingest/source_spec.h"

#include <gtest/gtest.h>

namespace scsipub::ingest {
namespace {

TEST(SourceSpec, LocalPaths) {
  for (const char* p : {"disk.img", "/srv/images/a.qcow2", "./weird:name.img", "dir/x:y"}) {
    auto r = parse_source(p);
    ASSERT_TRUE(r.ok()) << p;
    EXPECT_EQ(r->kind, SourceKind::local_file) << p;
    EXPECT_EQ(r->location, p);
  }
}

TEST(SourceSpec, HttpUrls) {
  auto r = parse_source("https://cloud.debian.org/images/x.qcow2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, SourceKind::http);
  auto upper = parse_source("HTTP://example.org/a");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->kind, SourceKind::http);
}

TEST(SourceSpec, CredentialsStrippedForTheRecord) {
  auto r = parse_source("https://user:secret@example.org/p@th/x.img?a=b@c");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->location, "https://user:secret@example.org/p@th/x.img?a=b@c");
  EXPECT_EQ(r->for_record, "https://example.org/p@th/x.img?a=b@c");
  auto none = parse_source("http://example.org/x");
  EXPECT_EQ(none->for_record, "http://example.org/x");
}

TEST(SourceSpec, OtherSchemesRefused) {
  for (const char* s : {"file:///etc/passwd", "ftp://example.org/x.img", "gopher://x/", "scp://h/x", "FILE:///x"}) {
    auto r = parse_source(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_NE(r.error().message.find("unsupported URL scheme"), std::string::npos) << s;
  }
  EXPECT_FALSE(parse_source("").ok());
  EXPECT_FALSE(parse_source("http://").ok());
  EXPECT_FALSE(parse_source("a\nb").ok());
  EXPECT_FALSE(parse_source(std::string(9000, 'a')).ok());
}

}  // namespace
}  // namespace scsipub::ingest
