// The HTML report's async edges: publish-to-process latency per queue (in the latency section)
// and, when links could not be checked, why (report/async_edges.h has the wording).
#include "report/html_internal.h"

#include <string>

#include <fmt/format.h>

#include "core/units.h"
#include "report/async_edges.h"

namespace tracerig {
using namespace html_internal;  // report/html_internal.h

std::string html_internal::AsyncEdgesHtml(const RunReport& r) {
  if (!r.verification) return "";
  const VerificationSummary& v = *r.verification;
  std::string out;
  if (!v.queue_latency.empty()) {
    out += "<h3>Publish → process latency per queue</h3>\n<p>From a message's PRODUCER span start "
           "to the start of the CONSUMER span that processed it.";
    if (const std::string note = QueueLatencyMergedNote(r.merged_from.size()); !note.empty()) {
      out += " " + Esc(note) + ".";
    }
    out += "</p>\n<table id=\"queue-latency\"><thead><tr><th>queue</th><th>consumer</th>"
           "<th>messages</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead>"
           "<tbody>\n";
    for (const QueueLatency& q : v.queue_latency) {
      out += fmt::format(
          "<tr data-queue=\"{0}\"><td>{0}</td><td>{1}</td><td class=\"num\">{2}</td>"
          "<td class=\"num\">{3}</td><td class=\"num\">{4}</td><td class=\"num\">{5}</td>"
          "<td class=\"num\">{6}</td></tr>\n",
          Esc(q.queue), Esc(q.consumer), GroupThousands(q.messages), FormatDuration(q.p50_ns),
          FormatDuration(q.p90_ns), FormatDuration(q.p99_ns), FormatDuration(q.max_ns));
    }
    out += "</tbody></table>\n";
  }
  // Checkable links are a check of their own (the checks table); otherwise no verdict, only why.
  if (v.links && !v.links->checkable) {
    out += fmt::format("<p class=\"placeholder\" id=\"links-not-checked\">{}</p>\n",
                       Esc(DescribeLinks(*v.links)));
  }
  return out;
}

}  // namespace tracerig
