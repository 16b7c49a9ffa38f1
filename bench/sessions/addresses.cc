#include "sessions/addresses.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace scsipub::bench {

std::optional<Endpoint> parse_address(const std::string& host, uint16_t port) {
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    e.len = sizeof(sockaddr_in);
    return e;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    e.len = sizeof(sockaddr_in6);
    return e;
  }
  return std::nullopt;
}

Endpoint parse_portal(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("--portal wants HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  long port = std::strtol(text.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535) throw std::invalid_argument("bad --portal port");
  auto e = parse_address(host, uint16_t(port));
  if (!e) throw std::invalid_argument("bad --portal address");
  return *e;
}

std::vector<Endpoint> parse_sources(const std::string& text) {
  std::vector<Endpoint> out;
  if (text.empty()) return out;
  if (auto dash = text.find('-'); dash != std::string::npos && text.find(':') == std::string::npos) {
    in_addr a{}, b{};
    if (::inet_pton(AF_INET, text.substr(0, dash).c_str(), &a) != 1 ||
        ::inet_pton(AF_INET, text.substr(dash + 1).c_str(), &b) != 1) {
      throw std::invalid_argument("bad --sources range");
    }
    uint32_t lo = ntohl(a.s_addr), hi = ntohl(b.s_addr);
    if (hi < lo || hi - lo > 1024) throw std::invalid_argument("--sources range empty or over 1024 addresses");
    for (uint32_t x = lo; x <= hi; ++x) {
      in_addr v{htonl(x)};
      char buf[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &v, buf, sizeof buf);
      out.push_back(*parse_address(buf, 0));
    }
    return out;
  }
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = std::min(text.find(',', at), text.size());
    auto e = parse_address(text.substr(at, comma - at), 0);
    if (!e) throw std::invalid_argument("bad --sources address");
    out.push_back(*e);
    at = comma + 1;
  }
  return out;
}

}  // namespace scsipub::bench
