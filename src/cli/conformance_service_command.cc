// `tracerig conformance-service`: the W3C trace-context test harness's endpoint (POST /test).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/interrupt.h"
#include "cli/listen.h"
#include "cli/rig.h"
#include "net/address.h"
#include "report/run_report.h"
#include "topology/conformance_service.h"

namespace tracerig {
namespace {

constexpr std::string_view kDefaultListen = "127.0.0.1:7779";

// The service, its flags parsed: runs until Ctrl-C.
CommandOutcome ServeConformance(const ParsedFlags& flags) {
  if (!flags.positional.empty()) {
    return UsageError(fmt::format("unexpected argument \"{}\"", flags.positional[0]));
  }
  auto endpoint =
      ParseListenAddress("listen", flags.Get("listen").value_or(std::string(kDefaultListen)));
  if (!endpoint) return FailureFrom(endpoint.error());
  if (auto s = CheckCanListen("listen", *endpoint); !s) return FailureFrom(s.error());
  const std::atomic<bool>& stop = InstallInterruptHandler(kStopInterruptMessage);
  asio::io_context ioc(1);
  ConformanceService service(ioc, RandomRunSeed());
  if (auto s = service.Listen(*endpoint); !s) return FailureFrom(s.error());
  std::printf("tracerig conformance-service %s listening on http://%s:%u/test\nCtrl-C to stop.\n",
              TracerigVersion(), service.local_endpoint().address().to_string().c_str(),
              service.local_endpoint().port());
  std::fflush(stdout);
  while (!stop.load()) ioc.run_for(std::chrono::milliseconds(100));
  auto stats = service.stats();
  std::printf("stopped: %llu requests, %llu callbacks (%llu failed), %llu restarted traces\n",
              static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(stats.callbacks),
              static_cast<unsigned long long>(stats.callback_failures),
              static_cast<unsigned long long>(stats.restarted));
  return kExitPass;
}

}  // namespace

int ConformanceServiceCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {
      {"listen", "HOST:PORT",
       fmt::format("where to listen (default {}; port 0 picks a free port)", kDefaultListen)},
  };
  std::string help = CommandHelp(
      "tracerig conformance-service [--listen HOST:PORT]",
      "Serves the W3C trace-context test harness's service protocol on POST /test, so the official\n"
      "test suite (github.com/w3c/trace-context, test/) can check tracerig's W3C propagator. For each\n"
      "{\"url\", \"arguments\"} element of the posted array, in order, it POSTs `arguments` to `url`\n"
      "with the propagated traceparent/tracestate, then answers. Point the suite at it with\n"
      "  python3 test/test.py http://" + std::string(kDefaultListen) + "/test\n"
      "(see README.md). Runs until Ctrl-C.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("conformance-service", args, specs, help, flags)) return *code;
  return ExitCodeOf("conformance-service", ServeConformance(flags));
}

}  // namespace tracerig
