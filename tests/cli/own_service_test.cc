// The user's own services (cli/own_service.h): the environment and the --urls-env file (pure, table
// driven, and sourced by a real shell), then starting, waiting for and stopping real `sh -c`
// processes, each way it can go: up, exits first, never listens, a port already taken, Ctrl-C, and
// a service that ignores SIGTERM.
#include "cli/own_service.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/free_port.h"
#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

using std::chrono::milliseconds;

RunningService Running(std::string name, std::string address, uint16_t port) {
  return {std::move(name), ServiceEndpoint(std::move(address), port), ""};
}

Service External(std::string name, std::string url) {
  Service s;
  s.name = std::move(name);
  s.external_url = std::move(url);
  return s;
}

std::string Value(const std::vector<EnvVar>& env, const std::string& name) {
  for (const EnvVar& v : env) {
    if (v.name == name) return v.value;
  }
  return "<unset>";
}

TEST(UrlVariableNameTest, UpperCasedWithEveryOtherCharacterAnUnderscore) {
  const std::pair<const char*, const char*> rows[] = {
      {"payment", "TRACERIG_URL_PAYMENT"},
      {"fraud-check", "TRACERIG_URL_FRAUD_CHECK"},
      {"api.v2_users-9", "TRACERIG_URL_API_V2_USERS_9"},
      {"0day", "TRACERIG_URL_0DAY"},
  };
  for (const auto& [service, variable] : rows) EXPECT_EQ(UrlVariableName(service), variable);
}

