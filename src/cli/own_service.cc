// The user's own services: the environment that points them at tracerig, the --urls-env file,
// and starting, waiting for and stopping the services given a `command` (POSIX processes).
#include "cli/own_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "cli/interrupt.h"
#include "cli/rig.h"
#include "core/units.h"
#include "net/address.h"
#include "report/run_report.h"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX's name

namespace tracerig {

const FlagSpec kUrlsEnvFlag = {
    "urls-env", "FILE",
    "once the services are up, write TRACERIG_URL_<SERVICE>=http://host:port for each simulated "
    "service, OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL (where tracerig reads spans) and "
    "OTEL_SERVICE_NAME (one external service) to FILE, for `set -a; . FILE; set +a`; external "
    "services without a `command` are then waited for until their URL accepts connections"};

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Batch span processors export every 5 s by default; the verifier judges a trace incomplete once
// its spans stop changing for --settle-time (2 s by default). 200 ms keeps spans well within it.
constexpr const char* kBatchDelayMs = "200";
constexpr size_t kLogLinesInErrors = 10;

// A connect address for a bound one: 0.0.0.0 and :: are reached through loopback.
std::string ConnectHost(const std::string& bound) {
  if (bound == "0.0.0.0" || bound.empty()) return "127.0.0.1";
  if (bound == "::") return "::1";
  return bound;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Where an external backend takes spans, as the OpenTelemetry SDKs' variables name it.
void AddExportTarget(const BackendPlan& plan, std::vector<EnvVar>& out) {
  const Endpoint& e = plan.export_target;
  const std::string base = fmt::format("{}://{}", plan.export_tls ? "https" : "http",
                                       HostPort{e.host, e.port}.ToString());
  switch (plan.protocol) {
    case ExportProtocol::kOtlpHttpProtobuf:
    case ExportProtocol::kOtlpHttpJson: {
      constexpr std::string_view kTracesPath = "/v1/traces";
      if (e.path.empty() || EndsWith(e.path, kTracesPath)) {
        const std::string prefix =
            e.path.substr(0, e.path.size() - std::min(e.path.size(), kTracesPath.size()));
        out.push_back({"OTEL_EXPORTER_OTLP_ENDPOINT", base + prefix});
      } else {
        // A path the SDKs would not derive from a base URL: the traces endpoint in full.
        out.push_back({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", base + e.path});
      }
      out.push_back({"OTEL_EXPORTER_OTLP_PROTOCOL", plan.protocol == ExportProtocol::kOtlpHttpJson
                                                        ? "http/json"
                                                        : "http/protobuf"});
      return;
    }
    case ExportProtocol::kOtlpGrpc:
      out.push_back({"OTEL_EXPORTER_OTLP_ENDPOINT", base});
      out.push_back({"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"});
      return;
    case ExportProtocol::kZipkin:
      out.push_back({"OTEL_TRACES_EXPORTER", "zipkin"});
      out.push_back({"OTEL_EXPORTER_ZIPKIN_ENDPOINT", base + e.path});
      return;
  }
}

// The traces-only variables win over the generic ones in every SDK: set them too, so ones the
// service would inherit from tracerig's own environment (say, tracerig's external backend) cannot
// send its spans elsewhere.
void PinTracesExport(std::vector<EnvVar>& out) {
  auto find = [&out](std::string_view name) -> const std::string* {
    for (const EnvVar& v : out) {
      if (v.name == name) return &v.value;
    }
    return nullptr;
  };
  const std::string* endpoint = find("OTEL_EXPORTER_OTLP_ENDPOINT");
  const std::string* protocol = find("OTEL_EXPORTER_OTLP_PROTOCOL");
  if (find("OTEL_TRACES_EXPORTER") == nullptr) out.push_back({"OTEL_TRACES_EXPORTER", "otlp"});
  if (protocol == nullptr) return;
  const std::string p = *protocol;
  if (endpoint != nullptr && find("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == nullptr) {
    const std::string e = *endpoint;
    out.push_back({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", p == "grpc" ? e : e + "/v1/traces"});
  }
  out.push_back({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", p});
}

// Characters a POSIX shell takes literally outside quotes.
bool ShellSafe(std::string_view value) {
  return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("_-.,:/@%+=").find(c) != std::string_view::npos;
  });
}

std::string ShellQuoted(std::string_view value) {
  if (ShellSafe(value)) return std::string(value);
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Whether a TCP connection to `address` is accepted within `timeout`.
bool AcceptsConnection(const HostPort& address, milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(address.port);
  if (getaddrinfo(address.host.c_str(), port.c_str(), &hints, &list) != 0) return false;
  bool accepted = false;
  for (addrinfo* ai = list; ai != nullptr && !accepted; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int error = 0;
        socklen_t size = sizeof error;
        rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0 ? 0 : -1;
      }
    }
    accepted = rc == 0;
    close(fd);
  }
  freeaddrinfo(list);
  return accepted;
}

Result<HostPort> AddressOf(const Service& service) {
  const bool tls = service.external_url.rfind("https://", 0) == 0 ||
                   service.external_url.rfind("grpcs://", 0) == 0;
  auto url = ParseUrl(service.external_url, tls ? 443 : 80);
  if (!url) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("service \"{}\": url \"{}\": {}", service.name,
                                 service.external_url, url.error().message));
  }
  return url->address;
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  }
  return "stopped";
}

// The environment of a started service: this process's, with `overrides` replacing or adding.
std::vector<std::string> ChildEnvironment(const std::vector<EnvVar>& overrides) {
  std::set<std::string, std::less<>> names;
  for (const EnvVar& v : overrides) names.insert(v.name);
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (names.count(entry.substr(0, entry.find('='))) == 0) out.emplace_back(entry);
  }
  for (const EnvVar& v : overrides) out.push_back(v.name + "=" + v.value);
  return out;
}

// Forks `sh -c command` as the leader of a new process group, stdin from /dev/null, stdout and
// stderr to `log_fd`, no other descriptor of ours. Everything the child needs is prepared before
// fork(): this process has threads, so the child may only make async-signal-safe calls.
Result<pid_t> Spawn(const std::string& command, const std::vector<std::string>& environment,
                    int log_fd) {
  std::vector<char*> envp;
  for (const std::string& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char sh[] = "sh";
  char dash_c[] = "-c";
  std::vector<char*> argv = {sh, dash_c, const_cast<char*>(command.c_str()), nullptr};
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return MakeError(fmt::format("cannot open /dev/null: {}", std::strerror(errno)));
  rlimit limit{};
  const int max_fd = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                         ? static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536))
                         : 65536;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(null_fd);
    return MakeError(ErrorCode::kUnavailable, fmt::format("fork: {}", std::strerror(error)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Should tracerig die without stopping it (SIGKILL, a crash), the service gets SIGTERM.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (close_range(3, ~0u, 0) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) close(fd);
    }
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execve("/bin/sh", argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so the group exists before the parent signals it
  close(null_fd);
  return pid;
}

}  // namespace

std::string UrlVariableName(std::string_view service) {
  std::string name = "TRACERIG_URL_";
  for (char c : service) {
    const auto u = static_cast<unsigned char>(c);
    name += std::isalnum(u) != 0 ? static_cast<char>(std::toupper(u)) : '_';
  }
  return name;
}

Result<std::vector<EnvVar>> OwnServiceEnvironment(const Scenario& scenario,
                                                  const std::vector<RunningService>& services,
                                                  const OtlpTarget& otlp) {
  std::vector<EnvVar> out;
  std::map<std::string, std::string, std::less<>> owner;
  for (const RunningService& s : services) {
    std::string variable = UrlVariableName(s.name);
    auto [it, inserted] = owner.emplace(variable, s.name);
    if (!inserted) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("services \"{}\" and \"{}\" would both be {}: rename one",
                                   it->second, s.name, variable));
    }
    out.push_back(
        {std::move(variable),
         fmt::format("http://{}",
                     HostPort{ConnectHost(s.endpoint.address()), s.endpoint.port()}.ToString())});
  }
  if (otlp.embedded_otlp_http) {
    HostPort receiver = *otlp.embedded_otlp_http;
    receiver.host = ConnectHost(receiver.host);
    out.push_back({"OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + receiver.ToString()});
    out.push_back({"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"});
  } else if (otlp.plan != nullptr) {
    AddExportTarget(*otlp.plan, out);
  }
  PinTracesExport(out);
  out.push_back({"OTEL_BSP_SCHEDULE_DELAY", kBatchDelayMs});
  // tracerig reads traces only: metrics and logs sent to its receiver would be refused.
  out.push_back({"OTEL_METRICS_EXPORTER", "none"});
  out.push_back({"OTEL_LOGS_EXPORTER", "none"});
  const Service* only_external = nullptr;
  size_t externals = 0;
  for (const Service& s : scenario.services) {
    if (s.IsExternal()) {
      ++externals;
      only_external = &s;
    }
  }
  if (externals == 1) out.push_back({"OTEL_SERVICE_NAME", only_external->name});
  return out;
}

std::string RenderEnvFile(std::string_view scenario_name, const std::vector<EnvVar>& variables) {
  std::string out = fmt::format(
      "# tracerig: scenario \"{}\": its services' URLs and where to export spans.\n"
      "# Load with: set -a; . ./this-file; set +a\n",
      scenario_name);
  for (const EnvVar& v : variables) out += fmt::format("{}={}\n", v.name, ShellQuoted(v.value));
  return out;
}

Status WriteFileAtomically(const std::string& path, std::string_view text) {
  const std::string temporary = fmt::format("{}.tmp-{}", path, getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("cannot write {}: {}", temporary, std::strerror(errno)));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("cannot write {}: {}", path, std::strerror(error)));
  }
  return Ok{};
}

