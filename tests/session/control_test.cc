#include "session/harness.h"
