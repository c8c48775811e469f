// What recording an inbound request in the WireLog costs on a simulated service's request path:
// picking the propagation headers from a Beast request, then WireLog::Record (one allocation, one
// shard lock), with the log full (so every record also forgets one). Reports the log's memory per
// observation as a counter (bytes_per_observation: heap growth while filling it, over capacity).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <malloc.h>

#include <memory>
#include <string>
#include <thread>

#include "net/beast.h"
#include "net/beast_carrier.h"
#include "topology/wire_log.h"

namespace tracerig {
namespace {

// A hop as the simulated services send it: host, user agent, traceparent and tracerig's headers.
HttpRequest TypicalRequest(uint64_t i) {
  HttpRequest request{http::verb::post, "/pay", 11};
  request.set(http::field::host, "payment");
  request.set(http::field::user_agent, "tracerig");
  request.set("tracerig-request-id", fmt::format("{:016x}", i));
  request.set("tracerig-sequence", std::to_string(i));
  request.set("tracerig-hop", "0.1");
  request.set("tracerig-offset", "1250000000");
  request.set("traceparent", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01");
  return request;
}

void Record(WireLog& log, const HttpRequest& request, std::string_view request_id) {
  const BeastHeaderReader<true> reader(request);
  const PropagationHeaders headers(reader);
  log.Record(WireObservationView{"payment",
                                 "POST /pay",
                                 request_id,
                                 "0.1",
                                 {},
                                 GroundTruthSource::kHeaders,
                                 headers.fields(),
                                 true,
                                 TraceId{1, 2},
                                 SpanId{3},
                                 true,
                                 {},
                                 {},
                                 42});
}

// Bytes the heap has handed out (glibc's count), for the log's memory per observation.
size_t HeapBytes() { return mallinfo2().uordblks; }

// Record on a full log of the default capacity, shared by the benchmark's threads (as by a
// service's replicas); Arg: requests with tracerig's request id (1) or anonymous ones, as wrk
// sends (0). Request ids are made up front: the request path only views them.
std::unique_ptr<WireLog> shared_log;
std::vector<std::string> ids;
double per_observation = 0;

void BM_RecordInboundRequest(benchmark::State& state) {
  const bool keyed = state.range(0) != 0;
  std::vector<HttpRequest> requests;
  for (uint64_t i = 0; i < 1024; ++i) requests.push_back(TypicalRequest(i));
  if (state.thread_index() == 0) {
    if (ids.empty()) {
      for (uint64_t i = 0; i < (1u << 21); ++i) ids.push_back(fmt::format("{:016x}", i));
    }
    shared_log.reset();
    const size_t before = HeapBytes();
    shared_log = std::make_unique<WireLog>();
    for (size_t i = 0; i < shared_log->capacity(); ++i) {
      Record(*shared_log, requests[i % requests.size()], keyed ? ids[i] : std::string_view());
    }
    per_observation =
        static_cast<double>(HeapBytes() - before) / static_cast<double>(shared_log->capacity());
  }
  uint64_t i = static_cast<uint64_t>(state.thread_index()) << 20;
  for (auto _ : state) {
    const std::string_view id = keyed ? std::string_view(ids[i % ids.size()]) : std::string_view();
    Record(*shared_log, requests[i % requests.size()], id);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) state.counters["bytes_per_observation"] = per_observation;
}
BENCHMARK(BM_RecordInboundRequest)->Arg(1)->Arg(0)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace tracerig
