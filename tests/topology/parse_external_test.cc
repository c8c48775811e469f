// ParseScenario on external services in the loop (issue 16): the calls an external route declares,
// the TLS and command keys, gRPC method names; and the friction fixes beside them: a duration
// string as latency, and did-you-mean for other tools' propagation and sampler names.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/topology/parse_test_support.h"
#include "topology/parse.h"
#include "topology/parse_values.h"

namespace tracerig {
namespace {

using parse_test_support::ExpectDiagnostics;
using parse_test_support::InvalidCase;
using parse_test_support::kHead;
using parse_test_support::kScenario;
using parse_test_support::Render;

// Eleven lines: simulated "a" calls external "x" (GET /), simulated "b" is there for x to call. A
// case's own text starts on line 12, among x's keys; it gives x its routes.
const std::string kExternal =
    kScenario +
    "[[services]]\nname = \"a\"\n"
    "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"GET /\" }] }]\n"
    "[[services]]\nname = \"b\"\nroutes = [{ name = \"R\" }]\n"
    "[[services]]\nname = \"x\"\nurl = \"http://127.0.0.1:9000\"\n";
// x's route, calling b: for cases about x's service-level keys.
const std::string kExternalRoute =
    "[[services.routes]]\nname = \"GET /\"\ncalls = [{ service = \"b\", route = \"R\" }]\n";

ParseResult Parse(const std::string& text) { return ParseScenario("t.toml", text); }

TEST(ParseExternalTest, ExternalRouteCallsNameOnlyTheirCallee) {
  const auto decided = [](const char* option, const char* col, const char* what) {
    return InvalidCase{
        option,
        kExternal + "[[services.routes]]\nname = \"GET /\"\n" +
            "calls = [{ service = \"b\", route = \"R\", " + option + " }]\n",
        {fmt::format("t.toml:14:{}: \"{}\" is not allowed on a call of external service \"x\": "
                     "the real service decides its own {} (write only \"service\" and \"route\")",
                     col, std::string_view(option).substr(0, std::string_view(option).find(' ')),
                     what)}};
  };
  const InvalidCase cases[] = {
      decided("probability = 0.5", "54", "call probability"),
      decided("repeat = 2", "49", "call count"),
      decided("timeout = \"1s\"", "50", "timeouts"),
      decided("retries = 2", "50", "retries"),
      decided("retry_backoff = \"5ms\"", "56", "retry backoff"),
      decided("request_bytes = \"1KiB\"", "56", "request sizes"),
      {"a decided option inside a parallel group",
       kExternal + "[[services.routes]]\nname = \"GET /\"\n" +
           "calls = [{ parallel = [{ service = \"b\", route = \"R\", timeout = \"1s\" }] }]\n",
       {"t.toml:14:64: \"timeout\" is not allowed on a call of external service \"x\": the real "
        "service decides its own timeouts (write only \"service\" and \"route\")"}},
      {"an unknown call key keeps its did-you-mean",
       kExternal + "[[services.routes]]\nname = \"GET /\"\n" +
           "calls = [{ service = \"b\", route = \"R\", rout = \"R\" }]\n",
       {"t.toml:14:40: unknown key \"rout\" in call (did you mean \"route\"?)"}},
      {"a call to an unknown route",
       kExternal + "[[services.routes]]\nname = \"GET /\"\n" +
           "calls = [{ service = \"b\", route = \"Q\" }]\n",
       {"t.toml:14:35: call to unknown route \"Q\" of service \"b\""}},
      {"a call to another external service",
       kExternal + "[[services.routes]]\nname = \"GET /\"\n" +
           "calls = [{ service = \"b\", route = \"R\" }, { service = \"y\", route = \"R\" }]\n" +
           "[[services]]\nname = \"y\"\nurl = \"http://127.0.0.1:9001\"\nroutes = [{ name = "
           "\"R\" }]\n",
       {"t.toml:14:54: external service \"x\" calls external service \"y\": tracerig cannot "
        "observe calls between two real services (a call of an external route names a simulated "
        "service)"}},
      {"an external route calling the same callee twice",
       kExternal + "[[services.routes]]\nname = \"GET /\"\n" +
           "calls = [{ service = \"b\", route = \"R\" }, { service = \"b\", route = \"R\" }]\n",
       {"t.toml:14:42: route \"GET /\" of external service \"x\" calls \"b\" route \"R\" a second "
        "time (first at line 14): tracerig could not tell which call an arrival is, so declare "
        "each callee once"}},
      {"a cycle through an external service",
       kExternal + "[[services.routes]]\nname = \"GET /\"\n" +
           "calls = [{ service = \"b\", route = \"R\" }, { service = \"a\", route = \"R\" }]\n",
       {"t.toml:14:42: call cycle: a R -> x GET / -> a R"}},
      {"other route keys stay errors on an external route",
       kExternal + "[[services.routes]]\nname = \"GET /\"\nresponse_bytes = 10\n" +
           "calls = [{ service = \"b\", route = \"R\" }]\n",
       {"t.toml:14:18: \"response_bytes\" is not allowed on external service \"x\": tracerig "
        "calls it but does not simulate it"}},
      {"a simulated service no external route calls is still unreachable",
       kExternal + "[[services.routes]]\nname = \"GET /\"\n",
       {"t.toml:7:8: service \"b\" is unreachable: no call and no load entry names it"}},
  };
  for (const InvalidCase& c : cases) ExpectDiagnostics(c);
}

TEST(ParseExternalTest, TlsAndCommandKeys) {
  const InvalidCase cases[] = {
      {"ca_file with an http URL",
       kExternal + "ca_file = \"ca.pem\"\n" + kExternalRoute,
       {"t.toml:12:11: \"ca_file\" needs an https:// URL: service \"x\" is called at "
        "\"http://127.0.0.1:9000\", without TLS"}},
      {"client_cert without client_key",
       kScenario + "[[services]]\nname = \"a\"\n" +
           "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"R\" }] }]\n" +
           "[[services]]\nname = \"x\"\nurl = \"https://127.0.0.1:9443\"\n" +
           "client_cert = \"c.pem\"\nroutes = [{ name = \"R\" }]\n",
       {"t.toml:9:15: \"client_cert\" needs \"client_key\" too (a client certificate and its key "
        "go together)"}},
      {"client_key alone on an http URL",
       kExternal + "client_key = \"k.pem\"\n" + kExternalRoute,
       {"t.toml:12:14: \"client_key\" needs an https:// URL: service \"x\" is called at "
        "\"http://127.0.0.1:9000\", without TLS",
        "t.toml:12:14: \"client_key\" needs \"client_cert\" too (a client certificate and its "
        "key go together)"}},
      {"empty ca_file",
       kScenario + "[[services]]\nname = \"a\"\n" +
           "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"R\" }] }]\n" +
           "[[services]]\nname = \"x\"\nurl = \"https://127.0.0.1:9443\"\nca_file = \"\"\n" +
           "routes = [{ name = \"R\" }]\n",
       {"t.toml:9:11: \"ca_file\" must not be empty"}},
      {"TLS and command keys on a simulated service",
       kScenario + "[[services]]\nname = \"a\"\ncommand = \"./a\"\nca_file = \"ca.pem\"\n" +
           "start_timeout = \"5s\"\n[[services.routes]]\nname = \"R\"\n",
       {"t.toml:5:11: \"command\" is only for external services (with a \"url\"): tracerig runs "
        "service \"a\" itself",
        "t.toml:6:11: \"ca_file\" is only for external services (with a \"url\" starting "
        "https://): tracerig runs service \"a\" itself",
        "t.toml:7:17: \"start_timeout\" is only for external services (with a \"url\"): tracerig "
        "runs service \"a\" itself"}},
      {"empty command",
       kExternal + "command = \"\"\n" + kExternalRoute,
       {"t.toml:12:11: \"command\" must not be empty"}},
      {"start_timeout without command, not a duration",
       kExternal + "start_timeout = \"soon\"\n" + kExternalRoute,
       {"t.toml:12:17: invalid duration \"soon\" for \"start_timeout\" (expected a number and "
        "one of the units ns, us, ms, s, m, h, as in \"30s\")"}},
      {"start_timeout of zero",
       kExternal + "command = \"./serve\"\nstart_timeout = \"0s\"\n" + kExternalRoute,
       {"t.toml:13:17: \"start_timeout\" must be greater than 0"}},
      {"start_timeout not a duration",
       kExternal + "command = \"./serve\"\nstart_timeout = 10\n" + kExternalRoute,
       {"t.toml:13:17: \"start_timeout\" must be a duration string such as \"30s\", got integer"}},
  };
  for (const InvalidCase& c : cases) ExpectDiagnostics(c);
}

// A grpc external route may name the real method; tracerig then calls it with an empty message.
TEST(ParseExternalTest, GrpcMethodNamesOfExternalRoutes) {
  const auto scenario = [](const std::string& route) {
    return kScenario +
           "[[services]]\nname = \"a\"\n"
           "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"" +
           route + "\" }] }]\n" +
           "[[services]]\nname = \"x\"\nprotocol = \"grpc\"\nurl = \"https://127.0.0.1:9443\"\n" +
           "routes = [{ name = \"" + route + "\" }]\n";
  };
  for (const char* route :
       {"shop.v1.Cart/GetCart", "/shop.v1.Cart/GetCart", "Cart/Get", "GetCart"}) {
    SCOPED_TRACE(route);
    const ParseResult result = Parse(scenario(route));
    ASSERT_TRUE(result.ok()) << testing::PrintToString(Render(result));
    EXPECT_EQ(result.scenario->services[1].routes[0].name, route);
  }
  const struct {
    const char* route;
    const char* column;
  } bad[] = {{"shop.v1.Cart/", "20"},
             {"/GetCart", "20"},
             {"a/b/c", "20"},
             {"/", "20"},
             {"shop.Cart/Get Cart", "20"}};
  // An HTTP-looking name gets one error, the one that says so.
  EXPECT_THAT(Render(Parse(scenario("GET /cart"))),
              testing::ElementsAre("t.toml:10:20: route \"GET /cart\" of grpc service \"x\" looks "
                                   "like an HTTP route; name gRPC methods like \"GetCart\""));
  for (const auto& b : bad) {
    SCOPED_TRACE(b.route);
    EXPECT_THAT(Render(Parse(scenario(b.route))),
                testing::ElementsAre(fmt::format(
                    "t.toml:10:{}: route \"{}\" of external grpc service \"x\" is not a gRPC "
                    "method: write \"package.Service/Method\" (or a plain name such as "
                    "\"GetCart\")",
                    b.column, b.route)));
  }
}

// Every key of an external service reaches the model; a simulated service that only the real
// service calls is reachable; a fixed listen address stays as written.
TEST(ParseExternalTest, ExternalServiceReachesTheModel) {
  const std::string text =
      kScenario +
      "[load]\nentries = [{ service = \"x\", route = \"GET /\" }]\n"
      "[[templates]]\nname = \"real\"\ncommand = \"node server.js\"\n"
      "[[services]]\nname = \"x\"\ntemplate = \"real\"\n"
      "url = \"https://localhost:8443\"\nca_file = \"ca.pem\"\n"
      "client_cert = \"c.pem\"\nclient_key = \"k.pem\"\n"
      "start_timeout = \"45s\"\n"
      "[[services.routes]]\nname = \"GET /\"\n"
      "calls = [{ service = \"b\", route = \"R\" }, { parallel = [\n"
      "  { service = \"c\", route = \"R\" }, { service = \"d\", route = \"R\" }] }]\n"
      "[[services]]\nname = \"b\"\nlisten = \"127.0.0.1:18081\"\n"
      "routes = [{ name = \"R\", latency = \"3ms\" }]\n"
      "[[services]]\nname = \"c\"\nroutes = [{ name = \"R\" }]\n"
      "[[services]]\nname = \"d\"\nroutes = [{ name = \"R\" }]\n";
  const ParseResult result = Parse(text);
  ASSERT_TRUE(result.ok()) << testing::PrintToString(Render(result));
  const Scenario& s = *result.scenario;
  const Service& x = s.services[0];
  EXPECT_TRUE(x.IsExternal());
  EXPECT_EQ(x.ca_file, "ca.pem");
  EXPECT_EQ(x.client_cert, "c.pem");
  EXPECT_EQ(x.client_key, "k.pem");
  EXPECT_EQ(x.command, "node server.js");
  EXPECT_EQ(x.start_timeout_ns, 45'000'000'000u);
  const Route& route = x.routes[0];
  ASSERT_EQ(route.calls.size(), 2u);
  EXPECT_FALSE(route.calls[0].parallel);
  EXPECT_EQ(route.calls[0].calls[0].service, "b");
  EXPECT_TRUE(route.calls[1].parallel);
  ASSERT_EQ(route.calls[1].calls.size(), 2u);
  EXPECT_EQ(route.calls[1].calls[0].service, "c");
  EXPECT_EQ(route.calls[1].calls[0].probability, 1.0);
  EXPECT_EQ(route.calls[1].calls[0].repeat, 1u);
  EXPECT_EQ(s.services[1].listen, "127.0.0.1:18081");
  const LatencyModel& latency = s.services[1].routes[0].latency;
  EXPECT_EQ(latency.kind, LatencyModel::Kind::kFixed);
  EXPECT_EQ(latency.a, 3'000'000u);
  // Without a command: the default start timeout, the user starts the service.
  const ParseResult plain = Parse(kExternal + kExternalRoute);
  ASSERT_TRUE(plain.ok()) << testing::PrintToString(Render(plain));
  EXPECT_EQ(plain.scenario->services[2].command, "");
  EXPECT_EQ(plain.scenario->services[2].start_timeout_ns, 30'000'000'000u);
}

TEST(ParseExternalTest, TwoServicesOnOneFixedPortStayAnError) {
  const std::string text =
      kScenario +
      "[[services]]\nname = \"a\"\nlisten = \"127.0.0.1:18080\"\n"
      "routes = [{ name = \"R\", calls = [{ service = \"b\", route = \"R\" }] }]\n"
      "[[services]]\nname = \"b\"\nlisten = \"127.0.0.1:18080\"\n"
      "routes = [{ name = \"R\" }]\n";
  EXPECT_THAT(Render(Parse(text)),
              testing::ElementsAre("t.toml:9:10: listen address \"127.0.0.1:18080\" is already "
                                   "used by service \"a\""));
}

// Names other tools use stay errors, each with the name tracerig uses.
TEST(ParseExternalTest, OtherToolsNamesGetDidYouMean) {
  const struct {
    const char* written;
    const char* meant;
  } propagations[] = {
      {"w3c", "tracecontext"},
      {"traceparent", "tracecontext"},
      {"w3c-tracecontext", "tracecontext"},
      {"W3C", "tracecontext"},
      {"TraceContext", "tracecontext"},
      {"b3single", "b3"},
      {"b3-single", "b3"},
      {"B3", "b3"},
      {"b3-multi", "b3multi"},
      {"b3_multi", "b3multi"},
      {"x-b3", "b3multi"},
      {"uber-trace-id", "jaeger"},
      {"uber", "jaeger"},
      {"w3c-baggage", "baggage"},
      {"jager", "jaeger"},
  };
  for (const auto& p : propagations) {
    SCOPED_TRACE(p.written);
    EXPECT_EQ(PropagationHint(p.written), fmt::format(" (did you mean \"{}\"?)", p.meant));
    const std::string text = kScenario + "[[services]]\nname = \"a\"\npropagation = [\"" +
                             p.written + "\"]\nroutes = [{ name = \"R\" }]\n";
    EXPECT_THAT(Render(Parse(text)),
                testing::ElementsAre(fmt::format("t.toml:5:16: propagation format \"{}\" is "
                                                 "unknown (did you mean \"{}\"?)",
                                                 p.written, p.meant)));
  }
  EXPECT_EQ(PropagationHint("opencensus"), "");

  const struct {
    const char* written;
    const char* message;
  } samplers[] = {
      {"always_on", "(did you mean \"always\"? \"always_on\" is OpenTelemetry's name for it)"},
      {"always_off", "(did you mean \"never\"? \"always_off\" is OpenTelemetry's name for it)"},
      {"traceidratio",
       "(did you mean \"ratio(R)\"? \"traceidratio\" is OpenTelemetry's name for it)"},
      {"traceidratio(0.25)",
       "(did you mean \"ratio(0.25)\"? \"traceidratio\" is OpenTelemetry's name for it)"},
      {"parentbased_always_on",
       "(did you mean \"parent-based\"? \"parentbased_always_on\" is OpenTelemetry's name for "
       "it)"},
      {"parentbased_always_off",
       "(did you mean \"parent-based(0)\"? \"parentbased_always_off\" is OpenTelemetry's name "
       "for it)"},
      {"parentbased_traceidratio",
       "(did you mean \"parent-based(R)\"? \"parentbased_traceidratio\" is OpenTelemetry's "
       "name for it)"},
      {"ParentBased_TraceIdRatio(0.1)",
       "(did you mean \"parent-based(0.1)\"? \"parentbased_traceidratio\" is OpenTelemetry's "
       "name for it)"},
  };
  for (const auto& p : samplers) {
    SCOPED_TRACE(p.written);
    const std::string text = kScenario + "[[services]]\nname = \"a\"\nsampling = \"" + p.written +
                             "\"\nroutes = [{ name = \"R\" }]\n";
    const std::string_view written(p.written);
    EXPECT_THAT(Render(Parse(text)),
                testing::ElementsAre(fmt::format("t.toml:5:12: unknown sampling policy \"{}\" {}",
                                                 written.substr(0, written.find('(')), p.message)));
  }
  // [defaults] and a wrong-format fault read the same names.
  const std::string defaults = kScenario + "[defaults]\nsampling = \"always_on\"\n" +
                               "propagation = [\"b3-multi\"]\n" + parse_test_support::kServices;
  EXPECT_THAT(Render(Parse(defaults)),
              testing::ElementsAre("t.toml:4:12: unknown sampling policy \"always_on\" (did you "
                                   "mean \"always\"? \"always_on\" is OpenTelemetry's name for "
                                   "it)",
                                   "t.toml:5:16: propagation format \"b3-multi\" is unknown (did "
                                   "you mean \"b3multi\"?)"));
  const std::string fault =
      kScenario +
      "[[services]]\nname = \"a\"\n"
      "routes = [{ name = \"R\", calls = [{ service = \"b\", route = \"R\" }] }]\n"
      "[[services]]\nname = \"b\"\nroutes = [{ name = \"R\" }]\n"
      "[[faults]]\nkind = \"wrong-format\"\nservice = \"a\"\nformat = \"uber-trace-id\"\n";
  EXPECT_THAT(Render(Parse(fault)),
              testing::ElementsAre("t.toml:12:10: unknown propagation format \"uber-trace-id\" "
                                   "(did you mean \"jaeger\"?)"));
}

}  // namespace
}  // namespace tracerig