TEST(OwnServiceEnvironmentTest, EmbeddedBackendAndOneExternalService) {
  Scenario scenario;
  scenario.services = {Service{}, External("fraud-check", "http://127.0.0.1:9000")};
  scenario.services[0].name = "front";
  OtlpTarget otlp;
  otlp.embedded_otlp_http = HostPort{"127.0.0.1", 4318};
  auto env =
      OwnServiceEnvironment(scenario,
                            {Running("front", "127.0.0.1", 4100),
                             Running("pay.v2", "0.0.0.0", 4200), Running("ledger", "::", 4300)},
                            otlp);
  ASSERT_TRUE(env) << env.error().message;
  const std::vector<EnvVar> expected = {
      {"TRACERIG_URL_FRONT", "http://127.0.0.1:4100"},
      {"TRACERIG_URL_PAY_V2", "http://127.0.0.1:4200"},  // bound to every address: via loopback
      {"TRACERIG_URL_LEDGER", "http://[::1]:4300"},
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"},
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
      // The traces-only variables too: inherited ones would win over the generic ones.
      {"OTEL_TRACES_EXPORTER", "otlp"},
      {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces"},
      {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"},
      {"OTEL_BSP_SCHEDULE_DELAY", "200"},
      {"OTEL_METRICS_EXPORTER", "none"},
      {"OTEL_LOGS_EXPORTER", "none"},
      {"OTEL_SERVICE_NAME", "fraud-check"},
  };
  EXPECT_EQ(*env, expected);
}

TEST(OwnServiceEnvironmentTest, NoServiceNameUnlessExactlyOneExternalService) {
  OtlpTarget otlp;
  otlp.embedded_otlp_http = HostPort{"127.0.0.1", 4318};
  Scenario none;
  Scenario two;
  two.services = {External("a", "http://127.0.0.1:1"), External("b", "http://127.0.0.1:2")};
  for (const Scenario* s : {&none, &two}) {
    auto env = OwnServiceEnvironment(*s, {}, otlp);
    ASSERT_TRUE(env);
    EXPECT_EQ(Value(*env, "OTEL_SERVICE_NAME"), "<unset>");
  }
}

TEST(OwnServiceEnvironmentTest, TwoServicesWithTheSameVariableAreAnError) {
  auto env = OwnServiceEnvironment(
      Scenario{}, {Running("pay-v2", "127.0.0.1", 1), Running("pay.v2", "127.0.0.1", 2)}, {});
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().message,
            "services \"pay-v2\" and \"pay.v2\" would both be TRACERIG_URL_PAY_V2: rename one");
}

// An external backend: its export target, as the OpenTelemetry SDKs' variables name it.
TEST(OwnServiceEnvironmentTest, ExternalBackendsExportTarget) {
  struct Row {
    const char* name;
    ExportProtocol protocol;
    bool tls;
    std::string path;
    std::vector<EnvVar> expected;  // the export variables, in order
  };
  const std::vector<Row> rows = {
      {"otlp-http",
       ExportProtocol::kOtlpHttpProtobuf,
       false,
       "/v1/traces",
       {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}}},
      {"otlp-http-prefix",
       ExportProtocol::kOtlpHttpProtobuf,
       true,
       "/tenant/v1/traces",
       {{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/tenant"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}}},
      {"otlp-http-own-path",
       ExportProtocol::kOtlpHttpJson,
       false,
       "/ingest",
       {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/ingest"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}}},
      {"otlp-grpc",
       ExportProtocol::kOtlpGrpc,
       true,
       "",
       {{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}},
      {"zipkin",
       ExportProtocol::kZipkin,
       false,
       "/api/v2/spans",
       {{"OTEL_TRACES_EXPORTER", "zipkin"},
        {"OTEL_EXPORTER_ZIPKIN_ENDPOINT", "http://collector:4318/api/v2/spans"}}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    BackendPlan plan;
    plan.embedded = false;
    plan.protocol = row.protocol;
    plan.export_tls = row.tls;
    plan.export_target = {"collector", 4318, row.path};
    plan.export_headers = {{"authorization", "secret"}};
    OtlpTarget otlp;
    otlp.plan = &plan;
    auto env = OwnServiceEnvironment(Scenario{}, {}, otlp);
    ASSERT_TRUE(env);
    ASSERT_GE(env->size(), row.expected.size());
    EXPECT_EQ(std::vector<EnvVar>(env->begin(), env->begin() + row.expected.size()), row.expected);
    for (const EnvVar& v : *env) EXPECT_EQ(v.value.find("secret"), std::string::npos) << v.name;
  }
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class OwnServiceFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::MakeScratchDir("tracerig-own-files");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(OwnServiceFilesTest, TheEnvFileIsWhatAShellReadsBack) {
  const std::vector<EnvVar> vars = {
      {"TRACERIG_URL_FRONT", "http://127.0.0.1:4100"},
      {"ODD", "it's $HOME; `x` \"y\" \\ z"},
      {"EMPTY", ""},
  };
  const std::string text = RenderEnvFile("shop", vars);
  EXPECT_EQ(text,
            "# tracerig: scenario \"shop\": its services' URLs and where to export spans.\n"
            "# Load with: set -a; . ./this-file; set +a\n"
            "TRACERIG_URL_FRONT=http://127.0.0.1:4100\n"
            "ODD='it'\\''s $HOME; `x` \"y\" \\ z'\n"
            "EMPTY=''\n");
  const std::string file = (dir_ / "urls.env").string();
  ASSERT_TRUE(WriteFileAtomically(file, text));
  const std::string out = (dir_ / "out").string();
  const std::string script = "set -a; . '" + file +
                             "'; set +a; sh -c 'printf \"%s|%s|%s\" \"$TRACERIG_URL_FRONT\" "
                             "\"$ODD\" \"$EMPTY\"' > '" +
                             out + "'";
  std::ofstream(dir_ / "script.sh") << script << "\n";
  ASSERT_EQ(std::system(("/bin/sh " + (dir_ / "script.sh").string()).c_str()), 0);
  EXPECT_EQ(ReadFile(out), "http://127.0.0.1:4100|it's $HOME; `x` \"y\" \\ z|");
}

TEST_F(OwnServiceFilesTest, WrittenAtomicallyOverAnOldFileWithNothingLeftBehind) {
  const std::string file = (dir_ / "urls.env").string();
  std::ofstream(file) << "old contents that are longer than the new ones\n";
  ASSERT_TRUE(WriteFileAtomically(file, "NEW=1\n"));
  EXPECT_EQ(ReadFile(file), "NEW=1\n");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(OwnServiceFilesTest, AFolderThatDoesNotExistIsNamed) {
  const std::string file = (dir_ / "missing" / "urls.env").string();
  auto s = WriteFileAtomically(file, "X=1\n");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find(file), std::string::npos) << s.error().message;
}

TEST_F(OwnServiceFilesTest, LastLinesOfALog) {
  struct Row {
    std::string text;
    size_t lines;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {"", 3, ""},
      {"one\n", 3, "one"},
      {"one\ntwo\nthree\nfour\n", 2, "three\nfour"},
      {"one\ntwo\n\n\n", 1, "two"},
      {"no newline at the end", 3, "no newline at the end"},
      {std::string(5000, 'x') + "\nlast\n", 1, "last"},
  };
  const std::string file = (dir_ / "log").string();
  for (const Row& row : rows) {
    std::ofstream(file, std::ios::trunc) << row.text;
    EXPECT_EQ(LastLinesOf(file, row.lines), row.expected) << row.text.substr(0, 40);
  }
  EXPECT_EQ(LastLinesOf((dir_ / "absent").string(), 3), "");
}

// ---- processes ---------------------------------------------------------------------------------

// A listening socket on 127.0.0.1:port, closed on destruction; -1 when it could not be made.
class Listener {
 public:
  explicit Listener(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(fd_, 16) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Listener() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

bool Gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

class OwnServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::MakeScratchDir("tracerig-own-processes");
    ASSERT_FALSE(dir_.empty());
    port_ = test_support::FreeLoopbackPort();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (listen_thread_.joinable()) listen_thread_.join();
    std::filesystem::remove_all(dir_);
  }

  OwnServiceOptions Options() {
    OwnServiceOptions o;
    o.log_dir = (dir_ / "logs").string();
    o.note = [this](const std::string& line) { notes_ += line + "\n"; };
    return o;
  }

  Scenario OneService(const std::string& command, uint64_t start_timeout_ns = 10'000'000'000) {
    Scenario scenario;
    Service s = External("fraud-check", "http://127.0.0.1:" + std::to_string(port_));
    s.command = command;
    s.start_timeout_ns = start_timeout_ns;
    scenario.services.push_back(std::move(s));
    return scenario;
  }

  std::string PidFile() const { return (dir_ / "pid").string(); }
  // "echo $$ > pidfile" for a command, so the test knows the process (sh, then what it execs).
  std::string WritePid() const { return "echo $$ > '" + PidFile() + "'; "; }

  // Reads the pid file, waiting up to 10 s for it.
  pid_t WaitForPid() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(PidFile());
      pid_t pid = 0;
      if (in >> pid && pid > 0) return pid;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return -1;
  }

  // Listens at the service's port once its command has written its pid (as the real service
  // would once started), until `listener_` is reset.
  void ListenOnceStarted() {
    listen_thread_ = std::thread([this] {
      if (WaitForPid() > 0) listener_ = std::make_unique<Listener>(port_);
    });
  }

  std::filesystem::path dir_;
  uint16_t port_ = 0;
  std::string notes_;
  std::atomic<bool> stop_{false};
  std::thread listen_thread_;
  std::unique_ptr<Listener> listener_;
};

TEST_F(OwnServicesTest, StartedWithItsEnvironmentWaitedForAndStopped) {
  ListenOnceStarted();
  const std::string env_out = (dir_ / "env").string();
  OwnServices own(Options());
  auto s = own.Start(OneService("echo started; printf '%s %s' \"$OTEL_SERVICE_NAME\" "
                                "\"$TRACERIG_URL_FRONT\" > '" +
                                env_out + "'; " + WritePid() + "exec sleep 30"),
                     {{"TRACERIG_URL_FRONT", "http://127.0.0.1:4100"},
                      {"OTEL_SERVICE_NAME", "overridden-per-service"}},
                     stop_);
  listen_thread_.join();
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(own.processes().size(), 1u);
  const OwnProcess process = own.processes()[0];
  EXPECT_EQ(process.pid, WaitForPid());
  EXPECT_EQ(process.log_path, (dir_ / "logs" / "fraud-check.log").string());
  EXPECT_EQ(ReadFile(env_out), "fraud-check http://127.0.0.1:4100");
  EXPECT_NE(notes_.find("started fraud-check (pid " + std::to_string(process.pid) +
                        "), waiting up to 10s for http://127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << notes_;
  EXPECT_NE(notes_.find("fraud-check is up"), std::string::npos) << notes_;
  EXPECT_FALSE(Gone(process.pid));
  own.Stop();
  EXPECT_TRUE(Gone(process.pid));
  EXPECT_TRUE(own.processes().empty());
  EXPECT_EQ(ReadFile(process.log_path), "started\n");
}

TEST_F(OwnServicesTest, DestroyedItStopsWhatItStarted) {
  ListenOnceStarted();
  pid_t pid = -1;
  {
    OwnServices own(Options());
    ASSERT_TRUE(own.Start(OneService(WritePid() + "exec sleep 30"), {}, stop_));
    pid = own.processes().at(0).pid;
  }
  EXPECT_TRUE(Gone(pid));
}

TEST_F(OwnServicesTest, ACommandThatExitsFirstFailsAtOnceWithTheEndOfItsLog) {
  OwnServices own(Options());
  const auto start = std::chrono::steady_clock::now();
  auto s =
      own.Start(OneService("echo one; echo two; echo 'no such module' >&2; exit 4"), {}, stop_);
  ASSERT_FALSE(s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s.error().message,
            "service \"fraud-check\": its command exited with status 4 before "
            "http://127.0.0.1:" +
                std::to_string(port_) +
                " accepted a connection; the last "
                "lines of " +
                (dir_ / "logs" / "fraud-check.log").string() + ":\none\ntwo\nno such module");
  EXPECT_TRUE(own.processes().empty());
}

TEST_F(OwnServicesTest, AServiceThatNeverListensIsStoppedAtItsStartTimeout) {
  OwnServices own(Options());
  auto s = own.Start(OneService(WritePid() + "exec sleep 30", 300'000'000), {}, stop_);
  ASSERT_FALSE(s);
  EXPECT_NE(
      s.error().message.find("service \"fraud-check\": http://127.0.0.1:" + std::to_string(port_) +
                             " did not accept a connection within 300ms of starting its "
                             "command (start_timeout); stopped it. It printed nothing"),
      std::string::npos)
      << s.error().message;
  EXPECT_TRUE(Gone(WaitForPid()));
}

TEST_F(OwnServicesTest, SomethingAlreadyListeningIsNotMistakenForTheService) {
  Listener taken(port_);
  ASSERT_TRUE(taken.ok());
  OwnServices own(Options());
  auto s = own.Start(OneService(WritePid() + "exec sleep 30"), {}, stop_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("something already accepts connections at http://127.0.0.1:"),
            std::string::npos)
      << s.error().message;
  EXPECT_FALSE(std::filesystem::exists(PidFile()));  // never started
}

TEST_F(OwnServicesTest, CtrlCWhileWaitingStopsIt) {
  OwnServices own(Options());
  std::thread interrupt([this] {
    if (WaitForPid() > 0) stop_ = true;
  });
  auto s = own.Start(OneService(WritePid() + "exec sleep 30"), {}, stop_);
  interrupt.join();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "interrupted while waiting for service \"fraud-check\"");
  EXPECT_TRUE(Gone(WaitForPid()));
}

TEST_F(OwnServicesTest, AServiceIgnoringSigtermIsKilledAfterTheGracePeriod) {
  ListenOnceStarted();
  OwnServiceOptions options = Options();
  options.stop_grace = milliseconds(300);
  OwnServices own(options);
  ASSERT_TRUE(own.Start(OneService("trap '' TERM; " + WritePid() + "while :; do sleep 0.05; done"),
                        {}, stop_));
  const pid_t pid = own.processes().at(0).pid;
  const auto start = std::chrono::steady_clock::now();
  own.Stop();
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  EXPECT_TRUE(Gone(pid));
  EXPECT_NE(notes_.find("fraud-check (pid " + std::to_string(pid) +
                        ") did not exit within 300ms of SIGTERM: killed"),
            std::string::npos)
      << notes_;
}

TEST_F(OwnServicesTest, WithoutACommandAnExternalServiceIsWaitedFor) {
  const Service service = External("fraud-check", "http://127.0.0.1:" + std::to_string(port_));
  Service quick = service;
  quick.start_timeout_ns = 200'000'000;
  OwnServices own(Options());
  auto s = own.AwaitExternal(quick, stop_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "service \"fraud-check\": http://127.0.0.1:" + std::to_string(port_) +
                " did not accept a connection within 200ms (start_timeout)");
  Listener up(port_);
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(own.AwaitExternal(service, stop_));
}

}  // namespace
}  // namespace tracerig
