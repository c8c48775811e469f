// ParseScenario on the whole scenario language of issue 4: gRPC services, sampling, external
// services, route errors, generated attributes, events, payloads, call options, every fault kind,
// the closed load model, backend authentication, includes and templates. Invalid inputs with their
// exact diagnostics (one table), valid inputs with the model they must produce.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "topology/parse.h"
#include "topology/parse_values.h"

namespace tracerig {
namespace {

using ::testing::ElementsAre;

const std::string kScenario = "[scenario]\nname = \"t\"\n";
// Six lines: a case's own text starts on line 7, inside route "R" of http service "a".
const std::string kHead =
    kScenario + "[[services]]\nname = \"a\"\n[[services.routes]]\nname = \"R\"\n";
// Seven lines: a case's own text starts on line 8, inside route "R" of grpc service "a".
const std::string kGrpcHead =
    kScenario +
    "[[services]]\nname = \"a\"\nprotocol = \"grpc\"\n[[services.routes]]\nname = \"R\"\n";
// Eleven lines: a -> b -> c, all http; a case's own text starts on line 12 (usually [[faults]]).
const std::string kChain =
    kScenario +
    "[[services]]\nname = \"a\"\n"
    "routes = [{ name = \"R\", calls = [{ service = \"b\", route = \"R\" }] }]\n"
    "[[services]]\nname = \"b\"\n"
    "routes = [{ name = \"R\", calls = [{ service = \"c\", route = \"R\" }] }]\n"
    "[[services]]\nname = \"c\"\nroutes = [{ name = \"R\" }]\n";

std::vector<std::string> Render(const ParseResult& result) {
  std::vector<std::string> lines;
  for (const auto& d : result.diagnostics) lines.push_back(d.ToString());
  return lines;
}

// A fake outside world: files by path and environment variables by name.
ParseEnvironment FakeEnvironment(std::map<std::string, std::string> files,
                                 std::map<std::string, std::string> env = {}) {
  ParseEnvironment environment;
  environment.read_file = [files](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return MakeError("No such file or directory");
    return it->second;
  };
  environment.get_env = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return environment;
}

// Parses `text` as "t.toml", with a few files to include.
ParseResult Parse(const std::string& text) {
  const std::map<std::string, std::string> files = {
      {"lib.toml", "[[templates]]\nname = \"x\"\n"},
      {"broken.toml", "[[services]\n"},
      {"dup.toml", "[[services]]\nname = \"a\"\nroutes = [{ name = \"R\" }]\n"},
  };
  return ParseScenario("t.toml", text, FakeEnvironment(files, {{"TENANT", "acme"}}));
}

struct InvalidCase {
  const char* label;
  std::string text;
  std::vector<std::string> diagnostics;
};

TEST(ParseLanguageTest, InvalidInputsReportExactDiagnostics) {
  const InvalidCase cases[] = {
      // Services: protocol, sampling, export, external services.
      {"grpc route named like an HTTP route",
       kScenario + "[[services]]\nname = \"a\"\nprotocol = \"grpc\"\n[[services.routes]]\n"
                   "name = \"GET /cart\"\n",
       {"t.toml:7:8: route \"GET /cart\" of grpc service \"a\" looks like an HTTP route; name gRPC "
        "methods like \"GetCart\""}},
      {"sampling policy misspelt",
       kScenario + "[[services]]\nname = \"a\"\nsampling = \"alway\"\n[[services.routes]]\n"
                   "name = \"R\"\n",
       {"t.toml:5:12: unknown sampling policy \"alway\" (did you mean \"always\"?)"}},
      {"sampling policy unknown",
       kScenario + "[[services]]\nname = \"a\"\nsampling = \"tail\"\n[[services.routes]]\n"
                   "name = \"R\"\n",
       {"t.toml:5:12: unknown sampling policy \"tail\" (expected \"always\", \"never\", "
        "\"ratio(R)\", \"parent-based\" or \"parent-based(R)\")"}},
      {"sampling ratio without a ratio",
       kScenario + "[[services]]\nname = \"a\"\nsampling = \"ratio\"\n[[services.routes]]\n"
                   "name = \"R\"\n",
       {"t.toml:5:12: sampling \"ratio\" needs a ratio, as in \"ratio(0.25)\""}},
      {"sampling ratio above 1",
       kScenario + "[[services]]\nname = \"a\"\nsampling = \"ratio(1.5)\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:12: the ratio in sampling \"ratio(1.5)\" must be a number between 0 and 1"}},
      {"sampling ratio not a number",
       kScenario + "[[services]]\nname = \"a\"\nsampling = \"parent-based(half)\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:12: the ratio in sampling \"parent-based(half)\" must be a number between 0 "
        "and 1"}},
      {"sampling always with a ratio",
       kScenario + "[[services]]\nname = \"a\"\nsampling = \"always(0.5)\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:12: sampling \"always\" takes no ratio, got \"always(0.5)\""}},
      {"sampling with an unclosed parenthesis",
       kScenario + "[[services]]\nname = \"a\"\nsampling = \"ratio(0.5\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:12: invalid sampling \"ratio(0.5\" (a ratio is written in parentheses, as in "
        "\"ratio(0.25)\")"}},
      {"service export with an unknown scheme",
       kScenario + "[[services]]\nname = \"a\"\nexport = \"otlp-htp://127.0.0.1:4318\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:10: unknown export scheme \"otlp-htp\" in \"otlp-htp://127.0.0.1:4318\" (did "
        "you mean \"otlp-http\"?)"}},
      {"external service URL is not http",
       kScenario + "[[services]]\nname = \"a\"\nroutes = [{ name = \"R\", calls = [{ service = "
                   "\"x\", route = \"GetX\" }] }]\n"
                   "[[services]]\nname = \"x\"\nurl = \"ftp://10.0.0.1:21\"\nroutes = [{ name = "
                   "\"GetX\" }]\n",
       {"t.toml:8:7: invalid external service URL \"ftp://10.0.0.1:21\" (expected "
        "http://HOST:PORT or https://HOST:PORT)"}},
      {"external service URL written grpcs://",
       kScenario + "[[services]]\nname = \"a\"\nroutes = [{ name = \"R\", calls = [{ service = "
                   "\"x\", route = \"GetX\" }] }]\n"
                   "[[services]]\nname = \"x\"\nurl = \"grpcs://10.0.0.1:443\"\nroutes = [{ name = "
                   "\"GetX\" }]\n",
       {"t.toml:8:7: invalid external service URL \"grpcs://10.0.0.1:443\" (expected "
        "http://HOST:PORT or https://HOST:PORT): a gRPC service is written protocol = \"grpc\" "
        "with http:// (plaintext) or https:// (TLS)"}},
      {"external service with a listen address and route errors",
       kScenario + "[[services]]\nname = \"a\"\nroutes = [{ name = \"R\", calls = [{ service = "
                   "\"x\", route = \"GetX\" }] }]\n"
                   "[[services]]\nname = \"x\"\nurl = \"http://10.0.0.1:9000\"\n"
                   "listen = \"127.0.0.1:0\"\n[[services.routes]]\nname = \"GetX\"\n"
                   "latency = { distribution = \"fixed\", value = \"1ms\" }\n"
                   "error_rate = 0.5\n",
       {"t.toml:9:10: \"listen\" is not allowed on external service \"x\": tracerig calls it but "
        "does not simulate it",
        "t.toml:12:11: \"latency\" is not allowed on external service \"x\": tracerig calls it "
        "but does not simulate it",
        "t.toml:13:14: \"error_rate\" is not allowed on external service \"x\": tracerig calls "
        "it but does not simulate it"}},
      {"fault on an external service",
       kScenario + "[[services]]\nname = \"a\"\nroutes = [{ name = \"R\", calls = [{ service = "
                   "\"x\", route = \"GetX\" }] }]\n"
                   "[[services]]\nname = \"x\"\nurl = \"http://10.0.0.1:9000\"\n"
                   "routes = [{ name = \"GetX\" }]\n"
                   "[[faults]]\nkind = \"drop-span\"\nservice = \"x\"\n",
       {"t.toml:12:11: fault on external service \"x\": tracerig does not simulate it, so it "
        "cannot inject faults there"}},
      {"unreachable service",
       kHead + "[[services]]\nname = \"b\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:8:8: service \"b\" is unreachable: no call and no load entry names it"}},

      // Routes: errors, attributes, events, payloads.
      {"error_rate above 1",
       kHead + "error_rate = 1.5\n",
       {"t.toml:7:14: \"error_rate\" must be between 0 and 1, got 1.5"}},
      {"http error_status out of range",
       kHead + "error_status = 600\n",
       {"t.toml:7:16: \"error_status\" must be at most 599, got 600"}},
      {"http error_status below 100",
       kHead + "error_status = 42\n",
       {"t.toml:7:16: \"error_status\" must be 100 or greater, got 42"}},
      {"http error_status as a gRPC name",
       kHead + "error_status = \"UNAVAILABLE\"\n",
       {"t.toml:7:16: \"error_status\" of an http service must be an HTTP status code (100-599), "
        "got string"}},
      {"grpc error_status misspelt",
       kGrpcHead + "error_status = \"UNAVAILABEL\"\n",
       {"t.toml:8:16: unknown gRPC status \"UNAVAILABEL\" (did you mean \"UNAVAILABLE\"?)"}},
      {"grpc error_status unknown",
       kGrpcHead + "error_status = \"BROKEN\"\n",
       {"t.toml:8:16: unknown gRPC status \"BROKEN\" (a name such as \"UNAVAILABLE\" or a code "
        "0-16)"}},
      {"grpc error_status code out of range",
       kGrpcHead + "error_status = 503\n",
       {"t.toml:8:16: \"error_status\" of a grpc service must be a gRPC status code 0-16 or its "
        "name, got 503"}},
      {"response_bytes without a unit it knows",
       kHead + "response_bytes = \"2 kilobytes\"\n",
       {"t.toml:7:18: invalid size \"2 kilobytes\" for \"response_bytes\" (expected a number and "
        "one of the units B, KiB, MiB, GiB, KB, MB, GB, as in \"2KiB\")"}},
      {"response_bytes negative",
       kHead + "response_bytes = -1\n",
       {"t.toml:7:18: \"response_bytes\" must be 0 or greater, got -1"}},
      {"choice with weights of the wrong length",
       kHead + "attributes = { tier = { choice = [\"a\", \"b\"], weights = [1] } }\n",
       {"t.toml:7:56: \"weights\" of generated attribute \"tier\" must be an array of 2 numbers, "
        "one per choice"}},
      {"choice with a zero weight",
       kHead + "attributes = { tier = { choice = [\"a\", \"b\"], weights = [1, 0] } }\n",
       {"t.toml:7:60: \"weights\" must be greater than 0, got 0"}},
      {"empty choice",
       kHead + "attributes = { tier = { choice = [] } }\n",
       {"t.toml:7:34: \"choice\" of generated attribute \"tier\" must be a non-empty array of "
        "values, got an empty array"}},
      {"choice of tables",
       kHead + "attributes = { tier = { choice = [{ a = 1 }] } }\n",
       {"t.toml:7:35: each choice of generated attribute \"tier\" must be a string, integer, "
        "boolean or float, got table"}},
      {"int range reversed",
       kHead + "attributes = { items = { int = [20, 1] } }\n",
       {"t.toml:7:32: \"int\" of generated attribute \"items\": max (1) must not be less than min "
        "(20)"}},
      {"int range with one bound",
       kHead + "attributes = { items = { int = [20] } }\n",
       {"t.toml:7:32: \"int\" of generated attribute \"items\" must be two integers [min, max], "
        "as in [1, 20]"}},
      {"id prefix not a string",
       kHead + "attributes = { order = { id = 7 } }\n",
       {"t.toml:7:31: \"id\" must be a string, got integer"}},
      {"two generators in one",
       kHead + "attributes = { order = { id = \"o-\", int = [1, 2] } }\n",
       {"t.toml:7:24: generated attribute \"order\" needs exactly one of \"choice\", \"int\" or "
        "\"id\""}},
      {"weights without choice",
       kHead + "attributes = { order = { id = \"o-\", weights = [1] } }\n",
       {"t.toml:7:47: \"weights\" of generated attribute \"order\" applies only to \"choice\""}},
      {"event without name",
       kHead + "events = [{ at = 0.5 }]\n",
       {"t.toml:7:11: missing required key \"name\" in event"}},
      {"event at outside 0..1",
       kHead + "[[services.routes.events]]\nname = \"cache.miss\"\nat = 2\n",
       {"t.toml:9:6: \"at\" must be between 0 and 1, got 2"}},
      {"event with an unknown key",
       kHead + "events = [{ name = \"x\", probability = 0.2 }]\n",
       {"t.toml:7:25: unknown key \"probability\" in event"}},
      {"event attribute that is a table",
       kHead + "events = [{ name = \"x\", attributes = { tier = { choice = [\"a\"] } } }]\n",
       {"t.toml:7:47: event attribute \"tier\" must be a string, integer, boolean or float, got "
        "table (to name an attribute \"tier.choice\", put the key in quotes)"}},

      // Calls. A call with an invalid option stays in the call graph, so the cycles and
      // unreachable services of these files are reported as well.
      {"call probability 0",
       kChain + "[[services]]\nname = \"d\"\n"
                "routes = [{ name = \"R\", calls = [{ service = \"a\", route = \"R\", "
                "probability = 0 }] }]\n",
       {"t.toml:13:8: service \"d\" is unreachable: no call and no load entry names it", 
        "t.toml:14:78: probability 0 means the call never happens; remove it"}},
      {"call probability above 1",
       kHead + "calls = [{ service = \"a\", route = \"R\", probability = 2 }]\n",
       {"t.toml:7:10: call cycle: a R -> a R", "t.toml:7:54: \"probability\" must be between 0 and 1, got 2"}},
      {"repeat 0",
       kHead + "calls = [{ service = \"a\", route = \"R\", repeat = 0 }]\n",
       {"t.toml:7:10: call cycle: a R -> a R", "t.toml:7:49: \"repeat\" must be 1 or greater, got 0"}},
      {"negative retries",
       kHead + "calls = [{ service = \"a\", route = \"R\", retries = -1 }]\n",
       {"t.toml:7:10: call cycle: a R -> a R", "t.toml:7:50: \"retries\" must be 0 or greater, got -1"}},
      {"timeout 0",
       kHead + "calls = [{ service = \"a\", route = \"R\", timeout = \"0s\" }]\n",
       {"t.toml:7:10: call cycle: a R -> a R", "t.toml:7:50: \"timeout\" must be greater than 0"}},
      {"retry_backoff without retries",
       kChain + "[[services]]\nname = \"d\"\n"
                "routes = [{ name = \"R\", calls = [{ service = \"a\", route = \"R\", "
                "retry_backoff = \"10ms\" }] }]\n",
       {"t.toml:13:8: service \"d\" is unreachable: no call and no load entry names it", 
        "t.toml:14:80: \"retry_backoff\" needs \"retries\" (the wait before each retry)"}},
      {"request_bytes not a size",
       kHead + "calls = [{ service = \"a\", route = \"R\", request_bytes = true }]\n",
       {"t.toml:7:10: call cycle: a R -> a R", "t.toml:7:56: \"request_bytes\" must be a size such as \"2KiB\", got boolean"}},

      // Faults.
      {"fault route unknown",
       kChain + "[[faults]]\nkind = \"drop-span\"\nservice = \"b\"\nroute = \"Q\"\n",
       {"t.toml:15:9: fault names unknown route \"Q\" of service \"b\""}},
      {"callee on a fault that is not an edge fault",
       kChain + "[[faults]]\nkind = \"drop-span\"\nservice = \"b\"\ncallee = \"c\"\n",
       {"t.toml:15:10: \"callee\" applies only to faults on outgoing calls (\"drop-context\", "
        "\"wrong-format\", \"corrupt\", \"truncate-trace-id\", \"unsampled-child\", "
        "\"drop-tracestate\", \"drop-baggage\", \"stale-retry-context\", \"force-sampled\", "
        "\"debug-ignored\", \"urlencode\"), not \"drop-span\""}},
      {"callee that the service does not call",
       kChain + "[[faults]]\nkind = \"corrupt\"\nservice = \"b\"\ncallee = \"a\"\n",
       {"t.toml:15:10: service \"b\" makes no call to \"a\""}},
      {"callee misspelt",
       kChain + "[[faults]]\nkind = \"corrupt\"\nservice = \"a\"\ncallee = \"bb\"\n",
       {"t.toml:15:10: service \"a\" makes no call to \"bb\""}},
      {"edge fault on a service without calls",
       kChain + "[[faults]]\nkind = \"drop-context\"\nservice = \"c\"\n",
       {"t.toml:12:1: \"drop-context\" acts on outgoing calls, but service \"c\" makes none"}},
      {"fault probability 0",
       kChain + "[[faults]]\nkind = \"new-trace\"\nservice = \"b\"\nprobability = 0\n",
       {"t.toml:15:15: probability 0 means the fault never happens; remove it"}},
      {"window reversed",
       kChain + "[[faults]]\nkind = \"orphan\"\nservice = \"b\"\nwindow = [\"20s\", \"10s\"]\n",
       {"t.toml:15:10: fault window start (20s) must be before its end (10s)"}},
      {"window as a table",
       kChain + "[[faults]]\nkind = \"orphan\"\nservice = \"b\"\nwindow = { start = \"1s\" }\n",
       {"t.toml:15:10: \"window\" must be two durations [start, end], as in [\"10s\", \"20s\"]"}},
      {"window after the load",
       kChain + "[[faults]]\nkind = \"orphan\"\nservice = \"b\"\nwindow = [\"10s\", \"20s\"]\n",
       {"t.toml:15:10: fault window starts at 10s, when the load is over (it lasts 5s)"}},
      {"clock-skew without amount",
       kChain + "[[faults]]\nkind = \"clock-skew\"\nservice = \"b\"\n",
       {"t.toml:12:1: missing required key \"amount\" in \"clock-skew\" fault"}},
      {"amount on a fault that takes none",
       kChain + "[[faults]]\nkind = \"drop-span\"\nservice = \"b\"\namount = \"1s\"\n",
       {"t.toml:15:10: \"amount\" applies only to \"clock-skew\" and \"delay-export\" faults, not "
        "\"drop-span\""}},
      {"negative delay-export",
       kChain + "[[faults]]\nkind = \"delay-export\"\nservice = \"b\"\namount = \"-1s\"\n",
       {"t.toml:15:10: \"amount\" of a \"delay-export\" fault must not be negative, got \"-1s\""}},
      {"amount 0",
       kChain + "[[faults]]\nkind = \"clock-skew\"\nservice = \"b\"\namount = \"0ms\"\n",
       {"t.toml:15:10: \"amount\" 0 means the fault changes nothing; remove the fault"}},
      {"amount not a duration",
       kChain + "[[faults]]\nkind = \"clock-skew\"\nservice = \"b\"\namount = \"-x\"\n",
       {"t.toml:15:10: invalid duration \"-x\" for \"amount\" (expected a number and one of the "
        "units ns, us, ms, s, m, h, as in \"250ms\" or \"-250ms\")"}},
      {"wrong-format without format",
       kChain + "[[faults]]\nkind = \"wrong-format\"\nservice = \"b\"\n",
       {"t.toml:12:1: missing required key \"format\" in \"wrong-format\" fault"}},
      {"format on another fault",
       kChain + "[[faults]]\nkind = \"corrupt\"\nservice = \"b\"\nformat = \"b3\"\n",
       {"t.toml:15:10: \"format\" applies only to \"wrong-format\" faults, not \"corrupt\""}},
      {"unknown format",
       kChain + "[[faults]]\nkind = \"wrong-format\"\nservice = \"b\"\nformat = \"b4\"\n",
       {"t.toml:15:10: unknown propagation format \"b4\" (did you mean \"b3\"?)"}},
      {"wrong format the callee reads",
       kChain + "[[faults]]\nkind = \"wrong-format\"\nservice = \"b\"\ncallee = \"c\"\n"
                "format = \"tracecontext\"\n",
       {"t.toml:16:10: callee \"c\" reads tracecontext, so injecting it is not a fault"}},

      // [load] closed model, threads, connections.
      {"closed with zero users",
       kHead + "[load]\nmodel = \"closed\"\nvirtual_users = 0\n",
       {"t.toml:9:17: \"virtual_users\" must be 1 or greater, got 0"}},
      {"virtual_users without closed",
       kHead + "[load]\nvirtual_users = 4\n",
       {"t.toml:8:17: \"virtual_users\" applies only to model \"closed\", not \"constant\""}},
      {"think_time without closed",
       kHead + "[load]\nmodel = \"poisson\"\nthink_time = \"1s\"\n",
       {"t.toml:9:14: \"think_time\" applies only to model \"closed\", not \"poisson\""}},
      {"rate with closed",
       kHead + "[load]\nmodel = \"closed\"\nvirtual_users = 2\nrate = 5\n",
       {"t.toml:10:8: \"rate\" applies only to model \"constant\", \"poisson\" or \"count\", not "
        "\"closed\""}},
      {"negative connections",
       kHead + "[load]\nconnections = -1\n",
       {"t.toml:8:15: \"connections\" must be 0 or greater, got -1"}},
      {"too many threads",
       kHead + "[load]\nthreads = 5000\n",
       {"t.toml:8:11: \"threads\" must be at most 1024, got 5000"}},

      // [backend]
      {"export scheme misspelt",
       kHead + "[backend]\nexport = \"otlp-grcp://127.0.0.1:4317\"\n",
       {"t.toml:8:10: unknown export scheme \"otlp-grcp\" in \"otlp-grcp://127.0.0.1:4317\" (did "
        "you mean \"otlp-grpc\"?)"}},
      {"query scheme unknown",
       kHead + "[backend]\nquery = \"elastic://127.0.0.1:9200\"\n",
       {"t.toml:8:9: unknown query scheme \"elastic\" in \"elastic://127.0.0.1:9200\" (supported: "
        "\"jaeger\", \"jaeger-v3\", \"zipkin\", \"tempo\", \"jaeger+https\", "
        "\"jaeger-v3+https\", \"zipkin+https\", \"tempo+https\", \"tracerig\")"}},
      {"query scheme of an export",
       kHead + "[backend]\nquery = \"otlp-http://127.0.0.1:4318\"\n",
       {"t.toml:8:9: unknown query scheme \"otlp-http\" in \"otlp-http://127.0.0.1:4318\" "
        "(supported: \"jaeger\", \"jaeger-v3\", \"zipkin\", \"tempo\", \"jaeger+https\", "
        "\"jaeger-v3+https\", \"zipkin+https\", \"tempo+https\", \"tracerig\")"}},
      {"export without a scheme",
       kHead + "[backend]\nexport = \"127.0.0.1:4318\"\n",
       {"t.toml:8:10: invalid export URL \"127.0.0.1:4318\" (expected SCHEME://HOST[:PORT], as in "
        "\"otlp-http://127.0.0.1:4318\")"}},
      {"export with a bad port",
       kHead + "[backend]\nexport = \"otlp-http://127.0.0.1:99999\"\n",
       {"t.toml:8:10: invalid export URL \"otlp-http://127.0.0.1:99999\" (expected "
        "SCHEME://HOST[:PORT][/PATH])"}},
      {"header referencing an unset variable",
       kHead + "[backend]\nexport_headers = { authorization = \"Bearer ${TOKEN}\" }\n",
       {"t.toml:8:36: header \"authorization\" in \"export_headers\": environment variable "
        "\"TOKEN\" is not set"}},
      {"header with an unterminated reference",
       kHead + "[backend]\nquery_headers = { \"X-Scope-OrgID\" = \"${TENANT\" }\n",
       {"t.toml:8:37: header \"X-Scope-OrgID\" in \"query_headers\": unterminated \"${\" (write "
        "environment references as \"${NAME}\")"}},
      {"header value not a string",
       kHead + "[backend]\nquery_headers = { \"X-Scope-OrgID\" = 7 }\n",
       {"t.toml:8:37: header \"X-Scope-OrgID\" in \"query_headers\" must be a string, got "
        "integer"}},
      {"header name with a space",
       kHead + "[backend]\nquery_headers = { \"Org ID\" = \"x\" }\n",
       {"t.toml:8:19: invalid header name \"Org ID\" in \"query_headers\""}},
      {"client cert without key",
       kHead + "[backend]\nclient_cert = \"cert.pem\"\n",
       {"t.toml:8:15: \"client_cert\" needs \"client_key\" too (a client certificate and its key "
        "go together)"}},

      // Templates.
      {"unknown template",
       kScenario + "[[templates]]\nname = \"grpc-core\"\nprotocol = \"grpc\"\n"
                   "[[services]]\nname = \"a\"\ntemplate = \"grpc-cor\"\n"
                   "[[services.routes]]\nname = \"R\"\n",
       {"t.toml:8:12: unknown template \"grpc-cor\" (did you mean \"grpc-core\"?)"}},
      {"duplicate template",
       kScenario + "[[templates]]\nname = \"x\"\n[[templates]]\nname = \"x\"\n" +
           "[[services]]\nname = \"a\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:6:8: duplicate template \"x\" (first defined at t.toml:4:8)"}},
      {"template with a service-only key",
       kScenario + "[[templates]]\nname = \"x\"\ntemplate = \"y\"\n" +
           "[[services]]\nname = \"a\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:1: unknown key \"template\" in template"}},
      {"template-provided value is wrong: reported at the template",
       kScenario + "[[templates]]\nname = \"x\"\nsampling = \"sometimes\"\n" +
           "[[services]]\nname = \"a\"\ntemplate = \"x\"\n[[services.routes]]\nname = \"R\"\n" +
           "calls = [{ service = \"b\", route = \"R\" }]\n" +
           "[[services]]\nname = \"b\"\ntemplate = \"x\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:12: unknown sampling policy \"sometimes\" (expected \"always\", \"never\", "
        "\"ratio(R)\", \"parent-based\" or \"parent-based(R)\")"}},
      {"include is not an array",
       "include = \"common.toml\"\n" + kHead,
       {"t.toml:1:11: \"include\" must be an array of file names, as in [\"common.toml\"], got "
        "string"}},
      {"include entry not a string",
       "include = [3]\n" + kHead,
       {"t.toml:1:12: each entry of \"include\" must be a file name, got integer"}},
      {"file included twice",
       "include = [\"lib.toml\", \"lib.toml\"]\n" + kHead,
       {"t.toml:1:24: \"lib.toml\" is included more than once"}},
      {"included file is not valid TOML",
       "include = [\"broken.toml\"]\n" + kHead,
       {"broken.toml:1:12: Error while parsing table header: expected ']', saw '\\n'"}},
      {"service defined again in an included file",
       "include = [\"dup.toml\"]\n" + kHead,
       {"dup.toml:2:8: duplicate service \"a\" (first defined at t.toml:5:8)"}},
      {"template without name",
       kScenario + "[[templates]]\nprotocol = \"grpc\"\n" +
           "[[services]]\nname = \"a\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:3:1: missing required key \"name\" in template"}},
      {"grpc error_status as a float",
       kGrpcHead + "error_status = 1.5\n",
       {"t.toml:8:16: \"error_status\" must be a gRPC status name or code, got float"}},
      {"amount not a string",
       kChain + "[[faults]]\nkind = \"clock-skew\"\nservice = \"b\"\namount = 5\n",
       {"t.toml:15:10: \"amount\" must be a duration string such as \"250ms\", got integer"}},
      {"include of a missing file",
       "include = [\"missing.toml\"]\n" + kHead,
       {"t.toml:1:12: cannot read included file \"missing.toml\": No such file or directory"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = Parse(c.text);
    EXPECT_FALSE(result.ok());
    EXPECT_FALSE(result.scenario.has_value());
    EXPECT_EQ(Render(result), c.diagnostics);
  }
}

