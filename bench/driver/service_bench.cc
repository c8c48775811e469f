// One simulated HTTP service (route "GET /", no latency, no downstream calls, tracing on) exporting
// to a null sink, for bench/run.sh to drive with wrk and compare with nginx. Prints "port=N" once
// listening, then serves until stdin closes; prints the requests, spans and each replica's share
// of the requests at the end. --replicas=N as TopologyOptions::replicas (0: one per thread).
#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/span_sink.h"
#include "topology/scenario.h"
#include "topology/topology_runtime.h"

namespace tracerig {
namespace {

class NullSink final : public SpanSink {
 public:
  void Submit(Span) override { spans_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t spans() const { return spans_.load(); }

 private:
  std::atomic<uint64_t> spans_{0};
};

int Main(int argc, char** argv) {
  size_t threads = 2;
  size_t replicas = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 10) == "--threads=") {
      threads = std::stoul(std::string(arg.substr(10)));
    } else if (arg.substr(0, 11) == "--replicas=") {
      replicas = std::stoul(std::string(arg.substr(11)));
    } else {
      std::fprintf(stderr,
                   "usage: service_bench [--threads=N] [--replicas=N]  (serves until stdin "
                   "closes)\n");
      return 2;
    }
  }
  Scenario scenario;
  scenario.name = "service-bench";
  Service service;
  service.name = "svc";
  service.listen = "127.0.0.1:0";
  Route route;
  route.name = "GET /";
  service.routes.push_back(route);
  scenario.services.push_back(service);
  scenario.load.entries = {{"svc", "GET /", 1.0}};

  NullSink sink;
  TopologyOptions options;
  options.threads = threads;
  options.replicas = replicas;
  options.id_seed = 1;
  TopologyRuntime topology(scenario, sink, SystemClock::Instance(), options);
  if (auto s = topology.Start(); !s) {
    std::fprintf(stderr, "service_bench: %s\n", s.error().message.c_str());
    return 1;
  }
  std::printf("port=%u\n", static_cast<unsigned>(topology.EndpointOf("svc")->port()));
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  topology.Stop();
  const TopologyStats stats = topology.stats();
  std::string shares;
  for (const TopologyStats& replica : topology.ReplicaStats("svc")) {
    shares += fmt::format("{}{}", shares.empty() ? "" : ",", replica.requests);
  }
  std::printf("requests=%llu spans=%llu replica_requests=%s\n",
              static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(sink.spans()), shares.c_str());
  return 0;
}

}  // namespace
}  // namespace tracerig

int main(int argc, char** argv) { return tracerig::Main(argc, argv); }
