#pragma once

namespace scsipub::bench {

// `scsipub-sessions soak ...` (argv[0] is "soak"): see soak_main.cc.
int run_soak(int argc, char** argv);

}  // namespace scsipub::bench
