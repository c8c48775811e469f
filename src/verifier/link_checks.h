// Span links of batch consumers: a batch CONSUMER span roots a trace of its own and must carry one
// link per message it processed, to that message's PRODUCER span. The verifier finds the batch
// through the batch log (topology/batch_log.h), fetches its trace, and checks the link here. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/span.h"
#include "topology/batch_log.h"
#include "topology/expected_tree.h"
#include "verifier/classify.h"

namespace tracerig {

// How one message's link fared.
struct LinkCheck {
  bool checked = false;  // a link was expected (counted in LinkSummary::expected)
  bool found = false;    // present and pointing at the message's PRODUCER span
  // Kind "link": the link is missing, points elsewhere, the batch span is parented to a message
  // instead of linking (batch-first-parent-only), or the batch span is not in the backend.
  std::optional<Violation> violation;
  // The batch span is a child of a message's context instead of linking (batch-first-parent-only):
  // it then sits in that message's trace, where the structure checks see it as unexpected.
  bool parented_to_message = false;
  SpanId batch_span;
  // When the batch's processing started (its span's start, else the batch log's); 0 unknown.
  uint64_t batch_start_unix_nano = 0;
};

// The link of request `request_id`'s message to the batch that processed it. `consumer`: the
// tree's linked CONSUMER span (ExpectedSpan::linked); `producer`: the PRODUCER span found for
// its parent (null: not found, so there is nothing to link to and nothing is checked); `batch`:
// the batch log's record for (request, consumer.hop) (null: no batch processed the message);
// `batch_trace`: the spans of the batch's trace (null: the backend has no such trace). A batch
// that was not sampled is not checked.
LinkCheck CheckBatchLink(const ExpectedSpan& consumer, const Span* producer, uint64_t request_id,
                         const BatchRecord* batch, const std::vector<Span>* batch_trace);

}  // namespace tracerig