// Errors inside included files carry the included file's own name and position; the including
// file's own problems keep theirs, and the included files' come after them.
TEST(ParseLanguageTest, IncludedFilesReportTheirOwnLocations) {
  const std::string main_text = "include = [\"lib/common.toml\"]\n" + kHead +
                                "calls = [{ service = \"cart\", route = \"GetCart\" }]\n" +
                                "error_rate = 2\n";
  const std::map<std::string, std::string> files = {
      {"scenarios/lib/common.toml",
       "include = [\"more.toml\"]\n"
       "[[services]]\nname = \"cart\"\n[[services.routes]]\nname = \"GetCart\"\n"
       "latency = { distribution = \"fixed\", value = \"fast\" }\n"},
      {"scenarios/lib/more.toml",
       "[scenario]\nname = \"not here\"\n"
       "[[faults]]\nkind = \"drop-spam\"\nservice = \"cart\"\n"},
  };
  const ParseResult result =
      ParseScenario("scenarios/main.toml", main_text, FakeEnvironment(files));
  EXPECT_THAT(
      Render(result),
      ElementsAre("scenarios/main.toml:9:14: \"error_rate\" must be between 0 and 1, got 2",
                  "scenarios/lib/common.toml:6:45: invalid duration \"fast\" for \"value\" "
                  "(expected a number and one of the units ns, us, ms, s, m, h, as in \"30s\")",
                  "scenarios/lib/more.toml:1:2: key \"scenario\" is not allowed in an included "
                  "file (only \"include\", \"services\", \"templates\", \"faults\")",
                  "scenarios/lib/more.toml:4:8: unknown fault kind \"drop-spam\" (did you mean "
                  "\"drop-span\"?)"));
}

