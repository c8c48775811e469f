// End to end through the binary: an external service's `command` and --urls-env in `run` and
// `serve`, without Node.js. The "real service" is a second `tracerig serve` listening at the
// external service's URL (or a command that never listens): a command that exits first fails the
// run with exit 3 and its log, Ctrl-C while waiting and a double Ctrl-C during the load leave
// nothing running, and serve writes the env file and stops what it started.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/run_tracerig.h"
#include "tests/support/free_port.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ProcessResult;
using tracerig::testing::RunTracerig;
using tracerig::test_support::LoopbackAccepts;

// Whether `pid` is gone, waiting up to 5 s for it (an orphan is reaped by init, not by us).
bool GoneSoon(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class OwnServiceCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-own-command");
    ASSERT_FALSE(dir_.empty());
    port_ = tracerig::test_support::FreeLoopbackPort();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string PidFile() const { return (dir_ / "pid").string(); }
  pid_t Pid() const {
    std::ifstream in(PidFile());
    pid_t pid = -1;
    in >> pid;
    return pid;
  }

  // A scenario: front -> real (the external service at port_, started by `command`).
  std::string Scenario(const std::string& command, const std::string& duration = "1s") {
    const fs::path path = dir_ / "outer.toml";
    std::ofstream(path) << "[scenario]\nname = \"outer\"\n\n[load]\nrate = 20\nduration = \""
                        << duration
                        << "\"\n\n[[load.entries]]\nservice = \"front\"\nroute = \"GET /a\"\n\n"
                           "[[services]]\nname = \"front\"\nroutes = [{ name = \"GET /a\", calls "
                           "= [{ service = \"real\", route = \"GET /b\" }] }]\n\n"
                           "[[services]]\nname = \"real\"\nurl = \"http://127.0.0.1:"
                        << port_ << "\"\ncommand = '" << command
                        << "'\nstart_timeout = \"10s\"\nroutes = [{ name = \"GET /b\" }]\n";
    return path.string();
  }

  // `tracerig serve` of a one-service scenario listening at port_: a stand-in real service.
  std::string InnerServe() {
    const fs::path path = dir_ / "inner.toml";
    std::ofstream(path) << "[scenario]\nname = \"inner\"\n\n[[load.entries]]\nservice = "
                           "\"real\"\nroute = \"GET /b\"\n\n[[services]]\nname = \"real\"\n"
                           "listen = \"127.0.0.1:"
                        << port_ << "\"\nroutes = [{ name = \"GET /b\" }]\n";
    return std::string(TRACERIG_BINARY) + " serve " + path.string();
  }

  fs::path dir_;
  uint16_t port_ = 0;
};

TEST_F(OwnServiceCommandTest, ACommandThatExitsFirstEndsTheRunWithItsLog) {
  const ProcessResult run = RunTracerig({"run", Scenario("echo cannot find server.js >&2; exit 1"),
                                         "--report-dir", (dir_ / "reports").string()});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("tracerig run: service \"real\": its command exited with status 1 "
                            "before http://127.0.0.1:" +
                            std::to_string(port_) + " accepted a connection; the last lines of "),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("real.log:\ncannot find server.js\n"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("verifying"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("load model"), std::string::npos) << run.output;
}

TEST_F(OwnServiceCommandTest, TheRunWaitsForItsServiceAndStopsItAfterTheLoad) {
  const ProcessResult run =
      RunTracerig({"run", Scenario("echo $$ > " + PidFile() + "; exec " + InnerServe()),
                   "--report-dir", (dir_ / "reports").string(), "--no-verify"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto started = run.output.find(
      "tracerig: started real (pid " + std::to_string(Pid()) +
      "), waiting up to 10s for http://127.0.0.1:" + std::to_string(port_) + "; its output: ");
  EXPECT_NE(started, std::string::npos) << run.output;
  EXPECT_LT(started, run.output.find("tracerig: real is up"));
  EXPECT_LT(run.output.find("tracerig: real is up"), run.output.find("load model"));
  EXPECT_TRUE(GoneSoon(Pid()));
  EXPECT_FALSE(LoopbackAccepts(port_));
  // Its output is in the report folder: the inner serve's start-up lines and its stop.
  std::string log;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "reports")) {
    if (e.path().filename() == "real.log") log = ReadFile(e.path());
  }
  EXPECT_NE(log.find("Ctrl-C to stop."), std::string::npos) << log;
  EXPECT_NE(log.find("stopped: "), std::string::npos) << log;
}

TEST_F(OwnServiceCommandTest, CtrlCWhileWaitingStopsTheServiceAndExits130) {
  bool interrupted = false;
  const ProcessResult run =
      RunTracerig({"run", Scenario("echo $$ > " + PidFile() + "; exec sleep 30"), "--report-dir",
                   (dir_ / "reports").string()},
                  [&](pid_t pid, const std::string& output) {
                    if (!interrupted && output.find("waiting up to") != std::string::npos) {
                      interrupted = true;
                      // The service's shell writes its pid as its first step: wait for that (5 s
                      // at most), or the test could not tell which process to look for.
                      const auto deadline =
                          std::chrono::steady_clock::now() + std::chrono::seconds(5);
                      while (Pid() <= 0 && std::chrono::steady_clock::now() < deadline) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(5));
                      }
                      kill(pid, SIGINT);
                    }
                  });
  EXPECT_EQ(run.exit_code, 130) << run.output;
  ASSERT_GT(Pid(), 0) << "the service never wrote its pid";
  EXPECT_TRUE(GoneSoon(Pid()));
}

