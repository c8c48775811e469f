// The load driver on its own against any HTTP server, for bench/run.sh: no topology, no export.
// Two modes:
//   closed (default): `threads` x `connections` virtual users with no think time, raw requests (no
//     spans, no trace headers): the same shape as `wrk -t threads -c threads*connections`, to
//     compare requests/s against the same server.
//   --rate=R: open loop at R req/s with the driver's full request path (root spans, trace
//     context) into a null sink, at most `connections` per thread, to measure scheduling
//     precision (schedule lag).
// Prints one line of key=value pairs that run.sh parses.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/span_sink.h"
#include "driver/load_driver.h"
#include "driver/schedule.h"
#include "net/address.h"
#include "net/resolve.h"

namespace tracerig {
namespace {

class NullSink final : public SpanSink {
 public:
  void Submit(Span) override { spans_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t spans() const { return spans_.load(); }

 private:
  std::atomic<uint64_t> spans_{0};
};

bool Flag(std::string_view arg, std::string_view name, std::string& value) {
  if (arg.substr(0, name.size()) != name || arg.size() <= name.size() || arg[name.size()] != '=') {
    return false;
  }
  value = std::string(arg.substr(name.size() + 1));
  return true;
}

int Main(int argc, char** argv) {
  std::string target = "127.0.0.1:8080";
  uint32_t threads = 2;
  uint32_t connections = 32;
  double seconds = 10;
  double rate = 0;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (Flag(argv[i], "--target", v)) {
      target = v;
    } else if (Flag(argv[i], "--threads", v)) {
      threads = static_cast<uint32_t>(std::stoul(v));
    } else if (Flag(argv[i], "--connections", v)) {
      connections = static_cast<uint32_t>(std::stoul(v));
    } else if (Flag(argv[i], "--seconds", v)) {
      seconds = std::stod(v);
    } else if (Flag(argv[i], "--rate", v)) {
      rate = std::stod(v);
    } else {
      std::fprintf(stderr,
                   "usage: http_load_bench --target=HOST:PORT [--threads=N] [--connections=C "
                   "per thread] [--seconds=S] [--rate=R (open loop)]\n");
      return 2;
    }
  }
  auto host_port = ParseHostPort(target);
  if (!host_port) {
    std::fprintf(stderr, "http_load_bench: --target: %s\n", host_port.error().message.c_str());
    return 2;
  }
  auto endpoint = ResolveEndpoint(*host_port);
  if (!endpoint) {
    std::fprintf(stderr, "http_load_bench: %s\n", endpoint.error().message.c_str());
    return 2;
  }

  Scenario scenario;
  scenario.name = "http-load-bench";
  scenario.load.entries = {{"bench", "GET /", 1.0}};
  scenario.load.duration_ns = static_cast<uint64_t>(seconds * 1e9);
  DriverOptions options;
  options.threads = threads;
  options.connections = connections;
  std::unique_ptr<Schedule> schedule;
  if (rate > 0) {
    scenario.load.model = LoadModel::kConstant;
    scenario.load.rate = rate;
    auto made = MakeSchedule(scenario.load, 1);
    if (!made) {
      std::fprintf(stderr, "http_load_bench: %s\n", made.error().message.c_str());
      return 2;
    }
    schedule = std::move(*made);
  } else {
    scenario.load.model = LoadModel::kClosed;
    scenario.load.virtual_users = threads * connections;
    options.trace = false;
  }
  NullSink sink;
  LoadDriver driver(scenario, {*endpoint}, std::move(schedule), sink, SystemClock::Instance(),
                    options);
  std::atomic<bool> stop{false};
  DriverResult r = driver.Run(stop);
  const double elapsed = static_cast<double>(r.elapsed_ns) / 1e9;
  std::printf(
      "mode=%s threads=%u requests=%llu ok=%llu errors=%llu seconds=%.3f rps=%.1f "
      "lag_p50_ns=%llu lag_p99_ns=%llu lag_max_ns=%llu corrected_p99_ns=%llu "
      "uncorrected_p99_ns=%llu spans=%llu\n",
      rate > 0 ? "open" : "closed", r.threads, static_cast<unsigned long long>(r.sent),
      static_cast<unsigned long long>(r.ok),
      static_cast<unsigned long long>(r.http_errors + r.transport_errors), elapsed,
      elapsed > 0 ? static_cast<double>(r.ok) / elapsed : 0.0,
      static_cast<unsigned long long>(r.schedule_lag.Percentile(50)),
      static_cast<unsigned long long>(r.schedule_lag.Percentile(99)),
      static_cast<unsigned long long>(r.schedule_lag.max()),
      static_cast<unsigned long long>(r.corrected.Percentile(99)),
      static_cast<unsigned long long>(r.uncorrected.Percentile(99)),
      static_cast<unsigned long long>(sink.spans()));
  return r.ok > 0 ? 0 : 1;
}

}  // namespace
}  // namespace tracerig

int main(int argc, char** argv) { return tracerig::Main(argc, argv); }
