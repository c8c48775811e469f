// How a backend client talks HTTP: one GET at a time, so every client is tested against a fake
// fetcher without sockets (blocking_http_fetcher.h has the real one).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tracerig {

struct FetchResponse {
  unsigned status = 0;
  std::string body;
};

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  // GET target (path + query) from the backend; Error only for transport failures (refused,
  // timeout, reset). Any HTTP answer, 4xx and 5xx included, is a FetchResponse.
  virtual Result<FetchResponse> Get(std::string_view target) = 0;
};

}  // namespace tracerig
