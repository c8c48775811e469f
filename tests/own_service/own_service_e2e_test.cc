// A real third-party service in a tracerig run (issue 16): server.cjs, a Node.js HTTP service
// instrumented with the OpenTelemetry JS SDK, as the scenario's leaf, its load entry and a middle
// hop between two simulated services. With the SDK's propagators the run passes; with none
// (OWN_SERVICE_PROPAGATION=none, the service then starts a new trace per request) it exits 1 and a
// verdict line names the service. The scenarios start it with `command`; one test starts it itself
// from the --urls-env file, as a user's script would. One process runs the suite (one ctest entry)
// so setup_js.sh installs the packages once; the suite skips when node, npm or the registry is
// unavailable.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/cli/run_tracerig.h"
#include "tests/support/free_port.h"
#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

using testing::ProcessResult;
using testing::RunTracerig;

constexpr const char* kService = "fraud-check";

// Runs a shell command, returning its exit status (-1 when it did not exit) and its output.
int RunShell(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A TOML basic string.
std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Where the real service sits in the scenario.
enum class Shape {
  kLeaf,    // driver -> front -> fraud-check
  kEntry,   // driver -> fraud-check -> payment
  kMiddle,  // driver -> front -> fraud-check -> payment
};

struct ScenarioOptions {
  Shape shape = Shape::kLeaf;
  uint16_t port = 0;
  bool propagation = true;
  bool command = true;  // false: the test starts the service
};

// The node service's command line: its port, its downstream (payment's route, from the variable
// tracerig sets) and its propagation switch.
std::string NodeCommand(const ScenarioOptions& o) {
  std::string command = "cd " + ShellQuote(TRACERIG_OWN_SERVICE_JS_DIR) +
                        " && PORT=" + std::to_string(o.port) +
                        " OWN_SERVICE_PROPAGATION=" + (o.propagation ? "default" : "none");
  if (o.shape != Shape::kLeaf) command += " DOWNSTREAM_URL=\"$TRACERIG_URL_PAYMENT/charge\"";
  return command + " exec node server.cjs";
}

std::string ScenarioText(const ScenarioOptions& o) {
  const bool front = o.shape != Shape::kEntry;
  const bool payment = o.shape != Shape::kLeaf;
  std::string text =
      "[scenario]\n"
      "name = \"own-service\"\n"
      "seed = 7\n"
      "\n"
      "[load]\n"
      "rate = 20\n"
      "duration = \"2s\"\n"
      "\n"
      "[[load.entries]]\n";
  text += front ? "service = \"front\"\nroute = \"GET /checkout\"\n\n"
                : "service = \"fraud-check\"\nroute = \"GET /score\"\n\n";
  if (front) {
    text +=
        "[[services]]\n"
        "name = \"front\"\n"
        "routes = [{ name = \"GET /checkout\", calls = [{ service = \"fraud-check\", route = "
        "\"GET /score\" }] }]\n\n";
  }
  text += "[[services]]\n";
  text += "name = \"fraud-check\"\n";
  text += "url = \"http://127.0.0.1:" + std::to_string(o.port) + "\"\n";
  if (o.command) text += "command = " + TomlString(NodeCommand(o)) + "\n";
  text += "start_timeout = \"20s\"\n";
  text += payment ? "routes = [{ name = \"GET /score\", calls = [{ service = \"payment\", route = "
                    "\"GET /charge\" }] }]\n\n"
                  : "routes = [{ name = \"GET /score\" }]\n\n";
  if (payment) {
    text +=
        "[[services]]\n"
        "name = \"payment\"\n"
        "routes = [{ name = \"GET /charge\" }]\n";
  }
  return text;
}

// Whether a verdict line of the summary ("  broken trace ...: ...", "  incomplete trace ...",
// "  propagation breaks A -> B ...") names `service`.
bool AVerdictNames(const std::string& output, const std::string& service) {
  const std::regex line("(^|\n)  (propagation breaks |[a-z]+ trace [0-9a-f]{32}: )[^\n]*" +
                        service);
  return std::regex_search(output, line);
}

class OwnServiceE2e : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    std::string output;
    const int setup = RunShell(
        "/bin/sh " + ShellQuote(std::string(TRACERIG_SOURCE_DIR) + "/tests/interop/setup_js.sh") +
            " " + ShellQuote(std::string(TRACERIG_SOURCE_DIR) + "/tests/own_service") + " " +
            ShellQuote(TRACERIG_OWN_SERVICE_JS_DIR),
        output);
    std::fputs(output.c_str(), stdout);
    if (setup == 77) {
      skip_reason_ = "the OpenTelemetry JS SDK is unavailable: " + output;
      // Matched by the ctest SKIP_REGULAR_EXPRESSION so the whole suite shows as skipped.
      std::printf("own-service: SKIPPING the Node.js own-service suite\n");
    } else if (setup != 0) {
      setup_error_ = "setup_js.sh failed (exit " + std::to_string(setup) + "):\n" + output;
    }
  }

 protected:
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    dir_ = test_support::MakeScratchDir("tracerig-own-service");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string WriteScenario(const ScenarioOptions& o) {
    const std::filesystem::path path = dir_ / "scenario.toml";
    std::ofstream(path) << ScenarioText(o);
    return path.string();
  }

  ProcessResult Run(const ScenarioOptions& o, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", WriteScenario(o), "--report-dir",
                                     (dir_ / "reports").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunTracerig(args);
  }

  // The service's log in the run's report folder ("" when there is none).
  std::string ServiceLog() {
    if (!std::filesystem::exists(dir_ / "reports")) return "";
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "reports")) {
      if (e.path().filename() == std::string(kService) + ".log") return ReadFile(e.path());
    }
    return "";
  }

  // The run passes; the service was started, waited for and stopped with its spans flushed.
  void ExpectPass(const ScenarioOptions& o) {
    const ProcessResult run = Run(o);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("PASS: 40 of 40 traces complete"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("started fraud-check (pid "), std::string::npos) << run.output;
    EXPECT_LT(run.output.find("fraud-check is up"), run.output.find("verifying"));
    const std::string log = ServiceLog();
    EXPECT_NE(log.find("listening on http://127.0.0.1:" + std::to_string(o.port)),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("SIGTERM: spans flushed, exiting"), std::string::npos) << log;
  }

  // The run fails its checks and a verdict line names the real service.
  void ExpectFailureNamingIt(const ScenarioOptions& o) {
    const ProcessResult run = Run(o);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_TRUE(AVerdictNames(run.output, kService)) << run.output;
  }

  std::filesystem::path dir_;
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
};