TEST(ParseLanguageTest, IncludeCycleIsAnError) {
  const std::map<std::string, std::string> files = {
      {"a.toml", "include = [\"b.toml\"]\n"},
      {"b.toml", "include = [\"a.toml\", \"t.toml\"]\n"},
  };
  const ParseResult result =
      ParseScenario("t.toml", "include = [\"a.toml\"]\n" + kHead, FakeEnvironment(files));
  EXPECT_THAT(Render(result),
              ElementsAre("b.toml:1:12: include cycle: a.toml -> b.toml -> a.toml",
                          "b.toml:1:22: include cycle: t.toml -> a.toml -> b.toml -> t.toml"));
}

TEST(ParseLanguageTest, IncludedServicesTemplatesAndFaultsJoinTheScenario) {
  const std::map<std::string, std::string> files = {
      {"dir/common.toml",
       "[[templates]]\nname = \"core\"\nprotocol = \"grpc\"\nsampling = \"ratio(0.25)\"\n"
       "propagation = [\"b3\"]\n"
       "routes = [{ name = \"Get\", latency = { distribution = \"fixed\", value = \"2ms\" } }]\n"
       "[[faults]]\nkind = \"drop-span\"\nservice = \"cart\"\n"},
  };
  const std::string text = "include = [\"common.toml\"]\n" + kScenario +
                           "[[services]]\nname = \"front\"\n[[services.routes]]\nname = \"GET /\"\n"
                           "calls = [{ service = \"cart\", route = \"Get\" }, "
                           "{ service = \"stock\", route = \"Check\" }]\n"
                           "[[services]]\nname = \"cart\"\ntemplate = \"core\"\n"
                           "[[services]]\nname = \"stock\"\ntemplate = \"core\"\n"
                           "sampling = \"always\"\nroutes = [{ name = \"Check\" }]\n";
  const ParseResult result = ParseScenario("dir/t.toml", text, FakeEnvironment(files));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  const Scenario& s = *result.scenario;
  ASSERT_EQ(s.services.size(), 3u);
  const Service& cart = s.services[1];
  EXPECT_EQ(cart.name, "cart");
  EXPECT_EQ(cart.protocol, Protocol::kGrpc);
  EXPECT_EQ(cart.sampling.kind, SamplingPolicy::Kind::kRatio);
  EXPECT_EQ(cart.sampling.ratio, 0.25);
  EXPECT_THAT(cart.extract, ElementsAre("b3"));
  ASSERT_EQ(cart.routes.size(), 1u);
  EXPECT_EQ(cart.routes[0].name, "Get");
  EXPECT_EQ(cart.routes[0].latency.a, 2'000'000u);
  EXPECT_EQ(cart.routes[0].error_status, 14);  // UNAVAILABLE, the grpc default
  // The route came from the template, so it says where the template wrote it.
  EXPECT_EQ(cart.routes[0].where.file, "dir/common.toml");
  const Service& stock = s.services[2];
  EXPECT_EQ(stock.protocol, Protocol::kGrpc);
  EXPECT_EQ(stock.sampling.kind, SamplingPolicy::Kind::kAlways);  // its own key wins
  ASSERT_EQ(stock.routes.size(), 1u);
  EXPECT_EQ(stock.routes[0].name, "Check");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::kDropSpan);
  EXPECT_EQ(s.faults[0].where.ToString(), "dir/common.toml:7:1");
}

