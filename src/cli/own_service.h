// The user's own (real) services in a run or serve: the environment that points them at tracerig
// (TRACERIG_URL_<SERVICE>, OTEL_EXPORTER_OTLP_*; --urls-env writes it to a file) and the services
// tracerig starts itself from an external service's `command`, waits for and stops.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/backend_plan.h"
#include "cli/command_failure.h"
#include "cli/flags.h"
#include "core/result.h"
#include "net/address.h"
#include "topology/runtime_stats.h"
#include "topology/scenario.h"

namespace tracerig {

struct Rig;

extern const FlagSpec kUrlsEnvFlag;  // --urls-env FILE, for run and serve

struct EnvVar {
  std::string name;
  std::string value;
  bool operator==(const EnvVar&) const = default;
};

// "TRACERIG_URL_" + the service's name upper-cased, every character but a letter, digit or '_'
// (in practice '-' and '.') as '_': "fraud-check" -> "TRACERIG_URL_FRAUD_CHECK".
std::string UrlVariableName(std::string_view service);

// Where the user's services send spans so that tracerig reads them: the base URL for
// OTEL_EXPORTER_OTLP_ENDPOINT (the SDKs append /v1/traces), for the embedded backend its
// OTLP/HTTP receiver (always listening, whatever tracerig itself exports with).
struct OtlpTarget {
  std::optional<HostPort> embedded_otlp_http;  // set when the backend is the embedded one
  const BackendPlan* plan = nullptr;           // an external backend's plan otherwise
};

// The variables a user's service needs, pure: TRACERIG_URL_<SERVICE>=http://host:port for every
// simulated service (gRPC ones too; an unspecified listen address as loopback), where to export
// (OTEL_EXPORTER_OTLP_ENDPOINT and _PROTOCOL, or the Zipkin variables for a Zipkin backend),
// OTEL_BSP_SCHEDULE_DELAY so spans arrive within the verifier's settle time, and
// OTEL_SERVICE_NAME when the scenario has exactly one external service. Export headers (secrets)
// are never included. An error when two services map to the same variable.
Result<std::vector<EnvVar>> OwnServiceEnvironment(const Scenario& scenario,
                                                  const std::vector<RunningService>& services,
                                                  const OtlpTarget& otlp);

// The file --urls-env writes: a comment naming the scenario, then NAME=value lines, values
// single-quoted when they hold anything a shell would interpret. `set -a; . FILE; set +a` loads it.
std::string RenderEnvFile(std::string_view scenario_name, const std::vector<EnvVar>& variables);

// Writes `text` to `path` through a temporary file in the same folder and a rename, so a script
// polling for the file never reads half of it.
Status WriteFileAtomically(const std::string& path, std::string_view text);

// One service started from its `command`.
struct OwnProcess {
  std::string service;
  pid_t pid = -1;  // also its process group
  std::string url;
  std::string log_path;
  bool reaped = false;  // its leader (`sh`) has been waited for
};

struct OwnServiceOptions {
  // Where each service's stdout and stderr go, as <log_dir>/<service>.log (created if missing).
  std::string log_dir;
  // Progress lines ("started fraud-check (pid 4242), waiting for ..."); none when empty.
  std::function<void(const std::string&)> note;
  // After SIGTERM, how long a service may take to exit before its process group is killed.
  std::chrono::milliseconds stop_grace{5000};
  // How often the URL is tried while waiting.
  std::chrono::milliseconds poll_interval{50};
};

// The services tracerig started, stopped (SIGTERM to each process group, SIGKILL after the grace
// period) by Stop() or at destruction, so every error path stops them too.
class OwnServices {
 public:
  explicit OwnServices(OwnServiceOptions options = {});
  ~OwnServices();
  OwnServices(const OwnServices&) = delete;
  OwnServices& operator=(const OwnServices&) = delete;

  // Starts every external service of `scenario` that has a `command`, in scenario order, with
  // `sh -c` in its own process group, the current environment plus `environment` and
  // OTEL_SERVICE_NAME=<service>, and waits until its URL accepts a TCP connection (at most its
  // start_timeout). Fails at once when the process exits first (with the last lines of its log),
  // when something already listens at the URL before it is started, or when `stop` becomes true.
  Status Start(const Scenario& scenario, const std::vector<EnvVar>& environment,
               const std::atomic<bool>& stop);

  // Without a command, waits (at most its start_timeout) until the external service `service`
  // accepts connections at its URL, for a service the user starts from the --urls-env file.
  Status AwaitExternal(const Service& service, const std::atomic<bool>& stop);

  // Stops every started service, the last started first. Idempotent.
  void Stop();

  const std::vector<OwnProcess>& processes() const { return processes_; }
  // A progress line through OwnServiceOptions::note.
  void Note(const std::string& line) const;

 private:
  Status StartOne(const Service& service, const std::vector<EnvVar>& environment,
                  const std::atomic<bool>& stop);
  void StopOne(OwnProcess& process);

  OwnServiceOptions options_;
  std::vector<OwnProcess> processes_;
};

// The last `max_lines` lines of the file at `path` (at most its last 4 KiB), for messages.
std::string LastLinesOf(const std::string& path, size_t max_lines);

// For `run` and `serve` once the rig is up: writes --urls-env's file, then starts the scenario's
// commands (`own` keeps them). With --urls-env, external services without a command are waited
// for too, so a script can start them from the file. Returns the outcome to end the command
// with (a failure, or 130 when interrupted), or nothing when everything is up.
std::optional<CommandOutcome> StartOwnServices(const Scenario& scenario, const ParsedFlags& flags,
                                               const Rig& rig, const std::atomic<bool>& stop,
                                               OwnServices& own);

}  // namespace tracerig
