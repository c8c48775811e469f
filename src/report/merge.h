// Merging the reports of several runs or shards of one scenario into one report (`tracerig report
// merge`): counts are summed, histograms merged bucket by bucket, example traces pooled, and the
// result judged again. Pure: reports in, report out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "report/run_report.h"

namespace tracerig {

// Rules (docs/REPORT.md): every report must be of the same scenario and expectations (error
// otherwise, naming both). Counts add up; elapsed times and target durations take the longest
// (shards run side by side); target rates add up; started/finished span all reports; services and
// expected edges are the union; break edges add up per (hop, caller, callee), most frequent
// first; examples keep up to `max_examples` per status and violation kind. The seed, version and
// load model are the first report's (the backend too, unless they differ: then all are listed).
// A verification error in any report makes the merge an infrastructure failure; verification is
// merged over the reports that have one. Time to queryable: counts add up and each percentile is
// the largest report's (an upper bound of the merged one); late hops add up per (hop, caller,
// callee, kind) with the largest max_ns. Backend graph: per edge the worst status of any report
// whose backend served its list (missing or unexpected anywhere stays so), expected calls added,
// the backend's call count the largest; reports whose list was not served or not fetched are
// named in its `error`. Queue latency and span links: as MergeQueueLatency and MergeLinks say
// (report/async_edges.h: percentiles are the largest report's, an upper bound; link counts add
// up). Time-to-queryable expectations must match too. `fail_on` replaces the
// reports' --fail-on when given (else the first report's is kept). The result has been through
// Judge. Sampling verdicts and the observed graph are not merged (the result has none).
// One run is never counted twice: two reports holding the same run id (a run, a copy of it, or a
// merged report made of it) are refused, naming both `files` (the reports' paths, in order;
// "report N" when not given). The result lists the runs it was made of (merged_from, with their
// files, requests and whether they were verified) and has a run id of its own; its verdict says
// how many requests runs made with --no-verify left unchecked. A merge of one report is that
// report.
Result<RunReport> MergeReports(const std::vector<RunReport>& reports,
                               std::optional<FailOn> fail_on = std::nullopt,
                               size_t max_examples = 5,
                               const std::vector<std::string>& files = {});

}  // namespace tracerig
