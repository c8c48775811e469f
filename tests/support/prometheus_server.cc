// Starting, querying and stopping a private Prometheus server for tests (see prometheus_server.h).
#include "tests/support/prometheus_server.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "tests/support/free_port.h"
#include "tests/support/process_group.h"

namespace tracerig::test_support {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPortAttempts = 5;

// Query-string encoding (RFC 3986 unreserved characters kept): PromQL has braces, quotes, spaces.
std::string EncodeQueryValue(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// One short-lived connection per request: the helpers may be called from several test threads.
Result<BlockingResponse> Get(uint16_t port, const std::string& target) {
  HttpClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.request_timeout = std::chrono::milliseconds(10000);
  BlockingHttpClient client("127.0.0.1", port, options);
  return client.Get(target);
}

// The configuration: one job scraping `targets` every `interval`.
std::string ConfigText(const std::vector<std::string>& targets, const PrometheusOptions& options) {
  std::ostringstream out;
  out << "global:\n"
      << "  scrape_interval: " << options.scrape_interval << "\n"
      << "  scrape_timeout: " << options.scrape_interval << "\n"
      << "  evaluation_interval: " << options.scrape_interval << "\n"
      << "scrape_configs:\n"
      << "  - job_name: tracerig\n"
      << "    metrics_path: " << options.metrics_path << "\n"
      << "    static_configs:\n"
      << "      - targets: [";
  for (size_t i = 0; i < targets.size(); ++i) {
    out << (i == 0 ? "" : ", ") << "'" << targets[i] << "'";
  }
  out << "]\n";
  return out.str();
}

bool WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

std::string Shorten(const std::string& text, size_t limit = 400) {
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

// A sample's value: Prometheus sends [time, "text"], the text possibly "NaN" or "+Inf".
Result<double> ParseValue(const nlohmann::json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) {
    return MakeError("a sample value is not [time, \"value\"]: " + pair.dump());
  }
  const std::string text = pair[1].get<std::string>();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') return MakeError("a sample value is not a number: " + text);
  return value;
}

}  // namespace

std::string Describe(const PromVector& samples) {
  if (samples.empty()) return "(no samples)";
  std::ostringstream out;
  for (size_t i = 0; i < samples.size(); ++i) {
    out << (i == 0 ? "" : ", ") << "{";
    bool first = true;
    for (const auto& [name, value] : samples[i].labels) {
      out << (first ? "" : ", ") << name << "=\"" << value << "\"";
      first = false;
    }
    out << "} " << samples[i].value;
  }
  return out.str();
}

std::string PrometheusServer::Unavailable() {
  if (access(kBinary, X_OK) != 0) {
    return std::string("Prometheus is not installed (no ") + kBinary +
           "; scripts/deps.sh --tests installs the prometheus package)";
  }
  return "";
}

std::unique_ptr<PrometheusServer> PrometheusServer::Start(const std::vector<std::string>& targets,
                                                          std::string& error,
                                                          const PrometheusOptions& options) {
  if (std::string why = Unavailable(); !why.empty()) {
    error = why;
    return nullptr;
  }
  std::unique_ptr<PrometheusServer> server(new PrometheusServer());
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "tracerig-prometheus-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    error = "cannot create a directory for Prometheus under " +
            std::filesystem::temp_directory_path().string();
    return nullptr;
  }
  server->dir_ = tmpl;
  if (!WriteFile(server->dir_ / "prometheus.yml", ConfigText(targets, options))) {
    error = "cannot write Prometheus' configuration in " + server->dir_.string();
    return nullptr;
  }