TEST_F(OwnServiceE2e, AsALeafItContinuesTheTrace) { ExpectPass({Shape::kLeaf, test_support::FreeLoopbackPort(), true}); }

TEST_F(OwnServiceE2e, AsALeafWithoutPropagationItIsNamed) {
  ExpectFailureNamingIt({Shape::kLeaf, test_support::FreeLoopbackPort(), false});
}

TEST_F(OwnServiceE2e, AsTheLoadEntryItContinuesTheTraceToItsDownstream) {
  ExpectPass({Shape::kEntry, test_support::FreeLoopbackPort(), true});
}

TEST_F(OwnServiceE2e, AsTheLoadEntryWithoutPropagationItIsNamed) {
  ExpectFailureNamingIt({Shape::kEntry, test_support::FreeLoopbackPort(), false});
}

TEST_F(OwnServiceE2e, AsAMiddleHopItContinuesTheTrace) {
  ExpectPass({Shape::kMiddle, test_support::FreeLoopbackPort(), true});
}

TEST_F(OwnServiceE2e, AsAMiddleHopWithoutPropagationItIsNamed) {
  ExpectFailureNamingIt({Shape::kMiddle, test_support::FreeLoopbackPort(), false});
}

// No `command`: the run writes --urls-env and waits for the service, which the test starts from
// that file the way a CI script would (`set -a; . FILE; set +a`).
TEST_F(OwnServiceE2e, StartedByHandFromTheUrlsEnvFile) {
  ScenarioOptions o{Shape::kLeaf, test_support::FreeLoopbackPort(), true, /*command=*/false};
  const std::filesystem::path env_file = dir_ / "urls.env";
  ProcessResult run;
  std::thread runner([&] { run = Run(o, {"--urls-env", env_file.string()}); });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(env_file) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string env = ReadFile(env_file);
  pid_t node = -1;
  if (!env.empty()) {
    const std::string log = (dir_ / "node.log").string();
    const std::string script = "set -a; . " + ShellQuote(env_file.string()) + "; set +a; cd " +
                               ShellQuote(TRACERIG_OWN_SERVICE_JS_DIR) +
                               " && PORT=" + std::to_string(o.port) + " exec node server.cjs >" +
                               ShellQuote(log) + " 2>&1";
    node = fork();
    if (node == 0) {
      execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  runner.join();
  if (node > 0) {
    kill(node, SIGTERM);
    waitpid(node, nullptr, 0);
  }

  ASSERT_FALSE(env.empty()) << "no " << env_file << " within 20s:\n" << run.output;
  EXPECT_TRUE(
      std::regex_search(env, std::regex("\nTRACERIG_URL_FRONT=http://127\\.0\\.0\\.1:[0-9]+\n")))
      << env;
  EXPECT_TRUE(std::regex_search(
      env, std::regex("\nOTEL_EXPORTER_OTLP_ENDPOINT=http://127\\.0\\.0\\.1:[0-9]+\n")))
      << env;
  EXPECT_NE(env.find("\nOTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n"), std::string::npos) << env;
  EXPECT_NE(env.find("\nOTEL_SERVICE_NAME=fraud-check\n"), std::string::npos) << env;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("PASS: 40 of 40 traces complete"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("waiting up to 20s for fraud-check"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace tracerig
