// End-to-end tests of how the tracerig binary refuses what it cannot do: the exit code (2 for
// anything the user typed, 3 for what could not be started), a message that says why, and no
// work started before a check that could fail.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/cli/run_tracerig.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ProcessResult;
using tracerig::testing::RunTracerig;

// Runs a command that would serve until Ctrl-C: interrupted as soon as it says it is up.
ProcessResult RunUntilUp(const std::vector<std::string>& args) {
  bool interrupted = false;
  return RunTracerig(args, [&](pid_t pid, const std::string& output) {
    if (!interrupted && output.find("Ctrl-C to stop.") != std::string::npos) {
      interrupted = true;
      kill(pid, SIGINT);
    }
  });
}

// A loopback TCP port held open (listening) for the test's lifetime.
class TakenPort {
 public:
  TakenPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 1) != 0) {
      ADD_FAILURE() << "cannot bind a loopback port";
      return;
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = std::to_string(ntohs(addr.sin_port));
  }
  ~TakenPort() { close(fd_); }
  TakenPort(const TakenPort&) = delete;
  TakenPort& operator=(const TakenPort&) = delete;

  const std::string& port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + port_; }

 private:
  int fd_ = -1;
  std::string port_;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(UsageE2eTest, MistypedFlagsCommandsAndValuesGetADidYouMean) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"run", "scenarios/quickstart.toml", "--dration", "1s"},
       "tracerig run: unknown flag \"--dration\" (did you mean \"--duration\"?)"},
      {{"verify", "scenarios/quickstart.toml", "--leger", "x"},
       "tracerig verify: unknown flag \"--leger\" (did you mean \"--ledger\"?)"},
      {{"backend", "--zipkn", "off"},
       "tracerig backend: unknown flag \"--zipkn\" (did you mean \"--zipkin\"?)"},
      {{"rnu", "scenarios/quickstart.toml"},
       "tracerig: unknown command \"rnu\" (did you mean \"run\"?)"},
      {{"report", "merg"},
       "tracerig report: unknown subcommand \"merg\" (did you mean \"merge\"?)"},
      {{"run", "scenarios/quickstart.toml", "--export-protocol", "gprc"},
       "--export-protocol \"gprc\" is not one of otlp-http, otlp-http-json, otlp-grpc, zipkin "
       "(did you mean \"otlp-grpc\"?)"},
      {{"run", "scenarios/quickstart.toml", "--export-protocol", "zipkn"},
       "(did you mean \"zipkin\"?)"},
      {{"run", "scenarios/quickstart.toml", "--report", "htlm"},
       "--report: unknown format \"htlm\" (did you mean \"html\"?)"},
      {{"run", "scenarios/quickstart.toml", "--backend", "jaeger://127.0.0.1:1", "--export",
        "otlp-gprc://127.0.0.1:1"},
       "unknown export scheme \"otlp-gprc\" (did you mean \"otlp-grpc\"?)"},
      {{"run", "scenarios/quickstart.toml", "--fail-on", "completenes"},
       "(did you mean \"completeness\"?)"},
      {{"run", "scenarios/quickstart.toml", "--duration", "--rate", "5"},
       "tracerig run: --duration needs a value; got the flag --rate"},
  };
  for (const auto& c : cases) {
    auto r = RunTracerig(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args.back() << "\n" << r.output;
    EXPECT_TRUE(Contains(r.output, c.message)) << c.message << "\n---\n" << r.output;
  }
}

// `report`'s usage errors: exit 2, "tracerig report SUBCOMMAND: PROBLEM" on a line of its own.
TEST(UsageE2eTest, ReportUsageErrorsSayWhatIsWrong) {
  struct Case {
    std::vector<std::string> args;
    std::string output;
  };
  const Case cases[] = {
      {{"report", "merge"},
       "tracerig report merge: give at least one run folder or report.json (see 'tracerig report "
       "merge --help')\n"},
      {{"report", "diff", "a"},
       "tracerig report diff: give exactly two runs, A (the baseline) and B (see 'tracerig report "
       "diff --help')\n"},
      {{"report", "diff", "a", "b", "--threshold", "x"},
       "tracerig report diff: --threshold \"x\" must be a percentage like 10 (0 or more)\n"},
      {{"report", "render"},
       "tracerig report render: give exactly one run folder or report.json (see 'tracerig report "
       "render --help')\n"},
      {{"report", "render", "a", "--report", "pdf"},
       "tracerig report render: --report: unknown format \"pdf\" (formats: json, junit, markdown, "
       "html)\n"},
      {{"report", "merge", "a", "--report", "jnuit"},
       "tracerig report merge: --report: unknown format \"jnuit\" (did you mean \"junit\"?) "
       "(formats: json, junit, markdown, html)\n"},
  };
  for (const auto& c : cases) {
    auto r = RunTracerig(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.output, c.output);
  }
  auto fail_on = RunTracerig({"report", "render", "a", "--fail-on", "nope"});
  EXPECT_EQ(fail_on.exit_code, 2);
  EXPECT_EQ(
      fail_on.output.rfind("tracerig report render: --fail-on: unknown check kind \"nope\"", 0), 0u)
      << fail_on.output;
  auto unreadable = RunTracerig({"report", "merge", "no-such-run"});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_EQ(unreadable.output.rfind("tracerig report merge: ", 0), 0u) << unreadable.output;
  auto bare = RunTracerig({"report"});
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_EQ(bare.output.rfind("Usage: tracerig report SUBCOMMAND", 0), 0u) << bare.output;
}

