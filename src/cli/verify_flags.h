// The flags that shape verification, shared by `run` and `verify`: the backend query clients and
// their timeout, the polling options, the verifier's concurrency and deadline.
#pragma once

#include "cli/backend_plan.h"
#include "cli/flags.h"
#include "core/result.h"
#include "verifier/verify.h"

namespace tracerig {

extern const FlagSpec kQueryTimeoutFlag;
extern const FlagSpec kVerifyAfterLoadFlag;
extern const FlagSpec kPollIntervalFlag;
extern const FlagSpec kSettleTimeFlag;

// One client per verifier worker for the plan's query API, each with its own connection
// (--query-timeout bounds each request).
Result<BackendClientFactory> MakeQueryClients(const BackendPlan& plan, const ParsedFlags& flags);

// --verify-concurrency, --verify-timeout, --poll-interval and --settle-time over the defaults of
// a run's (or a verify's) verification.
Result<VerifyOptions> ParseRunVerifyOptions(const ParsedFlags& flags);

}  // namespace tracerig
