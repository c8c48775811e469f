// A separate load process for benchmarking OTLP/HTTP ingest: pre-encodes batches of realistic spans
// (ExportTraceServiceRequest protobuf), then POSTs them over N keep-alive connections for a while
// and prints what the receiver accepted. Run by bench/backend/ingest.sh against `tracerig backend`
// and, as the reference, against nginx answering 200 to every POST.
//
//   ingest_load --target 127.0.0.1:4318 [--connections 4] [--seconds 10] [--batch 512]
//               [--batches 1000] [--path /v1/traces]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/rng.h"
#include "core/span.h"
#include "export/otlp_codec.h"
#include "net/address.h"
#include "net/http_client.h"

namespace tracerig {
namespace {

struct Options {
  std::string target = "127.0.0.1:4318";
  std::string path = "/v1/traces";
  size_t connections = 4;
  double seconds = 10;
  size_t batch = 512;
  size_t batches = 1000;
};

// Eight-span traces shaped like the quickstart's: a driver CLIENT span, then SERVER/CLIENT pairs,
// each with the attributes simulated services set. Distinct trace and span ids throughout.
std::vector<std::string> EncodeBatches(const Options& options) {
  static const char* kServices[] = {"frontend", "cart", "checkout", "payment", "catalog",
                                    "shipping", "email", "currency", "ads", "recommendation"};
  Rng rng(42);
  std::vector<std::string> bodies;
  bodies.reserve(options.batches);
  const uint64_t t0 = 1'764'000'000'000'000'000ull;
  for (size_t b = 0; b < options.batches; ++b) {
    std::vector<Span> spans;
    spans.reserve(options.batch);
    Span parent;
    for (size_t i = 0; i < options.batch; ++i) {
      Span s;
      if (i % 8 == 0) {
        s.trace_id = TraceId{rng.NextNonZero(), rng.Next()};
      } else {
        s.trace_id = parent.trace_id;
        s.parent_span_id = parent.span_id;
      }
      s.span_id = SpanId{rng.NextNonZero()};
      s.kind = i % 2 == 0 ? SpanKind::kServer : SpanKind::kClient;
      s.service_name = kServices[(b + i) % 10];
      s.name = fmt::format("GET /api/{}", kServices[i % 10]);
      s.start_unix_nano = t0 + b * 1'000'000 + i * 1000;
      s.end_unix_nano = s.start_unix_nano + 250'000 + rng.Next() % 1'000'000;
      s.flags = 1;
      s.attributes = {{"http.request.method", std::string("GET")},
                      {"http.route", s.name},
                      {"http.response.status_code", int64_t{200}},
                      {"server.address", std::string("127.0.0.1")},
                      {"server.port", int64_t{40000 + static_cast<int64_t>(i % 100)}},
                      {"tracerig.request_id", fmt::format("{:016x}", rng.Next())},
                      {"tracerig.hop", fmt::format("0.{}", i % 8)}};
      s.resource_attributes = {{"telemetry.sdk.name", std::string("tracerig")}};
      parent = s;
      spans.push_back(std::move(s));
    }
    bodies.push_back(EncodeOtlpProtobuf(spans));
  }
  return bodies;
}

int Main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--target") {
      options.target = value;
    } else if (flag == "--path") {
      options.path = value;
    } else if (flag == "--connections") {
      options.connections = std::strtoul(value, nullptr, 10);
    } else if (flag == "--seconds") {
      options.seconds = std::strtod(value, nullptr);
    } else if (flag == "--batch") {
      options.batch = std::strtoul(value, nullptr, 10);
    } else if (flag == "--batches") {
      options.batches = std::strtoul(value, nullptr, 10);
    } else {
      std::fprintf(stderr, "ingest_load: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto address = ParseHostPort(options.target);
  if (!address || options.connections == 0 || options.batch == 0 || options.batches == 0) {
    std::fprintf(stderr, "ingest_load: bad --target or a zero count\n");
    return 2;
  }
  const std::vector<std::string> bodies = EncodeBatches(options);
  size_t encoded_bytes = 0;
  for (const auto& b : bodies) encoded_bytes += b.size();

  std::atomic<uint64_t> ok{0}, failed{0}, transport{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (size_t c = 0; c < options.connections; ++c) {
    threads.emplace_back([&, c] {
      BlockingHttpClient client(address->host, address->port);
      for (size_t n = c; !stop.load(std::memory_order_relaxed); n += options.connections) {
        auto r = client.Request(http::verb::post, options.path, "application/x-protobuf",
                                bodies[n % bodies.size()]);
        if (!r) {
          transport++;
          if (transport.load() > 100) return;
          continue;
        }
        (r->status == 200 ? ok : failed)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double spans = static_cast<double>(ok.load() * options.batch);
  std::printf(
      "batches_ok %llu batches_failed %llu transport_errors %llu spans %.0f seconds %.2f "
      "spans_per_second %.0f bytes_per_span %.1f\n",
      static_cast<unsigned long long>(ok.load()), static_cast<unsigned long long>(failed.load()),
      static_cast<unsigned long long>(transport.load()), spans, elapsed, spans / elapsed,
      static_cast<double>(encoded_bytes) / static_cast<double>(bodies.size() * options.batch));
  return failed.load() == 0 && transport.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tracerig

int main(int argc, char** argv) { return tracerig::Main(argc, argv); }
