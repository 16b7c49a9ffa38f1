#pragma once
// Helpers for the ingest tests: a scratch directory that can list what is
// left in it, and running the real tools (qemu-img, xz, ...) to make real headers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "storage/temp_dir.h"

namespace scsipub::ingest::testing {

using scsipub::testing::read_file;
using scsipub::testing::write_file;

class ScratchDir : public scsipub::testing::TempDir {
 public:
  // Every name in the directory (to prove nothing was left behind).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path())) out.push_back(e.path().filename().string());
    return out;
  }
};

inline bool have_tool(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command line in a test (production code never uses a shell).
inline bool sh(const std::string& command) { return std::system(command.c_str()) == 0; }

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

}  // namespace scsipub::ingest::testing