constexpr std::string_view kLanguage = R"toml([scenario]
name = "lang"

[load]
model = "closed"
virtual_users = 8
think_time = "50ms"
duration = "20s"
threads = 2
connections = 4

[[load.entries]]
service = "front"
route = "GET /"

[backend]
export = "otlp-grpc://collector:4317"
query = "tempo://tempo"
export_headers = { authorization = "Bearer ${TOKEN}" }
query_headers = { "X-Scope-OrgID" = "${TENANT}-prod" }
ca_file = "ca.pem"
client_cert = "client.pem"
client_key = "client.key"

[defaults]
sampling = "parent-based(0.5)"

[[services]]
name = "front"
export = "zipkin://zipkin:9411"

  [[services.routes]]
  name = "GET /"
  error_rate = 0.05
  error_status = 503
  response_bytes = "2KiB"

  [services.routes.attributes]
  "http.route" = "/"
  "user.tier" = { choice = ["gold", "silver"], weights = [1, 9] }
  "cart.items" = { int = [1, 20] }
  "order.id" = { id = "ord-" }

  [[services.routes.calls]]
  service = "pay"
  route = "Charge"
  probability = 0.5
  repeat = 2
  timeout = "300ms"
  retries = 3
  retry_backoff = "20ms"
  request_bytes = 512

  [[services.routes.calls]]
  service = "ext"
  route = "Lookup"

  [[services.routes.events]]
  name = "cache.miss"
  at = 0.25
  attributes = { "cache.key" = "k1" }