std::string LastLinesOf(const std::string& path, size_t max_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  // Back from the end over `max_lines` line breaks; a partial first line (the 4 KiB cut) stays.
  size_t start = text.size();
  for (size_t lines = 0; lines < max_lines; ++lines) {
    const size_t newline = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
    if (newline == std::string::npos) return text;
    start = newline;
  }
  return text.substr(start + 1);
}

OwnServices::OwnServices(OwnServiceOptions options) : options_(std::move(options)) {}

OwnServices::~OwnServices() { Stop(); }

void OwnServices::Note(const std::string& line) const {
  if (options_.note) options_.note(line);
}

Status OwnServices::Start(const Scenario& scenario, const std::vector<EnvVar>& environment,
                          const std::atomic<bool>& stop) {
  for (const Service& service : scenario.services) {
    if (!service.IsExternal() || service.command.empty()) continue;
    if (auto s = StartOne(service, environment, stop); !s) return s;
  }
  return Ok{};
}

Status OwnServices::StartOne(const Service& service, const std::vector<EnvVar>& environment,
                             const std::atomic<bool>& stop) {
  auto address = AddressOf(service);
  if (!address) return address.error();
  if (AcceptsConnection(*address, milliseconds(250))) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("service \"{}\": something already accepts connections at {} "
                                 "before its command is started: stop it, or give the service "
                                 "another port",
                                 service.name, service.external_url));
  }
  std::error_code ec;
  std::filesystem::create_directories(options_.log_dir, ec);
  const std::string log_path =
      (std::filesystem::path(options_.log_dir) / (service.name + ".log")).string();
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("service \"{}\": cannot create its log {}: {}", service.name,
                                 log_path, std::strerror(errno)));
  }
  std::vector<EnvVar> own_environment = environment;
  std::erase_if(own_environment, [](const EnvVar& v) { return v.name == "OTEL_SERVICE_NAME"; });
  own_environment.push_back({"OTEL_SERVICE_NAME", service.name});
  auto pid = Spawn(service.command, ChildEnvironment(own_environment), log_fd);
  close(log_fd);
  if (!pid) {
    return MakeError(ErrorCode::kUnavailable, fmt::format("service \"{}\": cannot start its "
                                                          "command: {}",
                                                          service.name, pid.error().message));
  }
  KillOnForcedExit(*pid);
  processes_.push_back({service.name, *pid, service.external_url, log_path});
  Note(fmt::format("started {} (pid {}), waiting up to {} for {}; its output: {}", service.name,
                   *pid, FormatDuration(service.start_timeout_ns), service.external_url, log_path));

  const auto started = steady_clock::now();
  const auto deadline = started + std::chrono::nanoseconds(service.start_timeout_ns);
  for (;;) {
    int status = 0;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      processes_.back().reaped = true;
      StopOne(processes_.back());  // whatever it left running in its group
      processes_.pop_back();
      const std::string tail = LastLinesOf(log_path, kLogLinesInErrors);
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("service \"{}\": its command {} before {} accepted a "
                                   "connection; {}{}",
                                   service.name, DescribeExit(status), service.external_url,
                                   tail.empty() ? "it printed nothing (" + log_path + ")"
                                                : "the last lines of " + log_path + ":\n",
                                   tail));
    }
    if (stop.load()) {
      StopOne(processes_.back());
      processes_.pop_back();
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("interrupted while waiting for service \"{}\"", service.name));
    }
    const auto now = steady_clock::now();
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
    if (AcceptsConnection(*address, std::clamp(left, milliseconds(1), milliseconds(250)))) break;
    if (steady_clock::now() >= deadline) {
      StopOne(processes_.back());
      processes_.pop_back();
      const std::string tail = LastLinesOf(log_path, kLogLinesInErrors);
      return MakeError(
          ErrorCode::kUnavailable,
          fmt::format("service \"{}\": {} did not accept a connection within {} of "
                      "starting its command (start_timeout); stopped it. {}{}",
                      service.name, service.external_url, FormatDuration(service.start_timeout_ns),
                      tail.empty() ? "It printed nothing (" + log_path + ")"
                                   : "The last lines of " + log_path + ":\n",
                      tail));
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - started);
  Note(fmt::format("{} is up ({} after start)", service.name,
                   FormatDuration(static_cast<uint64_t>(took.count()))));
  return Ok{};
}