  // Prometheus cannot report the port of a port-0 bind, so a free port is chosen first; another
  // process may take it in between, which shows as an early exit with "address already in use".
  for (int attempt = 1;; ++attempt) {
    server->port_ = FreeLoopbackPort();
    if (server->port_ == 0) {
      error = "no free loopback port for Prometheus";
      return nullptr;
    }
    server->url_ = "http://127.0.0.1:" + std::to_string(server->port_);
    if (!server->Spawn(error)) return nullptr;

    const auto deadline = Clock::now() + options.ready_timeout;
    while (true) {
      int status = 0;
      if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
        server->pid_ = -1;
        const std::string log = server->LogTail(200);
        if (log.find("address already in use") != std::string::npos && attempt < kPortAttempts) {
          break;  // another port
        }
        error = std::string(kBinary) + " exited (status " + std::to_string(status) +
                ") before it was ready on port " + std::to_string(server->port_) + ":\n" +
                server->LogTail();
        return nullptr;
      }
      if (auto r = Get(server->port_, "/-/ready"); r.ok() && r->status == 200) return server;
      if (Clock::now() > deadline) {
        error = std::string(kBinary) + " did not answer 200 on " + server->url_ +
                "/-/ready within " + std::to_string(options.ready_timeout.count()) + " s:\n" +
                server->LogTail();
        return nullptr;  // the destructor kills it
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

bool PrometheusServer::Spawn(std::string& error) {
  std::vector<std::string> args = {
      kBinary,
      "--config.file=" + (dir_ / "prometheus.yml").string(),
      "--storage.tsdb.path=" + (dir_ / "data").string(),
      "--storage.tsdb.retention.time=1h",
      "--web.listen-address=127.0.0.1:" + std::to_string(port_),
      "--web.console.templates=" + (dir_ / "consoles").string(),
      "--web.console.libraries=" + (dir_ / "console_libraries").string(),
      "--log.level=info",
  };
  const pid_t pid = SpawnInOwnGroup(std::move(args), dir_, dir_ / "prometheus.log", error);
  if (pid < 0) return false;
  pid_ = pid;
  return true;
}

PrometheusServer::~PrometheusServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void PrometheusServer::Stop() {
  StopProcessGroup(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

std::string PrometheusServer::LogTail(size_t lines) const {
  std::ifstream in(dir_ / "prometheus.log");
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::ostringstream out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out << "  " << all[i] << "\n";
  }
  return out.str();
}

Result<PromVector> PrometheusServer::Query(const std::string& expr) const {
  const std::string where = "query " + expr + " on " + url_ + ": ";
  auto response = Get(port_, "/api/v1/query?query=" + EncodeQueryValue(expr));
  if (!response) return MakeError(where + response.error().message);
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(response->body);
  } catch (const nlohmann::json::exception& e) {
    return MakeError(where + "HTTP " + std::to_string(response->status) +
                     ", not JSON: " + Shorten(response->body));
  }
  if (body.value("status", "") != "success") {
    return MakeError(where + "HTTP " + std::to_string(response->status) + ", " +
                     body.value("errorType", "?") + ": " + body.value("error", body.dump()));
  }
  const nlohmann::json& data = body["data"];
  const std::string type = data.value("resultType", "");
  PromVector samples;
  if (type == "scalar") {
    auto value = ParseValue(data["result"]);
    if (!value) return MakeError(where + value.error().message);
    samples.push_back({{}, *value});
    return samples;
  }
  if (type != "vector" || !data["result"].is_array()) {
    return MakeError(where + "the result is not an instant vector but " + Shorten(data.dump()));
  }
  for (const nlohmann::json& element : data["result"]) {
    PromSample sample;
    if (element.contains("metric") && element["metric"].is_object()) {
      for (const auto& [name, value] : element["metric"].items()) {
        sample.labels[name] = value.is_string() ? value.get<std::string>() : value.dump();
      }
    }
    auto value = ParseValue(element.value("value", nlohmann::json()));
    if (!value) return MakeError(where + value.error().message);
    sample.value = *value;
    samples.push_back(std::move(sample));
  }
  return samples;
}

Result<double> PrometheusServer::QueryValue(const std::string& expr) const {
  auto samples = Query(expr);
  if (!samples) return samples.error();
  if (samples->size() != 1) {
    return MakeError("query " + expr + " gave " + std::to_string(samples->size()) +
                     " samples, not one: " + Describe(*samples));
  }
  return samples->front().value;
}

std::string PrometheusServer::Wait::Describe() const {
  if (!last_error.empty()) return "the last query failed: " + last_error;
  return "the last answer was " + test_support::Describe(last);
}

PrometheusServer::Wait PrometheusServer::WaitFor(
    const std::string& expr, const std::function<bool(const PromVector&)>& predicate,
    std::chrono::milliseconds timeout) const {
  Wait wait;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto samples = Query(expr);
    if (samples) {
      wait.last = *samples;
      wait.last_error.clear();
      if (predicate(wait.last)) {
        wait.met = true;
        return wait;
      }
    } else {
      wait.last.clear();
      wait.last_error = samples.error().message;
    }
    if (Clock::now() >= deadline) return wait;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

PrometheusServer::Wait PrometheusServer::WaitForValue(const std::string& expr,
                                                      const std::function<bool(double)>& predicate,
                                                      std::chrono::milliseconds timeout) const {
  return WaitFor(
      expr,
      [&](const PromVector& samples) { return samples.size() == 1 && predicate(samples[0].value); },
      timeout);
}

bool PrometheusServer::TargetsHealthy(std::string* why) const {
  auto fail = [&](std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return false;
  };
  auto response = Get(port_, "/api/v1/targets?state=active");
  if (!response) return fail(url_ + "/api/v1/targets: " + response.error().message);
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(response->body);
  } catch (const nlohmann::json::exception&) {
    return fail(url_ + "/api/v1/targets: not JSON: " + Shorten(response->body));
  }
  const nlohmann::json targets =
      body.value("data", nlohmann::json::object()).value("activeTargets", nlohmann::json::array());
  if (targets.empty()) return fail("Prometheus has no active targets: " + Shorten(body.dump()));
  for (const nlohmann::json& target : targets) {
    if (target.value("health", "") != "up") {
      return fail("target " + target.value("scrapeUrl", "?") + " is " +
                  target.value("health", "?") + ": " + target.value("lastError", ""));
    }
  }
  if (why != nullptr) why->clear();
  return true;
}

}  // namespace tracerig::test_support
