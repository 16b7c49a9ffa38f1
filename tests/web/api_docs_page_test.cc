#include "web/api_docs_page.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "web/page_scan.h"

namespace scsipub::web {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST(ApiDocsPage, EndpointsExamplesAndAWireExactDisk) {
  const std::string html = render_api_docs_page({{"scsipub.example:3260", ""}, "https://scsipub.example", "v1"});
  for (std::string_view s : {"POST /api/v1/disks", "GET /api/v1/disks/{id}", "DELETE /api/v1/disks/{id}",
                             "GET /api/v1/images", "Authorization: Bearer TOKEN", "scsipub account create"}) {
    EXPECT_TRUE(contains(html, s)) << s;
  }
  std::map<std::string, std::string> shown;
  for (const auto& b : testing::code_blocks(html)) shown[b.id] = b.text;
  EXPECT_EQ(shown["api-token"], "API=https://scsipub.example\nTOKEN=...");
  EXPECT_EQ(shown["api-list"], "curl -s -H \"Authorization: Bearer $TOKEN\" \"$API/api/v1/disks\"");
  // The example disk is the serializer's JSON, so it parses and has its fields.
  nlohmann::json disk = nlohmann::json::parse(shown["api-disk-json"], nullptr, false);
  ASSERT_TRUE(disk.is_object()) << shown["api-disk-json"];
  EXPECT_EQ(disk["portals"]["plain"], "scsipub.example:3260");
  EXPECT_TRUE(disk["iscsiadm"]["discovery"].is_array());
  EXPECT_TRUE(contains(shown["api-disk-attach"], "--discover\n"));
  EXPECT_EQ(testing::copy_targets(html).size(), shown.size());
  EXPECT_FALSE(contains(html, "<style"));
  EXPECT_FALSE(contains(html, "<script>"));
}

}  // namespace
}  // namespace scsipub::web
