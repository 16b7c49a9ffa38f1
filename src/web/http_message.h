#pragma once
// What a handler sees of an HTTP request and what it answers: plain values,
// no transport, so handlers are tested (and the coming web pages built)
// without a socket.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scsipub::web {

struct HttpRequest {
  std::string method;  // "HEAD" is served as "GET"; the transport drops the body
  std::string path;    // as sent (not percent-decoded), without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;         // at most the server's body cap
  std::string peer;         // "address:port" of the client
  std::string request_id;   // short, unique per server run; in logs and 5xx bodies
  std::vector<std::string> params;  // the route's {placeholders}, in order

  // Case-insensitive (RFC 9110 5.1); empty when absent.
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, sent instead of `body` and without a copy: for bytes served
  // over and over (cached pages, static assets). The transport keeps a
  // reference until the last byte is out.
  std::shared_ptr<const std::string> shared_body;
  // Sent after `headers`, likewise without a copy: a cached answer's header
  // fields are built once.
  std::shared_ptr<const std::vector<std::pair<std::string, std::string>>> shared_headers;
};

}  // namespace scsipub::web
