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

#include "ingest_batches.h"
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
  const std::vector<std::string> bodies =
      bench::EncodeIngestBatches(options.batches, options.batch);
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
