// A private Prometheus server for tests: Debian's /usr/bin/prometheus started on a free loopback
// port with its own configuration (scraping the targets a test gives, every second) and storage in
// a temporary directory, queried through its HTTP API, and stopped afterwards. Never port 9090.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace tracerig::test_support {

// One element of an instant vector: its labels (__name__ included when the series has one) and
// its value at the query's time.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};
using PromVector = std::vector<PromSample>;

// "{a=\"1\", b=\"2\"} 5, ..." for failure messages.
std::string Describe(const PromVector& samples);

struct PrometheusOptions {
  std::string scrape_interval = "1s";
  std::string metrics_path = "/metrics";
  // How long Start waits for /-/ready to answer 200.
  std::chrono::seconds ready_timeout{30};
};

class PrometheusServer {
 public:
  // Debian's package (scripts/deps.sh --tests installs it).
  static constexpr const char* kBinary = "/usr/bin/prometheus";

  // Why no server can be started here ("" when one can be tried): the package is not installed.
  static std::string Unavailable();

  // Starts a server that scrapes `targets` ("127.0.0.1:PORT", job "tracerig") and waits until
  // /-/ready answers 200. A port taken between choosing and binding it is retried on another. On
  // failure `error` says why, with the end of the server's log. Ready takes ~0.1 s; the first
  // scrape follows ~5 s later (Prometheus hands discovered targets to its scrapers every 5 s).
  static std::unique_ptr<PrometheusServer> Start(const std::vector<std::string>& targets,
                                                 std::string& error,
                                                 const PrometheusOptions& options = {});

  ~PrometheusServer();  // stops the server (SIGTERM, then SIGKILL), removes its directory
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"
  // Its configuration, storage and log (prometheus.log).
  const std::filesystem::path& dir() const { return dir_; }

  // GET /api/v1/query?query=`expr` (evaluated now): the instant vector (a scalar result is one
  // sample without labels). Errors name the expression and say why: the server unreachable, an
  // HTTP status, Prometheus' own error (a bad expression), an answer that is not an instant vector.
  Result<PromVector> Query(const std::string& expr) const;
  // The value of an expression that yields exactly one sample (sum(...), a single series).
  Result<double> QueryValue(const std::string& expr) const;

  struct Wait {
    bool met = false;
    PromVector last;         // the last answer, for the failure message
    std::string last_error;  // or why the last query failed
    std::string Describe() const;
  };
  // Queries `expr` every 250 ms until `predicate` holds for its answer or `timeout` passes.
  Wait WaitFor(const std::string& expr, const std::function<bool(const PromVector&)>& predicate,
               std::chrono::milliseconds timeout) const;
  // WaitFor on an expression of one sample: `predicate` sees its value (no sample never matches).
  Wait WaitForValue(const std::string& expr, const std::function<bool(double)>& predicate,
                    std::chrono::milliseconds timeout) const;

  // Whether every active target's last scrape succeeded (health "up"), from /api/v1/targets; with
  // no target at all, or when the API fails, false with the reason in `why`.
  bool TargetsHealthy(std::string* why = nullptr) const;

  // The last lines of the server's log.
  std::string LogTail(size_t lines = 30) const;

 private:
  PrometheusServer() = default;
  // Forks the server on `port_`; false with `error` when fork or the log file failed.
  bool Spawn(std::string& error);
  void Stop();

  std::filesystem::path dir_;
  pid_t pid_ = -1;  // leader of the server's process group
  uint16_t port_ = 0;
  std::string url_;
};

}  // namespace tracerig::test_support
