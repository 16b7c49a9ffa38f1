#include "lu/logical_unit.h"

namespace scsipub::lu {

struct LogicalUnit::State {};

LogicalUnit::LogicalUnit(std::shared_ptr<storage::BlockStore> store, Identity identity)
    : store_(std::move(store)), identity_(std::move(identity)), state_(std::make_unique<State>()) {}

LogicalUnit::~LogicalUnit() = default;

void LogicalUnit::attach(const Nexus&) {}
void LogicalUnit::detach(uint64_t) {}

}  // namespace scsipub::lu