TEST_F(OwnServiceCommandTest, CtrlCTwiceDuringTheLoadLeavesNothingRunning) {
  bool interrupted = false;
  // `sh` stays the group's leader with the inner serve its child: both must go.
  const ProcessResult run = RunTracerig(
      {"run", Scenario("echo $$ > " + PidFile() + "; " + InnerServe() + "; echo after", "30s"),
       "--report-dir", (dir_ / "reports").string()},
      [&](pid_t pid, const std::string& output) {
        if (!interrupted && output.find("load model") != std::string::npos) {
          interrupted = true;
          kill(pid, SIGINT);
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          kill(pid, SIGINT);
        }
      });
  EXPECT_EQ(run.exit_code, 130) << run.output;
  EXPECT_TRUE(GoneSoon(Pid()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (LoopbackAccepts(port_) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(LoopbackAccepts(port_)) << "the inner serve outlived tracerig";
  if (Pid() > 0) kill(-Pid(), SIGKILL);  // should the test fail, nothing of it stays
}

TEST_F(OwnServiceCommandTest, TheIngestSearchRefusesWhatItWouldNotStart) {
  const std::string scenario = Scenario("echo $$ > " + PidFile() + "; exec sleep 30");
  ProcessResult run = RunTracerig({"run", scenario, "--find-max-ingest"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("tracerig run: --find-max-ingest does not start external services: "
                            "service \"real\" has a command"),
            std::string::npos)
      << run.output;
  run = RunTracerig({"run", scenario, "--find-max-ingest", "--urls-env", PidFile() + ".env"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("tracerig run: --urls-env does not apply with --find-max-ingest"),
            std::string::npos)
      << run.output;
  EXPECT_FALSE(fs::exists(PidFile()));
}

TEST_F(OwnServiceCommandTest, ServeWritesTheEnvFileAndStopsItsServiceAtCtrlC) {
  const std::string env_file = (dir_ / "urls.env").string();
  bool interrupted = false;
  std::string env_while_up;
  const ProcessResult serve =
      RunTracerig({"serve", Scenario("echo $$ > " + PidFile() + "; exec " + InnerServe()),
                   "--urls-env", env_file},
                  [&](pid_t pid, const std::string& output) {
                    if (!interrupted && output.find("Ctrl-C to stop.") != std::string::npos) {
                      interrupted = true;
                      env_while_up = ReadFile(env_file);
                      kill(pid, SIGINT);
                    }
                  });
  EXPECT_EQ(serve.exit_code, 0) << serve.output;
  EXPECT_NE(serve.output.find("services' URLs written to " + env_file), std::string::npos)
      << serve.output;
  EXPECT_NE(serve.output.find("output of started services: "), std::string::npos) << serve.output;
  EXPECT_NE(env_while_up.find("\nTRACERIG_URL_FRONT=http://127.0.0.1:"), std::string::npos)
      << env_while_up;
  EXPECT_NE(env_while_up.find("\nOTEL_SERVICE_NAME=real\n"), std::string::npos) << env_while_up;
  EXPECT_TRUE(GoneSoon(Pid()));
  EXPECT_FALSE(LoopbackAccepts(port_));
}

}  // namespace