[[services]]
name = "pay"
protocol = "grpc"
sampling = "never"

  [[services.routes]]
  name = "Charge"
  error_rate = 0.1
  error_status = "DEADLINE_EXCEEDED"

[[services]]
name = "ext"
url = "http://10.1.2.3:8080"
protocol = "grpc"
propagation = ["b3multi"]
routes = [{ name = "Lookup" }]

[[faults]]
kind = "wrong-format"
service = "front"
route = "GET /"
callee = "ext"
format = "jaeger"
probability = 0.5
window = ["2s", "8s"]

[[faults]]
kind = "clock-skew"
service = "pay"
amount = "-250ms"

[[faults]]
kind = "delay-export"
service = "pay"
amount = "3s"
)toml";

TEST(ParseLanguageTest, EveryNewKeyReachesTheModel) {
  const ParseResult result = ParseScenario(
      "lang.toml", kLanguage, FakeEnvironment({}, {{"TOKEN", "s3cret"}, {"TENANT", "acme"}}));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  const Scenario& s = *result.scenario;
  EXPECT_EQ(s.load.model, LoadModel::kClosed);
  EXPECT_EQ(s.load.virtual_users, 8u);
  EXPECT_EQ(s.load.think_time_ns, 50'000'000u);
  EXPECT_EQ(s.load.duration_ns, 20'000'000'000u);
  EXPECT_EQ(s.load.threads, 2u);
  EXPECT_EQ(s.load.connections, 4u);

  EXPECT_EQ(s.backend.export_url, "otlp-grpc://collector:4317");
  EXPECT_EQ(s.backend.query_url, "tempo://tempo");
  EXPECT_THAT(s.backend.export_headers, ElementsAre(Header{"authorization", "Bearer s3cret"}));
  EXPECT_THAT(s.backend.query_headers, ElementsAre(Header{"X-Scope-OrgID", "acme-prod"}));
  EXPECT_EQ(s.backend.ca_file, "ca.pem");
  EXPECT_EQ(s.backend.client_cert_file, "client.pem");
  EXPECT_EQ(s.backend.client_key_file, "client.key");

  ASSERT_EQ(s.services.size(), 3u);
  const Service& front = s.services[0];
  EXPECT_EQ(front.sampling.kind, SamplingPolicy::Kind::kParentBased);  // from [defaults]
  EXPECT_EQ(front.sampling.ratio, 0.5);
  EXPECT_EQ(front.export_url, "zipkin://zipkin:9411");
  const Route& root = front.routes[0];
  EXPECT_EQ(root.error_rate, 0.05);
  EXPECT_EQ(root.error_status, 503);
  EXPECT_EQ(root.response_bytes, 2048u);
  EXPECT_THAT(root.attributes, ElementsAre(Attribute{"http.route", std::string("/")}));
  ASSERT_EQ(root.generated_attributes.size(), 3u);
  std::map<std::string, AttributeGenerator> generators;
  for (const auto& g : root.generated_attributes) generators[g.key] = g.generator;
  EXPECT_EQ(generators["user.tier"].kind, AttributeGenerator::Kind::kChoice);
  EXPECT_THAT(generators["user.tier"].choices, ElementsAre(AttributeValue(std::string("gold")),
                                                           AttributeValue(std::string("silver"))));
  EXPECT_THAT(generators["user.tier"].weights, ElementsAre(1.0, 9.0));
  EXPECT_EQ(generators["cart.items"].kind, AttributeGenerator::Kind::kIntRange);
  EXPECT_EQ(generators["cart.items"].min, 1);
  EXPECT_EQ(generators["cart.items"].max, 20);
  EXPECT_EQ(generators["order.id"].kind, AttributeGenerator::Kind::kId);
  EXPECT_EQ(generators["order.id"].prefix, "ord-");
  ASSERT_EQ(root.events.size(), 1u);
  EXPECT_EQ(root.events[0].name, "cache.miss");
  EXPECT_EQ(root.events[0].at, 0.25);
  EXPECT_THAT(root.events[0].attributes, ElementsAre(Attribute{"cache.key", std::string("k1")}));
  ASSERT_EQ(root.calls.size(), 2u);
  const Call& charge = root.calls[0].calls[0];
  EXPECT_EQ(charge.probability, 0.5);
  EXPECT_EQ(charge.repeat, 2u);
  EXPECT_EQ(charge.timeout_ns, 300'000'000u);
  EXPECT_EQ(charge.retries, 3u);
  EXPECT_EQ(charge.retry_backoff_ns, 20'000'000u);
  EXPECT_EQ(charge.request_bytes, 512u);

  const Service& pay = s.services[1];
  EXPECT_EQ(pay.protocol, Protocol::kGrpc);
  EXPECT_EQ(pay.sampling.kind, SamplingPolicy::Kind::kNever);
  EXPECT_EQ(pay.routes[0].error_status, 4);  // DEADLINE_EXCEEDED

  const Service& ext = s.services[2];
  EXPECT_TRUE(ext.IsExternal());
  EXPECT_EQ(ext.external_url, "http://10.1.2.3:8080");
  EXPECT_EQ(ext.protocol, Protocol::kGrpc);

  ASSERT_EQ(s.faults.size(), 3u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::kWrongFormat);
  EXPECT_EQ(s.faults[0].route, "GET /");
  EXPECT_EQ(s.faults[0].callee, "ext");
  EXPECT_EQ(s.faults[0].format, "jaeger");
  EXPECT_EQ(s.faults[0].probability, 0.5);
  EXPECT_EQ(s.faults[0].window_start_ns, 2'000'000'000u);
  EXPECT_EQ(s.faults[0].window_end_ns, 8'000'000'000u);
  EXPECT_EQ(s.faults[1].kind, FaultKind::kClockSkew);
  EXPECT_EQ(s.faults[1].amount_ns, -250'000'000);
  EXPECT_EQ(s.faults[1].window_end_ns, UINT64_MAX);  // no window: always
  EXPECT_EQ(s.faults[2].kind, FaultKind::kDelayExport);
  EXPECT_EQ(s.faults[2].amount_ns, 3'000'000'000);
}

// Secrets from the environment never appear in messages, even when the header is wrong otherwise.
TEST(ParseLanguageTest, ErrorsNeverPrintEnvironmentValues) {
  const ParseResult result = ParseScenario(
      "t.toml",
      kHead + "[backend]\nexport_headers = { a = \"${TOKEN}\", b = \"${MISSING}${TOKEN}\" }\n",
      FakeEnvironment({}, {{"TOKEN", "s3cret"}}));
  ASSERT_FALSE(result.ok());
  for (const auto& line : Render(result)) EXPECT_EQ(line.find("s3cret"), std::string::npos);
}

// Every fault kind parses on the edge or service the fault matrix uses. The kinds that change one
// part of what b injects, or its retries, need b to inject that part and retry its call.
TEST(ParseValuesTest, SamplingPolicies) {
  struct Case {
    const char* text;
    SamplingPolicy::Kind kind;
    double ratio;
  };
  const Case cases[] = {
      {"always", SamplingPolicy::Kind::kAlways, 1.0},
      {"never", SamplingPolicy::Kind::kNever, 0.0},
      {"ratio(0.25)", SamplingPolicy::Kind::kRatio, 0.25},
      {"ratio(0)", SamplingPolicy::Kind::kRatio, 0.0},
      {"parent-based", SamplingPolicy::Kind::kParentBased, 1.0},
      {"parent-based(0.5)", SamplingPolicy::Kind::kParentBased, 0.5},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto policy = ParseSamplingPolicy(c.text);
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_EQ(policy->kind, c.kind);
    EXPECT_EQ(policy->ratio, c.ratio);
  }
  EXPECT_FALSE(ParseSamplingPolicy("ratio()").ok());
  EXPECT_FALSE(ParseSamplingPolicy("ratio(-0.1)").ok());
  EXPECT_FALSE(ParseSamplingPolicy("").ok());
}

TEST(ParseValuesTest, EnvironmentReferences) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "A") return std::string("1");
    if (name == "EMPTY") return std::string();
    return std::nullopt;
  };
  EXPECT_EQ(ExpandEnvironmentReferences("x${A}y${A}", env).value(), "x1y1");
  EXPECT_EQ(ExpandEnvironmentReferences("${EMPTY}", env).value(), "");
  EXPECT_EQ(ExpandEnvironmentReferences("no refs $A {A}", env).value(), "no refs $A {A}");
  EXPECT_EQ(ExpandEnvironmentReferences("${B}", env).error().message,
            "environment variable \"B\" is not set");
  EXPECT_EQ(ExpandEnvironmentReferences("${}", env).error().message,
            "invalid environment variable name \"\" in \"${...}\" (letters, digits and '_')");
}

TEST(ParseValuesTest, SmallHelpers) {
  EXPECT_EQ(GrpcStatusFromName("OK"), 0);
  EXPECT_EQ(GrpcStatusFromName("UNAUTHENTICATED"), 16);
  EXPECT_EQ(GrpcStatusFromName("unavailable"), std::nullopt);  // names are upper case
  EXPECT_EQ(ParseSignedDuration("-250ms"), -250'000'000);
  EXPECT_EQ(ParseSignedDuration("2s"), 2'000'000'000);
  EXPECT_EQ(ParseSignedDuration("--1s"), std::nullopt);
  EXPECT_TRUE(LooksLikeHttpRoute("GET /checkout"));
  EXPECT_FALSE(LooksLikeHttpRoute("GetCheckout"));
  EXPECT_FALSE(LooksLikeHttpRoute("Get /x"));
  EXPECT_EQ(ResolveIncludePath("scenarios/a.toml", "common/b.toml"), "scenarios/common/b.toml");
  EXPECT_EQ(ResolveIncludePath("a.toml", "b.toml"), "b.toml");
  EXPECT_EQ(ResolveIncludePath("scenarios/a.toml", "/etc/b.toml"), "/etc/b.toml");
}

}  // namespace
}  // namespace tracerig
