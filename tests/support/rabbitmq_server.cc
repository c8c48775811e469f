// Starting and stopping a private RabbitMQ node for tests (see rabbitmq_server.h).
#include "tests/support/rabbitmq_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "broker/rabbit_broker.h"
#include "tests/support/free_port.h"
#include "tests/support/process_group.h"

namespace tracerig::test_support {
namespace {

constexpr const char* kRunuser = "/usr/sbin/runuser";
constexpr const char* kUser = "rabbitmq";

bool RunningAsRoot() { return geteuid() == 0; }

// Asks the epmd on `port` to exit (its protocol's KILL_REQ: length 1, 'k'); epmd daemonizes away
// from the server's process group, so stopping the node leaves it running.
void KillEpmd(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const char request[] = {0, 1, 'k'};
    if (write(fd, request, sizeof request) == static_cast<ssize_t>(sizeof request)) {
      char reply[8];
      [[maybe_unused]] ssize_t n = read(fd, reply, sizeof reply);  // "OK" once it is going
    }
  }
  close(fd);
}

bool WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

// Three distinct free ports (node, distribution, epmd).
bool FreePorts(uint16_t (&ports)[3]) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    for (uint16_t& p : ports) p = FreeLoopbackPort();
    if (ports[0] != 0 && ports[1] != 0 && ports[2] != 0 && ports[0] != ports[1] &&
        ports[1] != ports[2] && ports[0] != ports[2]) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string RabbitMqServer::Unavailable() {
  if (access(kServerBinary, X_OK) != 0) {
    return std::string("RabbitMQ is not installed (no ") + kServerBinary +
           "; scripts/deps.sh --tests installs rabbitmq-server)";
  }
  if (RunningAsRoot()) {
    if (getpwnam(kUser) == nullptr) {
      return "running as root and there is no \"rabbitmq\" user to run rabbitmq-server as";
    }
    if (access(kRunuser, X_OK) != 0) {
      return std::string("running as root and ") + kRunuser + " is missing";
    }
  }
  return "";
}

std::unique_ptr<RabbitMqServer> RabbitMqServer::Start(std::string& error, int timeout_s) {
  static std::atomic<int> started{0};
  std::unique_ptr<RabbitMqServer> server(new RabbitMqServer());
  std::string tmpl = (std::filesystem::temp_directory_path() / "tracerig-rabbitmq-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    error = "cannot create a directory for RabbitMQ under " +
            std::filesystem::temp_directory_path().string();
    return nullptr;
  }
  server->dir_ = tmpl;
  const auto& dir = server->dir_;
  uint16_t ports[3];
  if (!FreePorts(ports)) {
    error = "no free loopback ports for RabbitMQ";
    return nullptr;
  }
  server->port_ = ports[0];
  server->epmd_port_ = ports[2];
  server->url_ = "amqp://127.0.0.1:" + std::to_string(ports[0]) + "/";

  // A disk alarm would block publishers on a nearly full CI disk; the default limit is 50 MB.
  if (!WriteFile(dir / "enabled_plugins", "[].\n") ||
      !WriteFile(dir / "rabbitmq.conf", "disk_free_limit.absolute = 1MB\n")) {
    error = "cannot write RabbitMQ's configuration in " + dir.string();
    return nullptr;
  }
  if (RunningAsRoot()) {
    const passwd* pw = getpwnam(kUser);
    if (pw == nullptr) {
      error = Unavailable();
      return nullptr;
    }
    for (const auto& p : {dir, dir / "enabled_plugins", dir / "rabbitmq.conf"}) {
      if (chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error = "cannot hand " + p.string() + " to the rabbitmq user";
        return nullptr;
      }
    }
  }

  const std::string node = "tracerig-" + std::to_string(getpid()) + "-" +
                           std::to_string(started.fetch_add(1)) + "@localhost";
  const std::vector<std::string> env = {
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=" + dir.string(),  // the Erlang cookie goes here
      "LANG=C.UTF-8",
      "LC_ALL=C.UTF-8",
      "RABBITMQ_NODENAME=" + node,
      "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
      "RABBITMQ_NODE_PORT=" + std::to_string(ports[0]),
      "RABBITMQ_DIST_PORT=" + std::to_string(ports[1]),
      "ERL_EPMD_PORT=" + std::to_string(ports[2]),  // never the system epmd on 4369
      "ERL_EPMD_ADDRESS=127.0.0.1",
      "RABBITMQ_MNESIA_BASE=" + (dir / "mnesia").string(),
      "RABBITMQ_LOG_BASE=" + (dir / "log").string(),
      "RABBITMQ_ENABLED_PLUGINS_FILE=" + (dir / "enabled_plugins").string(),
      "RABBITMQ_CONFIG_FILE=" + (dir / "rabbitmq.conf").string(),
      "RABBITMQ_ADVANCED_CONFIG_FILE=" + (dir / "advanced.config").string(),  // absent: none
      "RABBITMQ_CONF_ENV_FILE=" + (dir / "rabbitmq-env.conf").string(),       // not /etc's
  };
  std::vector<std::string> args;
  if (RunningAsRoot()) {
    args = {kRunuser, "-u", kUser, "--", "/usr/bin/env", "-i"};
    args.insert(args.end(), env.begin(), env.end());
  }
  args.push_back(kServerBinary);
  const pid_t pid = SpawnInOwnGroup(std::move(args), dir, dir / "server.out", error, &env);
  if (pid < 0) return nullptr;
  server->pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      error = "rabbitmq-server exited (status " + std::to_string(status) + ") before accepting " +
              "connections:\n" + server->OutputTail();
      return nullptr;
    }
    if (LoopbackAccepts(server->port_)) {
      auto broker = MakeRabbitBroker(server->url_);
      if (broker.ok()) return server;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      error = "rabbitmq-server did not accept an AMQP login on port " +
              std::to_string(server->port_) + " within " + std::to_string(timeout_s) + " s:\n" +
              server->OutputTail();
      return nullptr;  // the destructor kills it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

RabbitMqServer::~RabbitMqServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void RabbitMqServer::Stop() {
  StopProcessGroup(pid_, std::chrono::seconds(20));
  pid_ = -1;
  if (epmd_port_ != 0) {
    KillEpmd(epmd_port_);
    epmd_port_ = 0;
  }
}

std::string RabbitMqServer::OutputTail() const {
  std::ifstream in(dir_ / "server.out");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::ostringstream out;
  for (size_t i = lines.size() > 30 ? lines.size() - 30 : 0; i < lines.size(); ++i) {
    out << "  " << lines[i] << "\n";
  }
  return out.str();
}

namespace {

struct Shared {
  std::once_flag once;
  SharedRabbitMq availability;
  std::unique_ptr<RabbitMqServer> server;
};

Shared& TheShared() {
  static Shared* shared = new Shared();  // outlives static destruction; the Environment stops it
  return *shared;
}

// Stops the shared server when the test binary's tests are done.
class RabbitMqEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { TheShared().server.reset(); }
};

}  // namespace

const SharedRabbitMq& SharedRabbitMqServer() {
  Shared& shared = TheShared();
  std::call_once(shared.once, [&] {
    ::testing::AddGlobalTestEnvironment(new RabbitMqEnvironment());
    shared.availability.skip_reason = RabbitMqServer::Unavailable();
    if (!shared.availability.skip_reason.empty()) return;
    const auto began = std::chrono::steady_clock::now();
    std::string error;
    shared.server = RabbitMqServer::Start(error);
    if (!shared.server) {
      shared.availability.failure = error;
      return;
    }
    shared.availability.url = shared.server->url();
    std::printf("[ rabbitmq ] started at %s in %.1f s\n", shared.availability.url.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  });
  return shared.availability;
}

}  // namespace tracerig::test_support