Status OwnServices::AwaitExternal(const Service& service, const std::atomic<bool>& stop) {
  auto address = AddressOf(service);
  if (!address) return address.error();
  if (AcceptsConnection(*address, milliseconds(250))) return Ok{};
  Note(fmt::format("waiting up to {} for {} at {} (start it with the --urls-env file)",
                   FormatDuration(service.start_timeout_ns), service.name, service.external_url));
  const auto deadline = steady_clock::now() + std::chrono::nanoseconds(service.start_timeout_ns);
  for (;;) {
    if (stop.load()) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("interrupted while waiting for service \"{}\"", service.name));
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (AcceptsConnection(*address, std::clamp(left, milliseconds(1), milliseconds(250)))) break;
    if (steady_clock::now() >= deadline) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("service \"{}\": {} did not accept a connection within {} "
                                   "(start_timeout)",
                                   service.name, service.external_url,
                                   FormatDuration(service.start_timeout_ns)));
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
  Note(fmt::format("{} is up", service.name));
  return Ok{};
}

void OwnServices::Stop() {
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) StopOne(*it);
  processes_.clear();
}

void OwnServices::StopOne(OwnProcess& process) {
  if (process.pid <= 0) return;
  const pid_t group = process.pid;
  int status = 0;
  if (!process.reaped && waitpid(group, &status, WNOHANG) == group) {
    process.reaped = true;
    Note(fmt::format("{} (pid {}) had {} before tracerig stopped it; see {}", process.service,
                     group, DescribeExit(status), process.log_path));
  }
  kill(-group, SIGTERM);
  const auto deadline = steady_clock::now() + options_.stop_grace;
  bool gone = false;
  for (;;) {
    if (!process.reaped && waitpid(group, &status, WNOHANG) == group) process.reaped = true;
    // The leader reaped and no process left in its group: everything it started has exited.
    if (process.reaped && kill(-group, 0) != 0 && errno == ESRCH) {
      gone = true;
      break;
    }
    if (steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (!gone) {
    kill(-group, SIGKILL);
    if (!process.reaped) waitpid(group, &status, 0);
    Note(fmt::format(
        "{} (pid {}) did not exit within {} of SIGTERM: killed", process.service, group,
        FormatDuration(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(options_.stop_grace).count()))));
  }
  process.reaped = true;
  ForgetOnForcedExit(group);
  process.pid = -1;
}

std::optional<CommandOutcome> StartOwnServices(const Scenario& scenario, const ParsedFlags& flags,
                                               const Rig& rig, const std::atomic<bool>& stop,
                                               OwnServices& own) {
  OtlpTarget otlp;
  if (rig.backend.embedded) {
    const auto receiver = rig.backend.embedded->otlp_http_endpoint();
    otlp.embedded_otlp_http = HostPort{receiver.address().to_string(), receiver.port()};
  } else {
    otlp.plan = &rig.backend.plan;
  }
  auto environment = OwnServiceEnvironment(scenario, rig.topology->services(), otlp);
  if (!environment) return CommandOutcome(UsageError(environment.error()));
  const auto file = flags.Get("urls-env");
  if (file) {
    if (auto s = WriteFileAtomically(*file, RenderEnvFile(scenario.name, *environment)); !s) {
      return CommandOutcome(UsageError("--urls-env: " + s.error().message));
    }
    own.Note(fmt::format("services' URLs written to {} (set -a; . {}; set +a)", *file, *file));
  }
  auto failed = [](const Error& error) {
    return Interrupted() ? CommandOutcome(kExitInterrupted)
                         : CommandOutcome(InfrastructureError(error));
  };
  if (auto s = own.Start(scenario, *environment, stop); !s) return failed(s.error());
  if (file) {
    for (const Service& service : scenario.services) {
      if (!service.IsExternal() || !service.command.empty()) continue;
      if (auto s = own.AwaitExternal(service, stop); !s) return failed(s.error());
    }
  }
  return std::nullopt;
}

}  // namespace tracerig