// A bad address is the user's to fix: exit 2 from every command and flag taking one.
TEST(UsageE2eTest, BadAddressesAreUsageErrorsEverywhere) {
  const std::vector<std::vector<std::string>> cases = {
      {"backend", "--otlp-http", "nonsense"},
      {"backend", "--query", "nonsense"},
      {"backend", "--zipkin", "nonsense"},
      {"backend", "--otlp-grpc", "nonsense"},
      {"backend", "--otlp-http", "127.0.0.1:99999"},
      {"conformance-service", "--listen", "foo"},
      {"run", "scenarios/quickstart.toml", "--backend", "nonsense"},
      {"run", "scenarios/quickstart.toml", "--backend", "jaeger://127.0.0.1:1", "--export",
       "nonsense"},
      {"serve", "scenarios/quickstart.toml", "--backend", "jaeger://h:x"},
      {"verify", "scenarios/quickstart.toml", "--ledger", "x", "--backend", "nonsense"},
  };
  for (const auto& args : cases) {
    auto r = RunUntilUp(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[args.size() - 2] << " " << args.back()
                              << "\n"
                              << r.output;
  }
}

TEST(UsageE2eTest, ABadListenAddressNamesTheFlag) {
  auto backend = RunTracerig({"backend", "--otlp-http", "nonsense"});
  EXPECT_EQ(backend.exit_code, 2);
  EXPECT_EQ(backend.output, "tracerig backend: --otlp-http: \"nonsense\" is not HOST:PORT\n");
  auto conformance = RunTracerig({"conformance-service", "--listen", "foo"});
  EXPECT_EQ(conformance.exit_code, 2);
  EXPECT_EQ(conformance.output,
            "tracerig conformance-service: --listen: \"foo\" is not HOST:PORT\n");
}

// A port in use says so, and gRPC's own log lines do not come before it.
TEST(UsageE2eTest, APortInUseIsNamedWithoutGrpcLogLines) {
  TakenPort taken;
  const std::string others_free[] = {"--otlp-http", "127.0.0.1:0", "--query",     "127.0.0.1:0",
                                     "--zipkin",    "off",         "--otlp-grpc", "off"};
  for (const char* flag : {"--otlp-grpc", "--otlp-http", "--query", "--zipkin"}) {
    std::vector<std::string> args = {"backend"};
    for (size_t i = 0; i < std::size(others_free); i += 2) {
      args.push_back(others_free[i]);
      args.push_back(others_free[i] == std::string(flag) ? taken.address() : others_free[i + 1]);
    }
    auto r = RunUntilUp(args);
    EXPECT_EQ(r.exit_code, 3) << flag << "\n" << r.output;
    EXPECT_TRUE(Contains(r.output, "port " + taken.port() + " is in use")) << flag << "\n"
                                                                           << r.output;
    EXPECT_FALSE(Contains(r.output, "chttp2")) << r.output;
    EXPECT_FALSE(Contains(r.output, "errno")) << r.output;
  }
  auto conformance = RunUntilUp({"conformance-service", "--listen", taken.address()});
  EXPECT_EQ(conformance.exit_code, 3) << conformance.output;
  EXPECT_TRUE(Contains(conformance.output, "port " + taken.port() + " is in use"))
      << conformance.output;
}

// --report-dir is checked before anything starts: no load is driven into a run that cannot be
// reported.
TEST(UsageE2eTest, AReportDirThatCannotBeCreatedStopsTheRunBeforeTheLoad) {
  const fs::path dir = MakeScratchDir("tracerig-usage");
  ASSERT_FALSE(dir.empty());
  const fs::path file = dir / "a-file";
  std::ofstream(file) << "not a directory\n";
  for (const fs::path& bad : {file, file / "below"}) {
    auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "200ms", "--rate", "10",
                          "--report-dir", bad.string()});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(Contains(r.output, "tracerig run: --report-dir \"" + bad.string() + "\": "))
        << r.output;
    EXPECT_FALSE(Contains(r.output, "services up")) << r.output;
    EXPECT_FALSE(Contains(r.output, "PASS")) << r.output;
  }
  fs::remove_all(dir);
}

// --no-verify queries nothing, so --export needs no --backend.
TEST(UsageE2eTest, NoVerifyExportsWithoutABackendToQuery) {
  const fs::path dir = MakeScratchDir("tracerig-usage");
  ASSERT_FALSE(dir.empty());
  // Nothing listens on port 1: the spans are lost, which --no-verify does not look at.
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "300ms", "--rate", "10",
                        "--no-verify", "--export", "otlp-http://127.0.0.1:1", "--report-dir",
                        dir.string()});
  EXPECT_NE(r.exit_code, 2) << r.output;
  EXPECT_FALSE(Contains(r.output, "no query backend")) << r.output;
  EXPECT_TRUE(Contains(r.output, "services up")) << r.output;
  fs::remove_all(dir);
}

}  // namespace
