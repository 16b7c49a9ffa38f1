#pragma once
#include "app/config.h"

namespace scsipub::app {

// Runs the server until SIGTERM/SIGINT; returns the process exit code.
int serve(Config cfg);

}  // namespace scsipub::app
