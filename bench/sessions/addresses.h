#pragma once
// Command-line addresses of the session tools: a portal "HOST:PORT" ("[v6]:PORT")
// and source lists "127.0.0.1-127.0.0.8" (an IPv4 range) or "a,b,c".
#include <optional>
#include <string>
#include <vector>

#include "sessions/session_pool.h"

namespace scsipub::bench {

std::optional<Endpoint> parse_address(const std::string& host, uint16_t port);
// Both throw std::invalid_argument saying what is wrong.
Endpoint parse_portal(const std::string& text);
std::vector<Endpoint> parse_sources(const std::string& text);

}  // namespace scsipub::bench
