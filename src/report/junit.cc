#include "report/junit.h"

#include <fmt/format.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <utility>
#include <vector>

#include "report/async_edges.h"
#include "verifier/classify.h"

namespace tracerig {
namespace {

constexpr size_t kMaxExampleTraces = 5;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Decodes one UTF-8 sequence at text[i]. Returns the code point and sets `length`, or returns -1
// (with length 1) for a byte that does not start a valid, shortest-form, non-surrogate sequence.
long DecodeUtf8(std::string_view text, size_t i, size_t& length) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  length = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  long cp;
  long min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + n > text.size()) return -1;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  length = n;
  return cp;
}

// XML 1.0's Char production.
bool IsXmlChar(long cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

std::string EscapeXml(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t length;
    const long cp = DecodeUtf8(text, i, length);
    if (cp < 0 || !IsXmlChar(cp)) {
      out += kReplacement;
    } else {
      switch (cp) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '\r':  // a raw \r would be normalised away on parsing
          out += "&#13;";
          break;
        case '"':
          out += attribute ? "&quot;" : "\"";
          break;
        case '\'':
          out += attribute ? "&apos;" : "'";
          break;
        case '\t':
          out += attribute ? "&#9;" : "\t";
          break;
        case '\n':
          out += attribute ? "&#10;" : "\n";
          break;
        default:
          out.append(text.substr(i, length));
      }
    }
    i += length;
  }
  return out;
}

std::string Seconds(uint64_t nanos) {
  return fmt::format("{:.3f}", static_cast<double>(nanos) / 1e9);
}

