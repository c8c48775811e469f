// Plain-value HTTP requests and responses for the embedded backend's handlers. The network shell
// converts Beast messages to and from these, so the handlers stay pure and testable without
// sockets.
#pragma once

#include <string>
#include <string_view>

namespace tracerig {

// Views into a request owned by the caller; valid for the duration of one handler call.
struct HttpRequestView {
  std::string_view method;            // "GET", "POST", ...
  std::string_view target;            // path plus optional "?query", still percent-encoded
  std::string_view content_type;      // the Content-Type header, parameters included
  std::string_view content_encoding;  // the Content-Encoding header, empty when absent
  std::string_view body;
};

struct HttpResponseData {
  unsigned status = 200;
  std::string content_type;
  std::string body;
};

}  // namespace tracerig
