// ParseScenario: every invalid input with the exact diagnostics it must produce.
#include "topology/parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/topology/parse_test_support.h"

namespace tracerig {
namespace {

using parse_test_support::InvalidCase;
using parse_test_support::kHead;
using parse_test_support::kScenario;
using parse_test_support::kServices;
using parse_test_support::Render;

// Ten lines: load entries naming both services (so neither is unreachable), services "cart"
// (route "GetCart") and "frontend" (route "GET /checkout"); a case's own text starts on line 11,
// inside frontend's route.
const std::string kShop =
    "load = { entries = [{ service = \"frontend\", route = \"GET /checkout\" }, "
    "{ service = \"cart\", route = \"GetCart\" }] }\n" +
    kScenario + "[[services]]\nname = \"cart\"\nroutes = [{ name = \"GetCart\" }]\n" +
    "[[services]]\nname = \"frontend\"\n[[services.routes]]\nname = \"GET /checkout\"\n";
// The same two services without load entries (so cases can add their own): ten lines too.
const std::string kShopNoLoad = kScenario +
                                "[[services]]\nname = \"cart\"\n[[services.routes]]\n"
                                "name = \"GetCart\"\n"
                                "[[services]]\nname = \"frontend\"\n[[services.routes]]\n"
                                "name = \"GET /checkout\"\n";

TEST(ParseScenarioTest, InvalidInputsReportExactDiagnostics) {
  const InvalidCase cases[] = {
      // Documents and top-level tables.
      {"malformed TOML",
       "[scenario\nname = \"t\"\n",
       {"t.toml:1:10: Error while parsing table header: expected ']', saw '\\n'"}},
      {"missing [scenario]", kServices, {"t.toml:1:1: missing required table [scenario]"}},
      {"missing scenario name",
       "[scenario]\nseed = 3\n" + kServices,
       {"t.toml:1:1: missing required key \"name\" in [scenario]"}},
      {"empty scenario name",
       "[scenario]\nname = \"\"\n" + kServices,
       {"t.toml:2:8: \"name\" must not be empty"}},
      {"negative seed",
       kScenario + "seed = -1\n" + kServices,
       {"t.toml:3:8: \"seed\" must be 0 or greater, got -1"}},
      {"float seed",
       kScenario + "seed = 1.5\n" + kServices,
       {"t.toml:3:8: \"seed\" must be an integer, got float"}},
      {"unknown top-level key",
       kHead + "[expct]\ncompleteness = 1.0\n",
       {"t.toml:7:2: unknown key \"expct\" at the top level (did you mean \"expect\"?)"}},
      {"no services",
       kScenario,
       {"t.toml:1:1: scenario defines no services (add a [[services]] table)"}},
      {"services written as a table",
       kScenario + "[services]\nname = \"a\"\n",
       {"t.toml:3:1: \"services\" must be an array of tables ([[services]]), got table"}},

      // [load]
      {"unknown load key",
       kHead + "[load]\nwarm_up = \"2s\"\n",
       {"t.toml:8:1: unknown key \"warm_up\" in [load] (did you mean \"warmup\"?)"}},
      {"rate is a string",
       kHead + "[load]\nrate = \"fast\"\n",
       {"t.toml:8:8: \"rate\" must be a number, got string"}},
      {"rate is zero",
       kHead + "[load]\nrate = 0\n",
       {"t.toml:8:8: \"rate\" must be greater than 0, got 0"}},
      {"rate is infinite",
       kHead + "[load]\nrate = inf\n",
       {"t.toml:8:8: \"rate\" must be a finite number, got inf"}},
      {"duration without a unit",
       kHead + "[load]\nduration = \"5 sec\"\n",
       {"t.toml:8:12: invalid duration \"5 sec\" for \"duration\" (expected a number and one of "
        "the units ns, us, ms, s, m, h, as in \"30s\")"}},
      {"duration is an integer",
       kHead + "[load]\nduration = 5\n",
       {"t.toml:8:12: \"duration\" must be a duration string such as \"30s\", got integer"}},
      {"duration is zero",
       kHead + "[load]\nduration = \"0s\"\n",
       {"t.toml:8:12: \"duration\" must be greater than 0"}},
      {"closed load without virtual users",
       kHead + "[load]\nmodel = \"closed\"\n",
       {"t.toml:7:1: missing required key \"virtual_users\" in [load] for model \"closed\""}},
      {"load model misspelt",
       kHead + "[load]\nmodel = \"poison\"\n",
       {"t.toml:8:9: unknown load model \"poison\" (did you mean \"poisson\"?)"}},
      {"unknown load model",
       kHead + "[load]\nmodel = \"linear\"\n",
       {"t.toml:8:9: unknown load model \"linear\" (supported: \"constant\", \"ramp\", "
        "\"poisson\", \"count\", \"closed\")"}},
      {"load model is not a string",
       kHead + "[load]\nmodel = 3\n",
       {"t.toml:8:9: \"model\" must be a string, got integer"}},
      {"ramp without stages",
       kHead + "[load]\nmodel = \"ramp\"\n",
       {"t.toml:7:1: model \"ramp\" needs at least one [[load.stages]] table"}},
      {"ramp with empty stages",
       kHead + "[load]\nmodel = \"ramp\"\nstages = []\n",
       {"t.toml:9:10: \"stages\" must list at least one stage"}},
      {"ramp stages written as a table",
       kHead + "[load]\nmodel = \"ramp\"\n[load.stages]\nduration = \"1s\"\ntarget = 5\n",
       {"t.toml:9:1: \"stages\" must be an array of tables ([[load.stages]]), got table"}},
      {"stage without target",
       kHead + "[load]\nmodel = \"ramp\"\n[[load.stages]]\nduration = \"1s\"\n",
       {"t.toml:9:1: missing required key \"target\" in load stage"}},
      {"stage without duration",
       kHead + "[load]\nmodel = \"ramp\"\n[[load.stages]]\ntarget = 5\n",
       {"t.toml:9:1: missing required key \"duration\" in load stage"}},
      {"stage with zero duration",
       kHead + "[load]\nmodel = \"ramp\"\n[[load.stages]]\nduration = \"0s\"\ntarget = 5\n",
       {"t.toml:10:12: \"duration\" must be greater than 0"}},
      {"stage with negative target",
       kHead + "[load]\nmodel = \"ramp\"\n[[load.stages]]\nduration = \"1s\"\ntarget = -5\n",
       {"t.toml:11:10: \"target\" must be 0 or greater, got -5"}},
      {"stage with string target",
       kHead + "[load]\nmodel = \"ramp\"\n[[load.stages]]\nduration = \"1s\"\n"
               "target = \"200/s\"\n",
       {"t.toml:11:10: \"target\" must be a number, got string"}},
      {"stage with unknown key",
       kHead + "[load]\nmodel = \"ramp\"\n[[load.stages]]\nduration = \"1s\"\ntarget = 5\n"
               "rate = 5\n",
       {"t.toml:12:1: unknown key \"rate\" in load stage"}},
      {"stages without ramp",
       kHead + "[load]\nrate = 5\n[[load.stages]]\nduration = \"1s\"\ntarget = 5\n",
       {"t.toml:9:1: \"stages\" applies only to model \"ramp\", not \"constant\""}},
      {"rate with ramp",
       kHead + "[load]\nmodel = \"ramp\"\nrate = 5\n[[load.stages]]\nduration = \"1s\"\n"
               "target = 5\n",
       {"t.toml:9:8: \"rate\" applies only to model \"constant\", \"poisson\" or \"count\", "
        "not \"ramp\""}},
      {"duration with ramp",
       kHead + "[load]\nmodel = \"ramp\"\nduration = \"1s\"\n[[load.stages]]\n"
               "duration = \"1s\"\ntarget = 5\n",
       {"t.toml:9:12: \"duration\" applies only to model \"constant\", \"poisson\" or "
        "\"closed\", not \"ramp\""}},
      {"start_rate without ramp",
       kHead + "[load]\nstart_rate = 5\n",
       {"t.toml:8:14: \"start_rate\" applies only to model \"ramp\", not \"constant\""}},
      {"negative start_rate",
       kHead + "[load]\nmodel = \"ramp\"\nstart_rate = -1\n[[load.stages]]\n"
               "duration = \"1s\"\ntarget = 5\n",
       {"t.toml:9:14: \"start_rate\" must be 0 or greater, got -1"}},
      {"count without requests",
       kHead + "[load]\nmodel = \"count\"\n",
       {"t.toml:7:1: missing required key \"requests\" in [load] for model \"count\""}},
      {"count with zero requests",
       kHead + "[load]\nmodel = \"count\"\nrequests = 0\n",
       {"t.toml:9:12: \"requests\" must be greater than 0, got 0"}},
      {"count with negative requests",
       kHead + "[load]\nmodel = \"count\"\nrequests = -3\n",
       {"t.toml:9:12: \"requests\" must be greater than 0, got -3"}},
      {"count with fractional requests",
       kHead + "[load]\nmodel = \"count\"\nrequests = 1.5\n",
       {"t.toml:9:12: \"requests\" must be an integer, got float"}},
      {"duration with count",
       kHead + "[load]\nmodel = \"count\"\nrequests = 10\nduration = \"5s\"\n",
       {"t.toml:10:12: \"duration\" applies only to model \"constant\", \"poisson\" or "
        "\"closed\", not \"count\""}},
      {"requests without count",
       kHead + "[load]\nmodel = \"poisson\"\nrequests = 10\n",
       {"t.toml:9:12: \"requests\" applies only to model \"count\", not \"poisson\""}},
      {"warmup as long as the duration",
       kHead + "[load]\nduration = \"5s\"\nwarmup = \"5s\"\n",
       {"t.toml:9:10: \"warmup\" (5s) must be shorter than the load's duration (5s)"}},
      {"warmup longer than the default duration",
       kHead + "[load]\nwarmup = \"1m\"\n",
       {"t.toml:8:10: \"warmup\" (60s) must be shorter than the load's duration (5s)"}},
      {"warmup longer than the ramp",
       kHead + "[load]\nmodel = \"ramp\"\nwarmup = \"3s\"\n[[load.stages]]\n"
               "duration = \"1s\"\ntarget = 5\n[[load.stages]]\nduration = \"2s\"\ntarget = 5\n",
       {"t.toml:9:10: \"warmup\" (3s) must be shorter than the load's duration (3s)"}},
      {"warmup longer than a count takes",
       kHead + "[load]\nmodel = \"count\"\nrequests = 10\nrate = 4\nwarmup = \"3s\"\n",
       {"t.toml:11:10: \"warmup\" (3s) must be shorter than the load's duration (2.5s)"}},
      {"warmup without a unit",
       kHead + "[load]\nwarmup = 2\n",
       {"t.toml:8:10: \"warmup\" must be a duration string such as \"30s\", got integer"}},
      {"constant load over the request limit",
       kHead + "[load]\nrate = 100000\nduration = \"10m\"\n",
       {"t.toml:8:8: rate 100000/s for 600s plans 60000000 requests, more than the limit of "
        "50000000"}},
      {"poisson load over the request limit, default rate",
       kHead + "[load]\nmodel = \"poisson\"\nduration = \"300h\"\n",
       {"t.toml:9:12: rate 50/s for 1080000s plans 54000000 requests, more than the limit of "
        "50000000"}},
      {"count over the request limit",
       kHead + "[load]\nmodel = \"count\"\nrequests = 50000001\n",
       {"t.toml:9:12: \"requests\" (50000001) is more than the limit of 50000000 requests"}},
      {"ramp over the request limit",
       kHead + "[load]\nmodel = \"ramp\"\n[[load.stages]]\nduration = \"1000s\"\n"
               "target = 100001\n",
       {"t.toml:9:1: the ramp's stages plan 50000500 requests, more than the limit of "
        "50000000"}},
      {"load entry with unknown service",
       kShopNoLoad + "[[load.entries]]\nservice = \"frontnd\"\nroute = \"GET /checkout\"\n",
       {"t.toml:12:11: load entry names unknown service \"frontnd\" (did you mean "
        "\"frontend\"?)"}},
      {"load entry with unknown route",
       kShopNoLoad + "[[load.entries]]\nservice = \"frontend\"\nroute = \"GET /chekout\"\n",
       {"t.toml:13:9: load entry names unknown route \"GET /chekout\" of service \"frontend\" "
        "(did you mean \"GET /checkout\"?)"}},
      {"load entry without route",
       kShopNoLoad + "[[load.entries]]\nservice = \"frontend\"\n",
       {"t.toml:11:1: missing required key \"route\" in load entry"}},
      {"load entry weight",
       kHead + "[[load.entries]]\nservice = \"a\"\nroute = \"R\"\nweight = -2\n",
       {"t.toml:10:10: \"weight\" must be greater than 0, got -2"}},

      // [backend], [defaults], [expect]
      {"backend export is not a string",
       kHead + "[backend]\nexport = 4318\n",
       {"t.toml:8:10: \"export\" must be a string, got integer"}},
      {"backend headers without a direction",
       kHead + "[backend]\nheaders = { a = \"b\" }\n",
       {"t.toml:8:1: unknown key \"headers\" in [backend] (write \"export_headers\" or "
        "\"query_headers\" instead)"}},
      {"unknown default protocol",
       kScenario + "[defaults]\nprotocol = \"grcp\"\n" + kServices,
       {"t.toml:4:12: unknown protocol \"grcp\" (supported: \"http\", \"grpc\")"}},
      {"invalid default reported once, not per service",
       kScenario + "[defaults]\npropagation = [\"xray\"]\n" + kServices +
           "calls = [{ service = \"b\", route = \"R\" }]\n"
           "[[services]]\nname = \"b\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:4:16: propagation format \"xray\" is not supported yet (supported: "
        "\"tracecontext\", \"baggage\", \"b3\", \"b3multi\", \"jaeger\")"}},
      {"defaults sampling as a table",
       kScenario + "[defaults]\nsampling = { ratio = 1.0 }\n" + kServices,
       {"t.toml:4:12: \"sampling\" must be a string such as \"always\", \"ratio(0.25)\" or "
        "\"parent-based(0.5)\", got table"}},
      {"completeness above 1",
       kHead + "[expect]\ncompleteness = 2\n",
       {"t.toml:8:16: \"completeness\" must be between 0 and 1, got 2"}},
      {"negative broken",
       kHead + "[expect]\nbroken = -1\n",
       {"t.toml:8:10: \"broken\" must be 0 or greater, got -1"}},
      {"float broken",
       kHead + "[expect]\nbroken = 1.5\n",
       {"t.toml:8:10: \"broken\" must be an integer, got float"}},
      {"expect attributes misspelt",
       kHead + "[expect]\nattribute = []\n",
       {"t.toml:8:1: unknown key \"attribute\" in [expect] (did you mean \"attributes\"?)"}},
      {"time to queryable without a unit",
       kHead + "[expect]\ntime_to_queryable_p99 = \"1\"\n",
       {"t.toml:8:25: invalid duration \"1\" for \"time_to_queryable_p99\" (expected a number "
        "and one of the units ns, us, ms, s, m, h, as in \"30s\")"}},
      {"time to queryable as a number",
       kHead + "[expect]\ntime_to_queryable_p99 = 1\n",
       {"t.toml:8:25: \"time_to_queryable_p99\" must be a duration string such as \"30s\", got "
        "integer"}},
      {"time to queryable of zero",
       kHead + "[expect]\ntime_to_queryable_max = \"0s\"\n",
       {"t.toml:8:25: \"time_to_queryable_max\" must be greater than 0"}},
      {"time to queryable misspelt",
       kHead + "[expect]\ntime_to_queryable_p90 = \"1s\"\n",
       {"t.toml:8:1: unknown key \"time_to_queryable_p90\" in [expect] (did you mean "
        "\"time_to_queryable_p99\"?)"}},

      // [[services]]
      {"invalid service name",
       kScenario + "[[services]]\nname = \"Front End\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:4:8: invalid service name \"Front End\" (use lowercase letters, digits, '_', '.' "
        "and '-', starting with a letter or digit)"}},
      {"reserved service name",
       kScenario + "[[services]]\nname = \"tracerig-driver\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:4:8: service name \"tracerig-driver\" is reserved for the load driver"}},
      {"service without name",
       kScenario + "[[services]]\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:3:1: missing required key \"name\" in service"}},
      {"duplicate service",
       kHead + kServices,
       {"t.toml:8:8: duplicate service \"a\" (first defined at line 4)"}},
      {"duplicate route",
       kHead + "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:8:8: duplicate route \"R\" in service \"a\" (first defined at line 6)"}},
      {"service without routes",
       kScenario + "[[services]]\nname = \"a\"\n",
       {"t.toml:3:1: service \"a\" has no routes (add a [[services.routes]] table)"}},
      {"unknown protocol",
       kScenario + "[[services]]\nname = \"a\"\nprotocol = \"ftp\"\n[[services.routes]]\n"
                   "name = \"R\"\n",
       {"t.toml:5:12: unknown protocol \"ftp\" (supported: \"http\", \"grpc\")"}},
      {"listen without port",
       kScenario + "[[services]]\nname = \"a\"\nlisten = \"localhost\"\n[[services.routes]]\n"
                   "name = \"R\"\n",
       {"t.toml:5:10: invalid listen address \"localhost\" (expected HOST:PORT, as in "
        "\"127.0.0.1:8080\"; port 0 picks a free port)"}},
      {"listen port out of range",
       kScenario + "[[services]]\nname = \"a\"\nlisten = \"127.0.0.1:70000\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:10: invalid listen address \"127.0.0.1:70000\" (expected HOST:PORT, as in "
        "\"127.0.0.1:8080\"; port 0 picks a free port)"}},
      {"listen address used twice",
       kScenario +
           "[[services]]\nname = \"a\"\nlisten = \"127.0.0.1:8080\"\n"
           "[[services.routes]]\nname = \"R\"\ncalls = [{ service = \"b\", route = \"R\" }]\n"
           "[[services]]\nname = \"b\"\nlisten = \"127.0.0.1:8080\"\n"
           "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:11:10: listen address \"127.0.0.1:8080\" is already used by service \"a\""}},
      {"propagation not supported yet",
       kScenario + "[[services]]\nname = \"a\"\npropagation = [\"tracecontext\", \"xray\"]\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:32: propagation format \"xray\" is not supported yet (supported: "
        "\"tracecontext\", \"baggage\", \"b3\", \"b3multi\", \"jaeger\")"}},
      {"propagation unknown",
       kScenario + "[[services]]\nname = \"a\"\npropagation = [\"opencensus\"]\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:16: propagation format \"opencensus\" is unknown (supported: "
        "\"tracecontext\", \"baggage\", \"b3\", \"b3multi\", \"jaeger\")"}},
      {"propagation is a string",
       kScenario + "[[services]]\nname = \"a\"\npropagation = \"tracecontext\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:15: \"propagation\" must be an array of strings, got string"}},
      {"propagation empty",
       kScenario + "[[services]]\nname = \"a\"\npropagation = []\n[[services.routes]]\n"
                   "name = \"R\"\n",
       {"t.toml:5:15: \"propagation\" must list at least one format"}},
      {"resource sets service.name",
       kScenario + "[[services]]\nname = \"a\"\nresource = { \"service.name\" = \"x\" }\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:14: resource attribute \"service.name\" is set from the service's \"name\"; "
        "remove it"}},
      {"resource array value",
       kScenario + "[[services]]\nname = \"a\"\nresource = { zones = [1, 2] }\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:22: resource attribute \"zones\" must be a string, integer, boolean or float, "
        "got array"}},
      {"external service written as in the first proposal",
       kScenario + "[[services]]\nname = \"a\"\nexternal = \"http://127.0.0.1:9000\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:1: unknown key \"external\" in service (write \"url\" instead)"}},

      // [[services.routes]]
      {"unknown route key",
       kHead + "latncy = { distribution = \"fixed\", value = \"1ms\" }\n",
       {"t.toml:7:1: unknown key \"latncy\" in route (did you mean \"latency\"?)"}},
      {"route error written as in the first proposal",
       kHead + "error = { rate = 0.01 }\n",
       {"t.toml:7:1: unknown key \"error\" in route (write \"error_rate\" and "
        "\"error_status\" instead)"}},
      {"route without name",
       kHead + "[[services.routes]]\n",
       {"t.toml:7:1: missing required key \"name\" in route"}},
      {"latency is an integer",
       kHead + "latency = 2\n",
       {"t.toml:7:11: \"latency\" must be a duration such as \"2ms\" or a table such as { "
        "distribution = \"uniform\", min = \"1ms\", max = \"5ms\" }, got integer"}},
      {"latency is a string that is no duration",
       kHead + "latency = \"2 ms\"\n",
       {"t.toml:7:11: invalid duration \"2 ms\" for \"latency\" (expected a number and one of "
        "the units ns, us, ms, s, m, h, as in \"30s\")"}},
      {"latency without distribution",
       kHead + "latency = { value = \"2ms\" }\n",
       {"t.toml:7:11: missing required key \"distribution\" in latency (one of \"fixed\", "
        "\"uniform\", \"normal\", \"lognormal\", \"exponential\")"}},
      {"unknown distribution",
       kHead + "latency = { distribution = \"gaussian\", value = \"1ms\" }\n",
       {"t.toml:7:28: unknown latency distribution \"gaussian\" (supported: \"fixed\", "
        "\"uniform\", \"normal\", \"lognormal\", \"exponential\")"}},
      {"misspelt distribution",
       kHead + "latency = { distribution = \"unifrom\", min = \"1ms\" }\n",
       {"t.toml:7:28: unknown latency distribution \"unifrom\" (did you mean \"uniform\"?)"}},
      {"uniform without max",
       kHead + "latency = { distribution = \"uniform\", min = \"1ms\" }\n",
       {"t.toml:7:11: missing required key \"max\" in \"uniform\" latency"}},
      {"uniform max below min",
       kHead + "latency = { distribution = \"uniform\", min = \"5ms\", max = \"1ms\" }\n",
       {"t.toml:7:58: \"max\" (1ms) must not be less than \"min\" (5ms)"}},
      {"lognormal p99 below p50",
       kHead + "latency = { distribution = \"lognormal\", p50 = \"5ms\", p99 = \"1ms\" }\n",
       {"t.toml:7:60: \"p99\" (1ms) must not be less than \"p50\" (5ms)"}},
      {"lognormal zero p50",
       kHead + "latency = { distribution = \"lognormal\", p50 = \"0ms\", p99 = \"5ms\" }\n",
       {"t.toml:7:47: \"p50\" must be greater than 0"}},
      {"latency value not a duration string",
       kHead + "latency = { distribution = \"fixed\", value = 2 }\n",
       {"t.toml:7:45: \"value\" must be a duration string such as \"30s\", got integer"}},
      {"latency key misspelt",
       kHead + "latency = { distribution = \"fixed\", vale = \"1ms\" }\n",
       {"t.toml:7:11: missing required key \"value\" in \"fixed\" latency",
        "t.toml:7:37: unknown key \"vale\" in \"fixed\" latency (did you mean \"value\"?)"}},
      {"generated attribute with \"choose\"",
       kHead + "attributes = { \"user.tier\" = { choose = [\"free\", \"pro\"] } }\n",
       {"t.toml:7:32: unknown key \"choose\" in generated attribute \"user.tier\" (did you "
        "mean \"choice\"?)"}},
      {"array attribute",
       kHead + "attributes = { tags = [\"a\", \"b\"] }\n",
       {"t.toml:7:23: attribute \"tags\" must be a string, integer, boolean or float, got array"}},
      {"unquoted dotted attribute key",
       kHead + "attributes = { http.route = \"/x\" }\n",
       {"t.toml:7:16: attribute \"http\" must be a string, integer, boolean or float, got table "
        "(to name an attribute \"http.route\", put the key in quotes)"}},
      {"reserved attribute",
       kHead + "attributes = { \"tracerig.hop\" = \"0\" }\n",
       {"t.toml:7:16: attribute \"tracerig.hop\" is reserved: the \"tracerig.\" prefix is set by "
        "tracerig itself"}},

      // calls
      {"call to unknown service",
       kShop + "calls = [{ service = \"crt\", route = \"GetCart\" }]\n",
       {"t.toml:11:22: call to unknown service \"crt\" (did you mean \"cart\"?)"}},
      {"call to unknown route",
       kShop + "calls = [{ service = \"cart\", route = \"GetCrt\" }]\n",
       {"t.toml:11:38: call to unknown route \"GetCrt\" of service \"cart\" (did you mean "
        "\"GetCart\"?)"}},
      {"call to unknown service, nothing close",
       kShop + "calls = [{ service = \"inventory\", route = \"Reserve\" }]\n",
       {"t.toml:11:22: call to unknown service \"inventory\""}},
      {"calls is a table",
       kShop + "calls = { service = \"cart\", route = \"GetCart\" }\n",
       {"t.toml:11:9: \"calls\" must be an array of calls, got table"}},
      {"call is a string",
       kShop + "calls = [\"cart\"]\n",
       {"t.toml:11:10: each entry of \"calls\" must be a table such as { service = \"cart\", "
        "route = \"GetCart\" }, got string"}},
      {"call without route",
       kShop + "calls = [{ service = \"cart\" }]\n",
       {"t.toml:11:10: missing required key \"route\" in call"}},
      {"unknown call option",
       kShop + "calls = [{ service = \"cart\", route = \"GetCart\", timeot = \"1s\" }]\n",
       {"t.toml:11:49: unknown key \"timeot\" in call (did you mean \"timeout\"?)"}},
      {"parallel and service together",
       kShop + "calls = [{ parallel = [{ service = \"cart\", route = \"GetCart\" }], "
               "service = \"cart\" }]\n",
       {"t.toml:11:10: a call has either \"parallel\" or \"service\" and \"route\", not both"}},
      {"empty parallel group",
       kShop + "calls = [{ parallel = [] }]\n",
       {"t.toml:11:23: \"parallel\" must list at least one call"}},
      {"nested parallel group",
       kShop + "calls = [{ parallel = [{ parallel = [] }] }]\n",
       {"t.toml:11:24: nested \"parallel\" groups are not supported"}},
      {"call cycle",
       kScenario + "[[services]]\nname = \"a\"\n[[services.routes]]\nname = \"GetX\"\n"
                   "calls = [{ service = \"b\", route = \"GetY\" }]\n"
                   "[[services]]\nname = \"b\"\n[[services.routes]]\nname = \"GetY\"\n"
                   "calls = [{ service = \"a\", route = \"GetX\" }]\n",
       {"t.toml:12:10: call cycle: a GetX -> b GetY -> a GetX"}},
      {"route calling itself",
       kHead + "calls = [{ service = \"a\", route = \"R\" }]\n",
       {"t.toml:7:10: call cycle: a R -> a R"}},

      // [[faults]]
      {"fault on unknown service",
       kShop + "[[faults]]\nkind = \"drop-context\"\nservice = \"crt\"\n",
       {"t.toml:13:11: fault names unknown service \"crt\" (did you mean \"cart\"?)"}},
      {"unknown fault kind",
       kShop + "[[faults]]\nkind = \"delay\"\nservice = \"cart\"\n",
       {"t.toml:12:8: unknown fault kind \"delay\" (supported: \"drop-context\", \"new-trace\", "
        "\"wrong-format\", \"corrupt\", \"truncate-trace-id\", \"unsampled-child\", "
        "\"drop-span\", \"delay-export\", \"clock-skew\", \"duplicate-span-id\", \"orphan\", "
        "\"drop-tracestate\", \"drop-baggage\", \"stale-retry-context\", \"force-sampled\", "
        "\"debug-ignored\", \"urlencode\", \"consumer-new-trace\", \"dlq-drops-headers\", "
        "\"retry-duplicates-headers\", \"batch-first-parent-only\", \"link-missing\")"}},
      {"fault kind misspelt",
       kShop + "[[faults]]\nkind = \"drop-contxt\"\nservice = \"cart\"\n",
       {"t.toml:12:8: unknown fault kind \"drop-contxt\" (did you mean \"drop-context\"?)"}},
      {"fault probability above 1",
       kShop + "[[faults]]\nkind = \"drop-context\"\nservice = \"cart\"\nprobability = 1.5\n",
       {"t.toml:11:1: \"drop-context\" acts on outgoing calls, but service \"cart\" makes none",
        "t.toml:14:15: \"probability\" must be between 0 and 1, got 1.5"}},
      {"fault without service",
       kShop + "[[faults]]\nkind = \"drop-context\"\n",
       {"t.toml:11:1: missing required key \"service\" in fault"}},
      {"fault edge written as in the first proposal",
       kShop + "[[faults]]\nkind = \"new-trace\"\nservice = \"cart\"\n"
               "edge = { from = \"frontend\", to = \"cart\" }\n",
       {"t.toml:14:1: unknown key \"edge\" in fault (write \"service\" and \"callee\" instead)"}},

      // Several problems: reported together, sorted by position even though the second pass
      // (names) and [load] (read before services) find theirs in another order.
      {"several problems sorted by position",
       kHead + "calls = [{ service = \"b\", route = \"S\" }]\n"
               "latency = { distribution = \"fixed\", value = \"1 ms\" }\n"
               "[load]\nrate = -1\n",
       {"t.toml:7:22: call to unknown service \"b\"",
        "t.toml:8:45: invalid duration \"1 ms\" for \"value\" (expected a number and one of the "
        "units ns, us, ms, s, m, h, as in \"30s\")",
        "t.toml:10:8: \"rate\" must be greater than 0, got -1"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = ParseScenario("t.toml", c.text);
    EXPECT_FALSE(result.ok());
    EXPECT_FALSE(result.scenario.has_value());
    EXPECT_EQ(Render(result), c.diagnostics);
  }
}

TEST(DiagnosticTest, ToStringIsFileLineColumnMessage) {
  EXPECT_EQ((Diagnostic{{"s.toml", 14, 9}, "boom"}).ToString(), "s.toml:14:9: boom");
  // A location without a line (not tied to a position) prints the file alone.
  EXPECT_EQ((Diagnostic{{"s.toml", 0, 0}, "boom"}).ToString(), "s.toml: boom");
}

}  // namespace
}  // namespace tracerig
