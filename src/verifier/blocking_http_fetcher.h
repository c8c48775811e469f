// The verifier's HttpFetcher over a real connection (BlockingHttpClient), with optional headers
// such as X-Scope-OrgID or an Authorization token.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "verifier/http_fetcher.h"

namespace tracerig {

class BlockingHttpFetcher final : public HttpFetcher {
 public:
  BlockingHttpFetcher(std::string host, uint16_t port, HttpClientOptions options = {},
                      std::vector<std::pair<std::string, std::string>> headers = {})
      : client_(std::move(host), port, options), headers_(std::move(headers)) {}

  Result<FetchResponse> Get(std::string_view target) override {
    auto response = client_.Request(http::verb::get, target, {}, {}, headers_);
    if (!response) return response.error();
    return FetchResponse{response->status, std::move(response->body)};
  }

 private:
  BlockingHttpClient client_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

}  // namespace tracerig
