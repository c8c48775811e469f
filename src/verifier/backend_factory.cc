#include "verifier/backend_factory.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "core/text.h"
#include "verifier/blocking_http_fetcher.h"
#include "verifier/jaeger_v1_client.h"
#include "verifier/jaeger_v3_client.h"
#include "verifier/tempo_client.h"
#include "verifier/tracerig_client.h"
#include "verifier/zipkin_v2_client.h"

namespace tracerig {
namespace {

struct SchemeInfo {
  std::string_view scheme;
  QueryApi api;
  uint16_t default_port;
};

constexpr std::array<SchemeInfo, 5> kSchemes = {{
    {"jaeger", QueryApi::kJaegerV1, 16686},
    {"jaeger-v3", QueryApi::kJaegerV3, 16686},
    {"zipkin", QueryApi::kZipkinV2, 9411},
    {"tempo", QueryApi::kTempo, 3200},
    {"tracerig", QueryApi::kTracerig, 16686},
}};

// tracerig:// is left out: it only serves tracerig's own embedded backend (did-you-mean finds it).
constexpr std::string_view kExpected =
    "jaeger://HOST:PORT, jaeger-v3://HOST:PORT, zipkin://HOST:PORT or tempo://HOST:PORT";

// The schemes, for "did you mean" (at least 2 edits, so "jager" and "jaegerv3" find theirs).
std::string DidYouMeanScheme(std::string_view scheme) {
  // With their TLS forms, so "jaeger+http" finds "jaeger+https".
  std::vector<std::string> names;
  for (const SchemeInfo& info : kSchemes) {
    names.emplace_back(info.scheme);
    names.push_back(std::string(info.scheme) + "+https");
  }
  const std::vector<std::string_view> schemes(names.begin(), names.end());
  return DidYouMean(scheme, schemes, 2);
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Status CheckHeader(const Header& header) {
  if (header.name.empty()) return MakeError("a query header has an empty name");
  if (!std::all_of(header.name.begin(), header.name.end(), IsTokenChar)) {
    return MakeError(
        fmt::format("query header \"{}\": the name is not an HTTP token", header.name));
  }
  if (header.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return MakeError(fmt::format(
        "query header \"{}\": the value contains a line break or NUL", header.name));
  }
  return Ok{};
}

// Prepends a base path to every target.
class BasePathFetcher final : public HttpFetcher {
 public:
  BasePathFetcher(std::unique_ptr<HttpFetcher> inner, std::string base_path)
      : inner_(std::move(inner)), base_path_(std::move(base_path)) {}
  Result<FetchResponse> Get(std::string_view target) override {
    return inner_->Get(base_path_ + std::string(target));
  }

 private:
  std::unique_ptr<HttpFetcher> inner_;
  std::string base_path_;
};

}  // namespace

std::string_view QueryApiScheme(QueryApi api) {
  for (const SchemeInfo& info : kSchemes) {
    if (info.api == api) return info.scheme;
  }
  return "jaeger";
}

std::string QueryTarget::HttpBase() const {
  return fmt::format("{}://{}{}", tls ? "https" : "http", address.ToString(), base_path);
}

Result<QueryTarget> ParseQueryTarget(std::string_view query_url) {
  const size_t sep = query_url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return MakeError(fmt::format("query URL \"{}\" has no scheme (expected {})", query_url,
                                 kExpected));
  }
  std::string_view scheme = query_url.substr(0, sep);
  // "jaeger+https": the API, then TLS as the transport.
  constexpr std::string_view kTlsSuffix = "+https";
  const bool tls = scheme.size() > kTlsSuffix.size() && scheme.ends_with(kTlsSuffix);
  if (tls) scheme.remove_suffix(kTlsSuffix.size());
  const auto info = std::find_if(kSchemes.begin(), kSchemes.end(),
                                 [&](const SchemeInfo& s) { return s.scheme == scheme; });
  if (info == kSchemes.end()) {
    if (scheme == "http" || scheme == "https") {
      return MakeError(fmt::format(
          "query URL \"{}\": {}:// does not say which query API the server speaks; name it "
          "with the same host and port: {}{}",
          query_url, scheme, kExpected,
          scheme == "https" ? " (for TLS, add +https to the API: jaeger+https://...)" : ""));
    }
    return MakeError(fmt::format("query URL \"{}\": unknown scheme \"{}\"{}; expected {}",
                                 query_url, scheme, DidYouMeanScheme(scheme), kExpected));
  }
  auto url = ParseUrl(query_url, info->default_port);
  if (!url) return MakeError(fmt::format("query URL {}", url.error().message));
  if (url->address.host.empty()) {
    return MakeError(fmt::format("query URL \"{}\" has no host", query_url));
  }
  if (url->address.port == 0) {
    return MakeError(fmt::format("query URL \"{}\": port 0 cannot be queried", query_url));
  }
  if (url->path.find_first_of("?#") != std::string::npos) {
    return MakeError(fmt::format(
        "query URL \"{}\": a query string or fragment has no meaning here", query_url));
  }
  QueryTarget target;
  target.api = info->api;
  target.address = std::move(url->address);
  target.base_path = std::move(url->path);
  target.tls = tls;
  while (!target.base_path.empty() && target.base_path.back() == '/') target.base_path.pop_back();
  return target;
}

std::unique_ptr<BackendClient> MakeBackendClient(const QueryTarget& target,
                                                 std::unique_ptr<HttpFetcher> fetcher) {
  if (!target.base_path.empty()) {
    fetcher = std::make_unique<BasePathFetcher>(std::move(fetcher), target.base_path);
  }
  std::string base = target.HttpBase();
  switch (target.api) {
    case QueryApi::kJaegerV3:
      return MakeJaegerV3Client(std::move(fetcher), std::move(base));
    case QueryApi::kZipkinV2:
      return MakeZipkinV2Client(std::move(fetcher), std::move(base));
    case QueryApi::kTempo:
      return MakeTempoClient(std::move(fetcher), std::move(base));
    case QueryApi::kTracerig:
      return MakeTracerigClient(std::move(fetcher), std::move(base));
    case QueryApi::kJaegerV1:
      break;
  }
  return MakeJaegerV1Client(std::move(fetcher), std::move(base));
}

Result<BackendClientFactory> MakeBackendClientFactory(std::string_view query_url,
                                                      const std::vector<Header>& headers,
                                                      HttpClientOptions options) {
  auto parsed = ParseQueryTarget(query_url);
  if (!parsed) return parsed.error();
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(headers.size());
  for (const Header& header : headers) {
    if (auto ok = CheckHeader(header); !ok) return ok.error();
    pairs.emplace_back(header.name, header.value);
  }
  if (!parsed->tls) {
    options.tls.reset();
  } else if (!options.tls) {
    auto roots = LoadTlsClientContext({});
    if (!roots) {
      return MakeError(fmt::format("query URL \"{}\": {}", query_url, roots.error().message));
    }
    options.tls = std::move(*roots);
  }
  return BackendClientFactory(
      [target = std::move(*parsed), pairs = std::move(pairs), options]() {
        auto fetcher = std::make_unique<BlockingHttpFetcher>(target.address.host,
                                                             target.address.port, options, pairs);
        return MakeBackendClient(target, std::move(fetcher));
      });
}

}  // namespace tracerig
