#include "cli/cli.h"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/grpc_log.h"
#include "cli/report_command.h"
#include "core/text.h"
#include "report/run_report.h"

namespace tracerig {
namespace {

constexpr const char* kUsage = R"(tracerig — prove that your distributed tracing works.

tracerig starts a synthetic microservice topology described in a TOML scenario, drives load
into it, lets every hop propagate trace context and export spans, then checks trace by trace in
the tracing backend that what was sent arrived: complete, correctly parented, unbroken.

Usage: tracerig COMMAND [ARGS...]

Commands:
  run SCENARIO.toml          start the topology (and the embedded backend unless the scenario
                             names another), drive load, flush, verify, report
  validate SCENARIO.toml...  parse and validate scenario files; every error as file:line:col
  serve SCENARIO.toml        start the topology and backend, print their URLs, run until Ctrl-C
  canary SCENARIO.toml       watch a live pipeline: write traces at a low rate until SIGTERM,
                             check each (by id, by search, again at later ages), /metrics
  backend                    run the embedded backend alone (OTLP/gRPC, OTLP/HTTP and Zipkin in;
                             Jaeger v1/v3 and Zipkin v2 query APIs out)
  verify SCENARIO.toml --ledger FILE
                             verify an earlier run's ledger against a backend, without load
  conformance-service        the W3C trace-context test-harness endpoint (POST /test), to run
                             the official trace-context test suite against tracerig
  report merge|diff|render   merge runs or shards, compare two runs, or write other formats
                             (HTML, JUnit, Markdown) from a run's report.json
  version                    print the version
  help [COMMAND]             this text, or a command's help (same as COMMAND --help)

Exit codes: 0 all checks passed · 1 conformance failures · 2 usage or scenario error ·
3 backend unreachable or infrastructure failure · 130 interrupted before anything was verified.

Run 'tracerig COMMAND --help' for a command's flags. Documentation: README.md, docs/SCENARIOS.md.
)";

}  // namespace

const char* TracerigVersion() { return TRACERIG_VERSION; }

namespace {

int Dispatch(const std::string& command, const std::vector<std::string>& rest) {
  if (command == "run") return RunCommand(rest);
  if (command == "validate") return ValidateCommand(rest);
  if (command == "backend") return BackendCommand(rest);
  if (command == "serve") return ServeCommand(rest);
  if (command == "canary") return CanaryCommand(rest);
  if (command == "verify") return VerifyCommand(rest);
  if (command == "conformance-service") return ConformanceServiceCommand(rest);
  if (command == "report") return ReportCommand(rest);
  constexpr std::string_view kCommands[] = {"run",    "validate", "backend",
                                            "serve",  "canary",   "verify",
                                            "conformance-service", "report", "version",
                                            "help"};
  std::fprintf(stderr, "tracerig: unknown command \"%s\"%s\n\n%s", command.c_str(),
               DidYouMean(command, kCommands, 2).c_str(), kUsage);
  return kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  SilenceGrpcLog();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string command = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "help" || command == "--help" || command == "-h") {
    if (!rest.empty()) return Dispatch(rest[0], {"--help"});
    std::fputs(kUsage, stdout);
    return kExitPass;
  }
  if (command == "version" || command == "--version") {
    std::printf("tracerig %s\n", TracerigVersion());
    return kExitPass;
  }
  return Dispatch(command, rest);
}

}  // namespace tracerig
