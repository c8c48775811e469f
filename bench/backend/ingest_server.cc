// The embedded backend alone, for ingest profiles and for measuring the backend without building
// the whole CLI: OTLP/HTTP and the query port only (no gRPC, no Zipkin), unbounded store. Prints
// the same "otlp-http: http://HOST:PORT/v1/traces" line as `tracerig backend`, then serves until
// killed.
//
//   ingest_server [HOST:PORT]        (default 127.0.0.1:0)
#include <chrono>
#include <cstdio>
#include <thread>

#include "backend/embedded_backend.h"

int main(int argc, char** argv) {
  tracerig::EmbeddedBackendOptions options;
  options.otlp_http = argc > 1 ? argv[1] : "127.0.0.1:0";
  options.query = "127.0.0.1:0";
  options.max_spans = 0;  // no bound: the benchmark measures memory per stored span
  tracerig::EmbeddedBackend backend(options);
  if (auto s = backend.Start(); !s) {
    std::fprintf(stderr, "ingest_server: %s\n", s.error().message.c_str());
    return 1;
  }
  const auto otlp = backend.otlp_http_endpoint();
  std::printf("otlp-http: http://%s:%u/v1/traces\n", otlp.address().to_string().c_str(),
              otlp.port());
  std::fflush(stdout);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
