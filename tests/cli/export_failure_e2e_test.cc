// End to end: an export target that refuses connections. The run must say why the spans never
// left tracerig, judge their traces "not exported" rather than missing, and exit 3.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ReadJsonUnder;
using tracerig::testing::RunTracerig;

// `tracerig backend` on ports chosen by the OS, as its own process; stopped with SIGINT.
class BackendProcess {
 public:
  BackendProcess() {
    int pipefd[2];
    if (pipe(pipefd) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipefd[1], STDOUT_FILENO);
      dup2(pipefd[1], STDERR_FILENO);
      close(pipefd[0]);
      close(pipefd[1]);
      execl(TRACERIG_BINARY, TRACERIG_BINARY, "backend", "--query", "127.0.0.1:0", "--otlp-http",
            "127.0.0.1:0", "--zipkin", "off", "--otlp-grpc", "off", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(pipefd[1]);
    out_ = fdopen(pipefd[0], "r");
    // "query:     http://127.0.0.1:PORT/api/traces"
    const std::regex query(R"(query:\s+http://127\.0\.0\.1:(\d+)/)");
    char line[512];
    while (out_ != nullptr && std::fgets(line, sizeof line, out_) != nullptr) {
      output_ += line;
      std::smatch m;
      const std::string text = line;
      if (std::regex_search(text, m, query)) {
        query_port_ = m[1];
        break;
      }
    }
  }
  ~BackendProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGINT);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (out_ != nullptr) std::fclose(out_);
  }
  const std::string& query_port() const { return query_port_; }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string output_;
  std::string query_port_;
};

TEST(ExportFailureE2eTest, RefusedExportIsNotExportedWithTheReasonAndExits3) {
  const fs::path dir = MakeScratchDir("tracerig-export-e2e");
  ASSERT_FALSE(dir.empty());
  BackendProcess backend;
  ASSERT_FALSE(backend.query_port().empty()) << backend.output();
  // Nothing listens on port 1 (binding it needs privileges): every connect is refused.
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "1s", "--backend",
                        "tracerig://127.0.0.1:" + backend.query_port(), "--export",
                        "otlp-http://127.0.0.1:1", "--report-dir", dir.string()});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("Connection refused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("400 dropped (export failed): 400 after 5 retries: "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("not exported 50"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("missing 50"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ERROR: the exporter could not deliver 400 of 400 spans to "
                          "otlp-http://127.0.0.1:1/v1/traces: "),
            std::string::npos)
      << r.output;

  const nlohmann::json report = ReadJsonUnder(dir, "report.json");
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["verdict"]["exit_code"], 3);
  EXPECT_NE(report.dump().find("Connection refused"), std::string::npos);
  EXPECT_EQ(report["verification"]["not_exported"], 50);
  EXPECT_EQ(report["verification"]["missing"], 0);
  const nlohmann::json& failures = report["export"]["failures"];
  ASSERT_EQ(failures.size(), 1u) << report["export"];
  EXPECT_EQ(failures[0]["reason"], "retries-exhausted");
  EXPECT_EQ(failures[0]["spans"], 400);
  EXPECT_NE(failures[0]["first_error"].get<std::string>().find("Connection refused"),
            std::string::npos);
  EXPECT_EQ(report["export"]["lost_traces"], 50);
  fs::remove_all(dir);
}

}  // namespace
