// A real HTTP server as the load entry: `tracerig run` drives nginx (an external service with
// `url`) and every request is answered; with nginx gone, every request fails and the summary
// says "connection refused". nginx is started by the test (one worker, a temporary prefix, a free
// port); the test skips, saying why, only when nginx is not installed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "tests/cli/run_tracerig.h"
#include "tests/support/free_port.h"
#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";

class Nginx {
 public:
  // Starts nginx in the foreground on a free port under `dir`; pid() < 0 when it could not.
  explicit Nginx(const std::filesystem::path& dir) {
    for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) Start(dir);
  }
  ~Nginx() { Stop(); }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  void Stop() {
    if (pid_ < 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  void Start(const std::filesystem::path& dir) {
    port_ = test_support::FreeLoopbackPort();
    if (port_ == 0) return;
    const std::string d = dir.string();
    std::ofstream(dir / "nginx.conf")
        << "daemon off; master_process off; worker_processes 1;\n"
        << "error_log " << d << "/error.log; pid " << d << "/nginx.pid;\n"
        << "events {}\nhttp {\n  access_log off;\n"
        << "  client_body_temp_path " << d << "; proxy_temp_path " << d << ";\n"
        << "  fastcgi_temp_path " << d << "; uwsgi_temp_path " << d << "; scgi_temp_path " << d
        << ";\n  server { listen 127.0.0.1:" << port_ << "; location / { return 200 \"ok\\n\"; } }\n}\n";
    const pid_t pid = fork();
    if (pid == 0) {
      execl(kNginx, "nginx", "-c", (dir / "nginx.conf").c_str(), "-p", d.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) return;  // exited: the port was taken, retry
      if (test_support::LoopbackAccepts(static_cast<uint16_t>(port_))) {
        pid_ = pid;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }

  pid_t pid_ = -1;
  int port_ = -1;
};

std::string EntryScenario(int port) {
  return "[scenario]\nname = \"nginx-entry\"\n\n"
         "[[services]]\nname = \"web\"\nurl = \"http://127.0.0.1:" +
         std::to_string(port) +
         "\"\nroutes = [{ name = \"GET /\" }]\n\n"
         "[load]\nrate = 400\nduration = \"1s\"\nentries = [{ service = \"web\", route = \"GET /\" }]\n";
}

TEST(NginxEntryE2e, DrivesNginxWithoutTransportErrorsAndSaysConnectionRefusedWhenItIsGone) {
  if (access(kNginx, X_OK) != 0) {
    GTEST_SKIP() << "nginx is not installed (scripts/test.sh installs it with apt)";
  }
  const std::filesystem::path dir = test_support::MakeScratchDir("nginx-entry");
  ASSERT_FALSE(dir.empty());
  Nginx nginx(dir);
  ASSERT_GT(nginx.pid(), 0) << "nginx did not start; see " << (dir / "error.log");
  const std::filesystem::path scenario = dir / "entry.toml";
  std::ofstream(scenario) << EntryScenario(nginx.port());
  const std::string reports = (dir / "reports").string();

  auto served = testing::RunTracerig(
      {"run", scenario.string(), "--report-dir", reports, "--no-progress"});
  // nginx answers every request but exports no spans: the traces are incomplete (exit 1), never
  // an infrastructure failure.
  EXPECT_EQ(served.exit_code, 1) << served.output;
  EXPECT_NE(served.output.find("= 400 ok + 0 HTTP errors + 0 transport errors"), std::string::npos)
      << served.output;
  EXPECT_NE(served.output.find("web SERVER GET /"), std::string::npos) << served.output;

  nginx.Stop();
  auto refused = testing::RunTracerig(
      {"run", scenario.string(), "--report-dir", reports, "--no-progress"});
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_TRUE(std::regex_search(
      refused.output,
      std::regex("transport errors: 400 \\(400 connection refused: connect: Connection refused")))
      << refused.output;
  EXPECT_NE(refused.output.find("the topology did not serve the load"), std::string::npos)
      << refused.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tracerig
