#include "control/naa_generator.h"

#include "lu/logical_unit.h"

namespace scsipub::control {
namespace {

// The splitmix64 finalizer: a bijection on 64 bits, so distinct counter
// values never give the same identifier before truncation to the 36 vendor
// bits, and neighbouring counters look unrelated.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

NaaGenerator::NaaGenerator(uint64_t seed) : seed_(mix64(seed ^ 0x5c5195b)) {}

uint64_t NaaGenerator::next() { return lu::naa5_identifier(mix64(seed_ + counter_.fetch_add(1))); }

}  // namespace scsipub::control