std::string UtcTimestamp(uint64_t unix_nano) {
  std::time_t seconds = static_cast<std::time_t>(unix_nano / 1'000'000'000ull);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// kWarning: a failed check not in --fail-on; it passes, with the failure as <system-out>.
enum class Outcome { kPassed, kWarning, kFailed, kError, kSkipped };

struct TestCase {
  std::string name;
  Outcome outcome = Outcome::kPassed;
  std::string message;  // the failure/error/skip message attribute
  std::string details;  // the failure/error/skip body: the message plus the traces that show it
  uint64_t time_ns = 0;
};

// Up to kMaxExampleTraces of the report's example traces that `keep` accepts, one per line.
std::string ExampleTraces(const RunReport& r,
                          const std::function<bool(const TraceVerdict&)>& keep) {
  if (!r.verification) return "";
  std::string lines;
  size_t shown = 0;
  for (const auto& ex : r.verification->examples) {
    if (!keep(ex)) continue;
    if (shown++ == kMaxExampleTraces) break;
    lines += fmt::format("{} trace {} (request {}): {}\n", TraceStatusName(ex.status),
                         ex.trace_id.ToHex(), FormatRequestId(ex.request_id), ex.explanation);
  }
  return lines.empty() ? "" : "example traces:\n" + lines;
}

// What the checks were measured over: the verification phase for trace checks, the load phase
// (during which spans are exported) for the export check.
uint64_t CheckTime(const RunReport& r, const std::string& check) {
  if (check == "spans-exported") return r.load.elapsed_ns;
  return r.verification ? r.verification->elapsed_ns : 0;
}

// Why requests failed in transport, one kind a line with its first message ("" without kinds).
std::string TransportErrorLines(const RunReport& r) {
  const DriverResult& l = r.load;
  if (l.transport_errors == 0 || l.transport_error_reasons.empty()) return "";
  std::string lines = fmt::format("transport errors: {}\n", l.transport_errors);
  uint64_t counted = 0;
  for (const TransportErrorReason& t : l.transport_error_reasons) {
    counted += t.count;
    lines += fmt::format("  {} {}{}\n", t.count, t.reason,
                         t.first_message.empty() ? "" : ": " + t.first_message);
  }
  if (counted < l.transport_errors) {
    lines += fmt::format("  {} of no recorded kind\n", l.transport_errors - counted);
  }
  return lines;
}

std::vector<TestCase> TestCases(const RunReport& r) {
  std::vector<TestCase> cases;
  if (!r.verification_error.empty()) {
    cases.push_back(
        {"verification", Outcome::kError, r.verification_error, r.verification_error + "\n", 0});
  } else if (r.exit_code == kExitInfrastructure) {
    cases.push_back({"run", Outcome::kError, r.verdict, r.verdict + "\n" + TransportErrorLines(r),
                     r.load.elapsed_ns});
  }
  for (const auto& c : r.checks) {
    if (!r.load_measured && c.name == "spans-exported") {
      // Judged over load figures a verify-only run never took: neither a pass nor a failure.
      cases.push_back(
          {c.name, Outcome::kSkipped, "not measured (verify only)", c.message + "\n", 0});
      continue;
    }
    TestCase t{c.name,
               c.passed ? Outcome::kPassed : (c.enforced ? Outcome::kFailed : Outcome::kWarning),
               c.message, "", CheckTime(r, c.name)};
    if (!c.passed) {
      t.details = (c.enforced ? "" : "warning (not in --fail-on): ") + c.message + "\n";
      if (c.name == "completeness") {
        t.details += ExampleTraces(
            r, [](const TraceVerdict& v) { return v.status != TraceStatus::kComplete; });
      } else if (c.name == "broken-propagation") {
        t.details += ExampleTraces(
            r, [](const TraceVerdict& v) { return v.status == TraceStatus::kBroken; });
      }
    }
    cases.push_back(std::move(t));
  }
  // Links the backend cannot hold (Zipkin v2): skipped, saying why, rather than passed or failed.
  if (r.verification && r.verification->links && !r.verification->links->checkable) {
    const std::string why = DescribeLinks(*r.verification->links);
    cases.push_back({"links", Outcome::kSkipped, why, "", 0});
  }
  if (cases.empty()) cases.push_back({"verification", Outcome::kSkipped, r.verdict, "", 0});
  return cases;
}

}  // namespace

std::string EscapeXmlText(std::string_view text) { return EscapeXml(text, false); }
std::string EscapeXmlAttribute(std::string_view text) { return EscapeXml(text, true); }

std::string RenderJUnit(const RunReport& r) {
  const auto attr = [](std::string_view s) { return EscapeXmlAttribute(s); };
  const std::vector<TestCase> cases = TestCases(r);
  size_t failures = 0;
  size_t errors = 0;
  size_t skipped = 0;
  for (const auto& t : cases) {
    failures += t.outcome == Outcome::kFailed;
    errors += t.outcome == Outcome::kError;
    skipped += t.outcome == Outcome::kSkipped;
  }
  const uint64_t run_ns =
      r.finished_unix_nano > r.started_unix_nano ? r.finished_unix_nano - r.started_unix_nano : 0;
  const std::string suite = "tracerig." + r.scenario_name;

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"tracerig\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "time=\"{}\">\n",
      cases.size(), failures, errors, Seconds(run_ns));
  out += fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "skipped=\"{}\" time=\"{}\"",
      attr(suite), cases.size(), failures, errors, skipped, Seconds(run_ns));
  if (r.started_unix_nano != 0) {
    out += fmt::format(" timestamp=\"{}\"", UtcTimestamp(r.started_unix_nano));
  }
  out += ">\n    <properties>\n";
  const std::pair<std::string_view, std::string> properties[] = {
      {"tracerig.version", r.tracerig_version},
      {"scenario.name", r.scenario_name},
      {"scenario.file", r.scenario_file},
      {"seed", std::to_string(r.seed)},
      {"backend", r.backend},
      {"verdict", r.verdict},
      {"exit_code", std::to_string(r.exit_code)},
  };
  for (const auto& [name, value] : properties) {
    out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", name, attr(value));
  }
  if (r.load.transport_errors > 0 && !r.load.transport_error_reasons.empty()) {
    out += fmt::format("      <property name=\"transport_errors\" value=\"{} ({})\"/>\n",
                       r.load.transport_errors, attr(DescribeTransportErrors(r.load)));
  }
  if (!r.load_measured) {  // a verify-only run: of the load, only the ledger's requests are known
    out += "      <property name=\"load\" value=\"not measured (verify only)\"/>\n";
    const std::pair<std::string_view, uint64_t> ledger[] = {
        {"ledger.requests", r.load.sent},
        {"ledger.ok", r.load.ok},
        {"ledger.http_errors", r.load.http_errors},
        {"ledger.transport_errors", r.load.transport_errors},
    };
    for (const auto& [name, value] : ledger) {
      out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", name, value);
    }
  }
  if (r.verification) {  // one property per queue: "orders (fulfilment) p50 3.1ms ..."
    for (const QueueLatency& q : r.verification->queue_latency) {
      out += fmt::format("      <property name=\"queue_latency.{}\" value=\"{}\"/>\n",
                         attr(q.queue + "." + q.consumer), attr(DescribeQueueLatency(q)));
    }
  }
  out += "    </properties>\n";
  for (const auto& t : cases) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"", attr(suite),
                       attr(t.name), Seconds(t.time_ns));
    switch (t.outcome) {
      case Outcome::kPassed:
        out += "/>\n";
        break;
      case Outcome::kWarning:
        out += fmt::format(">\n      <system-out>{}</system-out>\n    </testcase>\n",
                           EscapeXmlText(t.details));
        break;
      case Outcome::kSkipped:
        if (t.details.empty()) {
          out += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                             attr(t.message));
        } else {
          out += fmt::format(">\n      <skipped message=\"{}\">{}</skipped>\n    </testcase>\n",
                             attr(t.message), EscapeXmlText(t.details));
        }
        break;
      case Outcome::kFailed:
      case Outcome::kError: {
        const char* element = t.outcome == Outcome::kFailed ? "failure" : "error";
        out +=
            fmt::format(">\n      <{} message=\"{}\" type=\"{}\">{}</{}>\n    </testcase>\n",
                        element, attr(t.message), attr(t.name), EscapeXmlText(t.details), element);
        break;
      }
    }
  }
  // Transport errors by kind and queue latency for CI logs, whether or not they failed the run.
  std::string lines = TransportErrorLines(r);
  if (r.verification) {
    if (const std::string q = QueueLatencyLine(r.verification->queue_latency,
                                               r.merged_from.size());
        !q.empty()) {
      lines += q + "\n";
    }
  }
  if (!lines.empty()) {
    out += fmt::format("    <system-out>{}</system-out>\n", EscapeXmlText(lines));
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace tracerig
