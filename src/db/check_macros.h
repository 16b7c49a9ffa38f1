#pragma once
// Error plumbing shared by the MetaStore backends: each macro returns from the
// enclosing Result/Status function with the error, prefixed by `what`.
#include "common/result.h"

#define SCSIPUB_DB_CHECK(expr, what)                                                  \
  do {                                                                                \
    auto&& scsipub_db_r_ = (expr);                                                    \
    if (!scsipub_db_r_) return fail((what) + (": " + scsipub_db_r_.error().message)); \
  } while (0)

#define SCSIPUB_DB_CONCAT_(a, b) a##b
#define SCSIPUB_DB_CONCAT(a, b) SCSIPUB_DB_CONCAT_(a, b)

// Declares `var` as the value of a Result-returning expression.
#define SCSIPUB_DB_ASSIGN(var, expr, what)                                           \
  auto SCSIPUB_DB_CONCAT(var, _result_) = (expr);                                    \
  if (!SCSIPUB_DB_CONCAT(var, _result_)) {                                           \
    return fail((what) + (": " + SCSIPUB_DB_CONCAT(var, _result_).error().message)); \
  }                                                                                  \
  auto& var = *SCSIPUB_DB_CONCAT(var, _result_)
