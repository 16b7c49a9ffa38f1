#include "web/metrics_text.h"

#include <fmt/format.h>

namespace scsipub::web {

std::string limit_metrics(const LimitEvents& events) {
  std::string out =
      "# HELP scsipub_limit_hits_total Times a configured limit refused or closed something.\n"
      "# TYPE scsipub_limit_hits_total counter\n";
  for (size_t i = 0; i < LimitEvents::kCount; ++i) {
    auto limit = static_cast<Limit>(i);
    out += fmt::format("scsipub_limit_hits_total{{limit=\"{}\"}} {}\n", LimitEvents::name(limit), events.count(limit));
  }
  return out;
}

}  // namespace scsipub::web
