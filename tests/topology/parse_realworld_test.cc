// ParseScenario on the keys that express real-world propagation bugs (issue 17): a service's
// extract, inject and forward formats, what the driver sends per load entry (formats, sampled
// flag, tracestate, baggage), the six new edge faults and `when` conditions. Invalid inputs with
// their exact diagnostics, warnings, and valid inputs with the model they must produce.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "tests/topology/parse_test_support.h"
#include "topology/parse.h"
#include "topology/parse_values.h"

namespace tracerig {
namespace {

using parse_test_support::ExpectDiagnostics;
using parse_test_support::InvalidCase;
using parse_test_support::kScenario;
using parse_test_support::Render;
using ::testing::IsEmpty;

ParseResult Parse(const std::string& text) { return ParseScenario("t.toml", text); }

std::vector<std::string> RenderWarnings(const ParseResult& result) {
  std::vector<std::string> lines;
  for (const auto& d : result.warnings) lines.push_back(d.ToString());
  return lines;
}

// Service "a" with `keys` from line 5, then its route "R".
std::string ServiceA(const std::string& keys) {
  return kScenario + "[[services]]\nname = \"a\"\n" + keys + "routes = [{ name = \"R\" }]\n";
}

// One load entry to a's route "R" with `keys` from line 6; then service "a" with `service_keys`.
std::string Entry(const std::string& keys, const std::string& service_keys = "") {
  return kScenario + "[[load.entries]]\nservice = \"a\"\nroute = \"R\"\n" + keys +
         "[[services]]\nname = \"a\"\n" + service_keys + "routes = [{ name = \"R\" }]\n";
}

// a -> b -> c, with `b_keys` among b's keys (line 7 on) and `b_call` among the options of b's call
// to c; a case's fault follows.
std::string Chain(const std::string& b_keys, const std::string& b_call = "") {
  return kScenario +
         "[[services]]\nname = \"a\"\n"
         "routes = [{ name = \"R\", calls = [{ service = \"b\", route = \"R\" }] }]\n"
         "[[services]]\nname = \"b\"\n" +
         b_keys + "routes = [{ name = \"R\", calls = [{ service = \"c\", route = \"R\"" + b_call +
         " }] }]\n" + "[[services]]\nname = \"c\"\nroutes = [{ name = \"R\" }]\n";
}

// A fault of `kind` on b (at the line after the chain), with `more` keys.
std::string ChainFault(const std::string& b_keys, const std::string& kind,
                       const std::string& more = "", const std::string& b_call = "") {
  return Chain(b_keys, b_call) + "[[faults]]\nkind = \"" + kind + "\"\nservice = \"b\"\n" + more;
}

const std::string kSupported =
    "(supported: \"tracecontext\", \"baggage\", \"b3\", \"b3multi\", \"jaeger\")";

TEST(ParseRealWorldTest, ServiceFormatErrors) {
  const InvalidCase cases[] = {
      {"extract written as another tool names it",
       ServiceA("extract = [\"w3c\"]\n"),
       {"t.toml:5:12: extract format \"w3c\" is unknown (did you mean \"tracecontext\"?)"}},
      {"inject format not supported yet",
       ServiceA("inject = [\"xray\"]\n"),
       {"t.toml:5:11: inject format \"xray\" is not supported yet " + kSupported}},
      {"forward format unknown",
       ServiceA("forward = [\"zipkin\"]\n"),
       {"t.toml:5:12: forward format \"zipkin\" is unknown " + kSupported}},
      {"format listed twice",
       ServiceA("propagation = [\"b3\", \"tracecontext\", \"b3\"]\n"),
       {"t.toml:5:38: propagation format \"b3\" is listed twice"}},
      {"extract empty",
       ServiceA("extract = []\n"),
       {"t.toml:5:11: \"extract\" must list at least one format"}},
      {"forward not an array",
       ServiceA("forward = \"b3\"\n"),
       {"t.toml:5:11: \"forward\" must be an array of strings, got string"}},
      {"inject entry not a string",
       ServiceA("inject = [1]\n"),
       {"t.toml:5:11: each entry of \"inject\" must be a string, got integer"}},
      {"propagation with extract",
       ServiceA("propagation = [\"b3\"]\nextract = [\"tracecontext\"]\n"),
       {"t.toml:6:11: \"extract\" and \"propagation\" in the same table: \"propagation\" sets "
        "both extract and inject; write \"extract\" and \"inject\" instead"}},
      {"propagation with inject in [defaults]",
       kScenario + "[defaults]\npropagation = [\"b3\"]\ninject = [\"b3\"]\n" +
           "[[services]]\nname = \"a\"\nroutes = [{ name = \"R\" }]\n",
       {"t.toml:5:10: \"inject\" and \"propagation\" in the same table: \"propagation\" sets "
        "both extract and inject; write \"extract\" and \"inject\" instead"}},
      {"forwarding a format the service injects",
       ServiceA("propagation = [\"b3\", \"tracecontext\"]\nforward = [\"baggage\", \"b3\"]\n"),
       {"t.toml:6:23: service \"a\" forwards b3 and also injects it: its own b3 header wins, so "
        "nothing would be forwarded (remove \"b3\" from \"forward\" or from \"inject\")"}},
      {"forwarding a format [defaults] makes it inject",
       kScenario + "[defaults]\ninject = [\"b3\"]\n" +
           "[[services]]\nname = \"a\"\nforward = [\"b3\"]\nroutes = [{ name = \"R\" }]\n",
       {"t.toml:7:12: service \"a\" forwards b3 and also injects it: its own b3 header wins, so "
        "nothing would be forwarded (remove \"b3\" from \"forward\" or from \"inject\")"}},
      {"forward on an external service",
       kScenario + "[[services]]\nname = \"a\"\n" +
           "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"GET /\" }] }]\n" +
           "[[services]]\nname = \"x\"\nurl = \"http://127.0.0.1:9000\"\n" +
           "forward = [\"b3\"]\nroutes = [{ name = \"GET /\" }]\n",
       {"t.toml:9:11: \"forward\" is not allowed on external service \"x\": tracerig calls it "
        "but does not simulate it"}},
      {"unknown key in a template",
       kScenario + "[[templates]]\nname = \"t\"\nextracts = [\"b3\"]\n" +
           "[[services]]\nname = \"a\"\ntemplate = \"t\"\nroutes = [{ name = \"R\" }]\n",
       {"t.toml:5:1: unknown key \"extracts\" in template (did you mean \"extract\"?)"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

TEST(ParseRealWorldTest, LoadEntryErrors) {
  const InvalidCase cases[] = {
      {"inject format unknown",
       Entry("inject = [\"uber-trace-id\"]\n"),
       {"t.toml:6:11: inject format \"uber-trace-id\" is unknown (did you mean \"jaeger\"?)"}},
      {"sampled as an integer",
       Entry("sampled = 1\n"),
       {"t.toml:6:11: \"sampled\" must be true, false or \"debug\", got 1 (write true)"}},
      {"sampled 0",
       Entry("sampled = 0\n"),
       {"t.toml:6:11: \"sampled\" must be true, false or \"debug\", got 0 (write false)"}},
      {"sampled as a quoted boolean",
       Entry("sampled = \"false\"\n"),
       {"t.toml:6:11: \"sampled\" must be true, false or \"debug\", got \"false\" (write false "
        "without quotes)"}},
      {"sampled as another word",
       Entry("sampled = \"always\"\n"),
       {"t.toml:6:11: \"sampled\" must be true, false or \"debug\", got \"always\""}},
      {"sampled as a float",
       Entry("sampled = 0.5\n"),
       {"t.toml:6:11: \"sampled\" must be true, false or \"debug\", got float"}},
      {"tracestate member without '='",
       Entry("tracestate = \"congo=t61,rojo\"\n"),
       {"t.toml:6:14: invalid \"tracestate\": member \"rojo\" has no '=' (write key=value)"}},
      {"tracestate key in capitals",
       Entry("tracestate = \"Congo=t61\"\n"),
       {"t.toml:6:14: invalid \"tracestate\": member \"Congo=t61\" has an invalid key \"Congo\" "
        "(lowercase letters, digits, '_', '-', '*' and '/', starting with a letter or digit; "
        "\"tenant@system\" for a multi-tenant key)"}},
      {"tracestate value with '='",
       Entry("tracestate = \"congo=a=b\"\n"),
       {"t.toml:6:14: invalid \"tracestate\": member \"congo=a=b\" has an invalid value \"a=b\" "
        "(1 to 256 printable ASCII characters other than ',' and '=', not ending in a space)"}},
      {"tracestate empty value",
       Entry("tracestate = \"congo=\"\n"),
       {"t.toml:6:14: invalid \"tracestate\": member \"congo=\" has an invalid value \"\" "
        "(1 to 256 printable ASCII characters other than ',' and '=', not ending in a space)"}},
      {"tracestate key twice",
       Entry("tracestate = \"congo=1, rojo=2, congo=3\"\n"),
       {"t.toml:6:14: invalid \"tracestate\": key \"congo\" appears twice (a W3C tracestate "
        "holds each key once)"}},
      {"tracestate not a string",
       Entry("tracestate = [\"congo=1\"]\n"),
       {"t.toml:6:14: \"tracestate\" must be a string, got array"}},
      {"baggage member without '='",
       Entry("baggage = \"user=alice,gold\"\n"),
       {"t.toml:6:11: invalid \"baggage\": member \"gold\" has no '=' (write key=value)"}},
      {"baggage key with a space",
       Entry("baggage = \"user id=7\"\n"),
       {"t.toml:6:11: invalid \"baggage\": member \"user id=7\" has an invalid key \"user id\" "
        "(letters, digits and !#$%&'*+-.^_`|~ only)"}},
      {"baggage value with a space",
       Entry("baggage = \"user=alice smith\"\n"),
       {"t.toml:6:11: invalid \"baggage\": member \"user=alice smith\" has an invalid value or "
        "property (percent-encode spaces, '\"', ',', ';', '\\' and '%', as in \"a%20b\")"}},
      {"tracestate without tracecontext, formats from the service",
       Entry("tracestate = \"congo=t61\"\n", "propagation = [\"b3\"]\n"),
       {"t.toml:6:14: \"tracestate\" is sent only with \"tracecontext\", but this entry injects "
        "\"b3\" (what service \"a\" extracts; \"inject\" chooses others)"}},
      {"tracestate without tracecontext, formats of the entry",
       Entry("inject = [\"b3\", \"baggage\"]\ntracestate = \"congo=t61\"\n"),
       {"t.toml:7:14: \"tracestate\" is sent only with \"tracecontext\", but this entry injects "
        "\"b3\", \"baggage\""}},
      {"baggage without the baggage format",
       Entry("baggage = \"user=alice\"\n"),
       {"t.toml:6:11: \"baggage\" is sent only with \"baggage\", but this entry injects "
        "\"tracecontext\" (what service \"a\" extracts; \"inject\" chooses others)"}},
      {"no context, but a flag, a tracestate and a baggage",
       Entry("inject = []\nsampled = false\ntracestate = \"congo=t61\"\nbaggage = \"u=1\"\n"),
       {"t.toml:7:11: \"sampled\" travels in the trace context, but inject = [] sends none",
        "t.toml:8:14: \"tracestate\" travels in the trace context, but inject = [] sends none",
        "t.toml:9:11: \"baggage\" travels in the trace context, but inject = [] sends none"}},
      {"unknown key in a load entry",
       Entry("sample = true\n"),
       {"t.toml:6:1: unknown key \"sample\" in load entry (did you mean \"sampled\"?)"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

TEST(ParseRealWorldTest, FaultErrors) {
  // Chain(...) is 12 lines when b_keys is one line: [[faults]] on 13, kind 14, service 15.
  const std::string b3 = "propagation = [\"b3\"]\n";
  const std::string all = "propagation = [\"tracecontext\", \"baggage\", \"b3\", \"jaeger\"]\n";
  const InvalidCase cases[] = {
      {"when with an unknown key",
       ChainFault(b3, "drop-context", "when = { sampeld = false }\n"),
       {"t.toml:16:10: unknown key \"sampeld\" in \"when\" (did you mean \"sampled\"?)"}},
      {"when empty",
       ChainFault(b3, "new-trace", "when = {}\n"),
       {"t.toml:16:8: \"when\" is empty: give \"sampled\", \"format\" or both (a fault for every "
        "request needs no \"when\")"}},
      {"when not a table",
       ChainFault(b3, "new-trace", "when = \"unsampled\"\n"),
       {"t.toml:16:8: \"when\" must be a table such as { sampled = false } or { format = \"b3\" "
        "}, got string"}},
      {"when sampled as an integer",
       ChainFault(b3, "new-trace", "when = { sampled = 0 }\n"),
       {"t.toml:16:20: \"sampled\" in \"when\" must be true or false, got integer (write "
        "false)"}},
      {"when format the service does not read",
       ChainFault(b3, "new-trace", "when = { format = \"tracecontext\" }\n"),
       {"t.toml:16:19: service \"b\" does not read tracecontext, so no request arrives in it (it "
        "extracts \"b3\")"}},
      {"when format unknown",
       ChainFault(b3, "drop-span", "when = { format = \"w3c\" }\n"),
       {"t.toml:16:19: unknown propagation format \"w3c\" (did you mean \"tracecontext\"?)"}},
      {"when format baggage",
       ChainFault(all, "drop-span", "when = { format = \"baggage\" }\n"),
       {"t.toml:16:19: \"when\" format \"baggage\" carries no trace context, so no request "
        "matches it (name a format with ids: \"tracecontext\", \"b3\", \"b3multi\" or "
        "\"jaeger\")"}},
      {"stale-retry-context without retries",
       ChainFault(b3, "stale-retry-context"),
       {"t.toml:13:1: \"stale-retry-context\" acts on retries, but no call of service \"b\" has "
        "\"retries\" (add retries = 1 or more to the call)"}},
      {"stale-retry-context with retries 0",
       ChainFault(b3, "stale-retry-context", "callee = \"c\"\n", ", retries = 0"),
       {"t.toml:13:1: \"stale-retry-context\" acts on retries, but no call of service \"b\" to "
        "\"c\" has \"retries\" (add retries = 1 or more to the call)"}},
      {"stale-retry-context on a route without retries",
       ChainFault(b3, "stale-retry-context", "route = \"R\"\n"),
       {"t.toml:13:1: \"stale-retry-context\" acts on retries, but no call of route \"R\" of "
        "service \"b\" has \"retries\" (add retries = 1 or more to the call)"}},
      {"urlencode without jaeger",
       ChainFault(b3, "urlencode"),
       {"t.toml:13:1: \"urlencode\" URL-encodes uber-trace-id, but service \"b\" does not "
        "inject \"jaeger\" (it injects \"b3\")"}},
      {"drop-tracestate without tracecontext",
       ChainFault(b3, "drop-tracestate"),
       {"t.toml:13:1: \"drop-tracestate\" drops the tracestate header, but service \"b\" does "
        "not inject \"tracecontext\" (it injects \"b3\")"}},
      {"drop-tracestate on a service reading but not injecting tracecontext",
       ChainFault("extract = [\"tracecontext\"]\ninject = [\"b3\"]\n", "drop-tracestate",
                  "callee = \"c\"\n"),
       {"t.toml:14:1: \"drop-tracestate\" drops the tracestate header, but service \"b\" does "
        "not inject \"tracecontext\" (it injects \"b3\")"}},
      {"drop-baggage without baggage",
       ChainFault("inject = []\n", "drop-baggage"),
       {"t.toml:13:1: \"drop-baggage\" drops the baggage header, but service \"b\" does not "
        "inject \"baggage\" (it injects nothing: inject = [])"}},
      {"debug-ignored without a debug flag",
       ChainFault("", "debug-ignored"),
       {"t.toml:12:1: \"debug-ignored\" clears the debug flag, but service \"b\" injects none of "
        "\"b3\", \"b3multi\", \"jaeger\", the formats that carry it (it injects "
        "\"tracecontext\")"}},
      {"force-sampled on a service injecting only baggage",
       ChainFault("inject = [\"baggage\"]\n", "force-sampled"),
       {"t.toml:13:1: \"force-sampled\" sets the sampled flag, but service \"b\" injects no "
        "format that carries one (it injects \"baggage\")"}},
      {"amount on a new edge fault",
       ChainFault(all, "drop-baggage", "amount = \"1s\"\n"),
       {"t.toml:16:10: \"amount\" applies only to \"clock-skew\" and \"delay-export\" faults, "
        "not \"drop-baggage\""}},
      {"format on a new edge fault",
       ChainFault(all, "urlencode", "format = \"jaeger\"\n"),
       {"t.toml:16:10: \"format\" applies only to \"wrong-format\" faults, not \"urlencode\""}},
      {"new edge fault on a service that calls nobody",
       Chain(all) + "[[faults]]\nkind = \"force-sampled\"\nservice = \"c\"\n",
       {"t.toml:13:1: \"force-sampled\" acts on outgoing calls, but service \"c\" makes none"}},
      {"wrong-format the callee reads, from its extract side",
       Chain(b3) + "[[services]]\nname = \"d\"\nextract = [\"b3\"]\ninject = [\"jaeger\"]\n" +
           "routes = [{ name = \"R\" }]\n" + "[[services]]\nname = \"e\"\n" +
           "routes = [{ name = \"R\", calls = [{ service = \"d\", route = \"R\" }] }]\n" +
           "[load]\nentries = [{ service = \"a\", route = \"R\" }, { service = \"e\", route = "
           "\"R\" }]\n" +
           "[[faults]]\nkind = \"wrong-format\"\nservice = \"e\"\ncallee = \"d\"\n" +
           "format = \"b3\"\n",
       {"t.toml:27:10: callee \"d\" reads b3, so injecting it is not a fault"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

struct WarningCase {
  const char* label;
  std::string text;
  std::vector<std::string> warnings;
};

TEST(ParseRealWorldTest, Warnings) {
  const std::string kRatioUnused =
      "t.toml:9:12: service \"a\" is a load entry and gets requests only from the driver, which "
      "sends every one with a sampled flag; its sampling \"parent-based(0.5)\" follows that flag "
      "and never uses the ratio 0.5 (write \"ratio(0.5)\" to sample at the entry)";
  const std::string kParent = "sampling = \"parent-based(0.5)\"\n";
  const WarningCase cases[] = {
      {"debug in traceparent only",
       Entry("sampled = \"debug\"\n"),
       {"t.toml:6:11: sampled = \"debug\" is sent as sampled=1: this entry injects "
        "\"tracecontext\" (what service \"a\" extracts; \"inject\" chooses others), and only "
        "\"b3\", \"b3multi\" and \"jaeger\" carry a debug flag"}},
      {"debug in traceparent, chosen by the entry",
       Entry("inject = [\"tracecontext\"]\nsampled = \"debug\"\n", "propagation = [\"b3\"]\n"),
       {"t.toml:7:11: sampled = \"debug\" is sent as sampled=1: this entry injects "
        "\"tracecontext\", and only \"b3\", \"b3multi\" and \"jaeger\" carry a debug flag"}},
      {"debug in b3", Entry("inject = [\"tracecontext\", \"b3\"]\nsampled = \"debug\"\n"), {}},
      {"debug in jaeger, from the service",
       Entry("sampled = \"debug\"\n", "propagation = [\"jaeger\"]\n"),
       {}},
      // The parent-based warning holds for any flag the driver sends...
      {"parent-based entry sent unsampled", Entry("sampled = false\n", kParent), {kRatioUnused}},
      // ...but not when some request comes without a context the entry reads.
      {"parent-based entry sent no context", Entry("inject = []\n", kParent), {}},
      {"parent-based entry sent a format it does not read",
       Entry("inject = [\"b3\"]\n", kParent),
       {}},
      {"parent-based entry sent only baggage", Entry("inject = [\"baggage\"]\n", kParent), {}},
      {"parent-based entry, one of two entries without context",
       kScenario + "[load]\nentries = [{ service = \"a\", route = \"R\" }, { service = \"a\", " +
           "route = \"R\", inject = [] }]\n" + "[[services]]\nname = \"a\"\n" + kParent +
           "routes = [{ name = \"R\" }]\n",
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = Parse(c.text);
    EXPECT_THAT(Render(result), IsEmpty());
    EXPECT_EQ(RenderWarnings(result), c.warnings);
  }
}

TEST(ParseRealWorldTest, ServiceFormatsLayerSideBySide) {
  struct Case {
    const char* label;
    std::string text;
    std::vector<std::string> extract;
    std::optional<std::vector<std::string>> inject;
    std::vector<std::string> forward;
  };
  using V = std::vector<std::string>;
  const Case cases[] = {
      {"default", ServiceA(""), V{"tracecontext"}, std::nullopt, V{}},
      {"propagation sets both sides", ServiceA("propagation = [\"b3\", \"baggage\"]\n"),
       V{"b3", "baggage"}, std::nullopt, V{}},
      {"reads B3, sends W3C", ServiceA("extract = [\"b3\"]\ninject = [\"tracecontext\"]\n"),
       V{"b3"}, V{"tracecontext"}, V{}},
      {"extract alone keeps the default inject", ServiceA("extract = [\"b3\"]\n"), V{"b3"},
       V{"tracecontext"}, V{}},
      {"inject alone keeps the default extract", ServiceA("inject = [\"b3multi\"]\n"),
       V{"tracecontext"}, V{"b3multi"}, V{}},
      {"a service that does not propagate", ServiceA("inject = []\n"), V{"tracecontext"}, V{}, V{}},
      {"a proxy forwarding a header it does not read",
       ServiceA("extract = [\"tracecontext\"]\ninject = [\"tracecontext\"]\nforward = [\"b3\"]\n"),
       V{"tracecontext"}, V{"tracecontext"}, V{"b3"}},
      {"a proxy without tracing", ServiceA("inject = []\nforward = [\"tracecontext\", \"b3\"]\n"),
       V{"tracecontext"}, V{}, V{"tracecontext", "b3"}},
      {"service extract over [defaults] propagation",
       kScenario + "[defaults]\npropagation = [\"b3\"]\n" +
           "[[services]]\nname = \"a\"\nextract = [\"tracecontext\"]\nroutes = [{ name = \"R\" "
           "}]\n",
       V{"tracecontext"}, V{"b3"}, V{}},
      {"service propagation over [defaults] sides",
       kScenario + "[defaults]\nextract = [\"b3\"]\ninject = [\"jaeger\"]\nforward = [\"b3\"]\n" +
           "[[services]]\nname = \"a\"\npropagation = [\"b3multi\"]\nroutes = [{ name = \"R\" "
           "}]\n",
       V{"b3multi"}, std::nullopt, V{"b3"}},
      {"service inject over a template's propagation",
       kScenario + "[[templates]]\nname = \"t\"\npropagation = [\"jaeger\"]\n" +
           "[[services]]\nname = \"a\"\ntemplate = \"t\"\ninject = [\"tracecontext\"]\n" +
           "routes = [{ name = \"R\" }]\n",
       V{"jaeger"}, V{"tracecontext"}, V{}},
      {"service forward over [defaults] forward",
       kScenario + "[defaults]\nforward = [\"b3\"]\n" +
           "[[services]]\nname = \"a\"\nforward = []\nroutes = [{ name = \"R\" }]\n",
       V{"tracecontext"}, std::nullopt, V{}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = Parse(c.text);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    const Service& a = result.scenario->services[0];
    EXPECT_EQ(a.extract, c.extract);
    EXPECT_EQ(a.inject, c.inject);
    EXPECT_EQ(a.forward, c.forward);
  }
}

TEST(ParseRealWorldTest, ExternalServicesSayWhatTheRealOneReadsAndSends) {
  const ParseResult result = Parse(
      kScenario + "[[services]]\nname = \"a\"\n" +
      "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"GET /\" }] }]\n" +
      "[[services]]\nname = \"x\"\nurl = \"http://127.0.0.1:9000\"\n" +
      "extract = [\"b3\"]\ninject = [\"tracecontext\", \"b3\"]\nroutes = [{ name = \"GET /\" }]\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  const Service& x = result.scenario->services[1];
  EXPECT_EQ(x.extract, std::vector<std::string>{"b3"});
  EXPECT_EQ(x.Injects(), (std::vector<std::string>{"tracecontext", "b3"}));
  EXPECT_THAT(x.forward, IsEmpty());
}

TEST(ParseRealWorldTest, LoadEntriesSayWhatTheDriverSends) {
  const ParseResult result = Parse(
      kScenario + "[load]\nrate = 10\n" +
      "[[load.entries]]\nservice = \"a\"\nroute = \"R\"\n" +  // 5-7: defaults
      "[[load.entries]]\nservice = \"a\"\nroute = \"R\"\ninject = [\"b3\", \"tracecontext\", "
      "\"baggage\"]\nsampled = \"debug\"\ntracestate = \" congo=t61 ,, rojo=00f067aa0ba902b7\"\n"
      "baggage = \"user = alice ; tier=1, id=7\"\n" +                      // 8-14
      "[[load.entries]]\nservice = \"a\"\nroute = \"R\"\ninject = []\n" +  // 15-18
      "[[load.entries]]\nservice = \"a\"\nroute = \"R\"\nsampled = false\n" +
      "[[services]]\nname = \"a\"\nroutes = [{ name = \"R\" }]\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  EXPECT_THAT(RenderWarnings(result), IsEmpty());
  const std::vector<LoadEntry>& entries = result.scenario->load.entries;
  ASSERT_EQ(entries.size(), 4u);

  EXPECT_FALSE(entries[0].inject.has_value());
  EXPECT_TRUE(entries[0].SendsContext());
  EXPECT_EQ(entries[0].sampled, EntrySampling::kSampled);
  EXPECT_EQ(entries[0].tracestate, "");
  EXPECT_EQ(entries[0].baggage, "");
  EXPECT_EQ(entries[0].where.ToString(), "t.toml:5:1");

  EXPECT_EQ(entries[1].inject, (std::vector<std::string>{"b3", "tracecontext", "baggage"}));
  EXPECT_EQ(entries[1].sampled, EntrySampling::kDebug);
  EXPECT_EQ(entries[1].tracestate, "congo=t61,rojo=00f067aa0ba902b7");
  EXPECT_EQ(entries[1].baggage, "user=alice;tier=1,id=7");
  EXPECT_EQ(entries[1].where.ToString(), "t.toml:8:1");

  EXPECT_EQ(entries[2].inject, std::vector<std::string>{});
  EXPECT_FALSE(entries[2].SendsContext());

  EXPECT_EQ(entries[3].sampled, EntrySampling::kNotSampled);
}

TEST(ParseRealWorldTest, NewFaultKindsAndConditions) {
  const std::string text =
      Chain("propagation = [\"tracecontext\", \"baggage\", \"b3\", \"jaeger\"]\n",
            ", retries = 2") +
      "[[faults]]\nkind = \"stale-retry-context\"\nservice = \"b\"\ncallee = \"c\"\n"
      "[[faults]]\nkind = \"force-sampled\"\nservice = \"b\"\nwhen = { sampled = false }\n"
      "[[faults]]\nkind = \"new-trace\"\nservice = \"b\"\n"
      "when = { sampled = true, format = \"b3\" }\nprobability = 0.5\n"
      "[[faults]]\nkind = \"urlencode\"\nservice = \"b\"\nroute = \"R\"\n"
      "[[faults]]\nkind = \"debug-ignored\"\nservice = \"b\"\nwhen = { format = \"jaeger\" }\n"
      "[[faults]]\nkind = \"drop-tracestate\"\nservice = \"b\"\n"
      "[[faults]]\nkind = \"drop-baggage\"\nservice = \"b\"\ncallee = \"c\"\n";
  const ParseResult result = Parse(text);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  const std::vector<Fault>& f = result.scenario->faults;
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0].kind, FaultKind::kStaleRetryContext);
  EXPECT_EQ(f[0].callee, "c");
  EXPECT_FALSE(f[0].when.IsSet());
  EXPECT_EQ(f[1].kind, FaultKind::kForceSampled);
  EXPECT_EQ(f[1].when.sampled, std::optional<bool>(false));
  EXPECT_EQ(f[1].when.format, "");
  EXPECT_EQ(f[2].kind, FaultKind::kNewTrace);
  EXPECT_EQ(f[2].when.sampled, std::optional<bool>(true));
  EXPECT_EQ(f[2].when.format, "b3");
  EXPECT_EQ(f[2].probability, 0.5);
  EXPECT_EQ(f[3].kind, FaultKind::kUrlencode);
  EXPECT_EQ(f[3].route, "R");
  EXPECT_EQ(f[4].kind, FaultKind::kDebugIgnored);
  EXPECT_FALSE(f[4].when.sampled.has_value());
  EXPECT_EQ(f[4].when.format, "jaeger");
  EXPECT_EQ(f[5].kind, FaultKind::kDropTracestate);
  EXPECT_EQ(f[6].kind, FaultKind::kDropBaggage);
}

TEST(ParseValuesTest, TracestateAndBaggageText) {
  EXPECT_EQ(*NormaliseTracestateText(""), "");
  EXPECT_EQ(*NormaliseTracestateText("a=1,\tb=2 , ,c@d=x y"), "a=1,b=2,c@d=x y");
  std::string many;
  for (int i = 0; i < 33; ++i) many += fmt::format("k{}=v,", i);
  ASSERT_FALSE(NormaliseTracestateText(many).ok());
  EXPECT_EQ(NormaliseTracestateText(many).error().message,
            "invalid \"tracestate\": 33 members, more than the 32 W3C allows");
  EXPECT_EQ(*NormaliseBaggageText("a=%20b ; p , c=d"), "a=%20b;p,c=d");
  EXPECT_EQ(*NormaliseBaggageText(""), "");
  const Result<std::string> big = NormaliseBaggageText("k=" + std::string(9000, 'x'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message,
            "invalid \"baggage\": more than the 8192 bytes W3C allows once encoded");
}

TEST(ParseLanguageTest, EveryFaultKindIsAccepted) {
  // b injects every format a fault may need, and retries its call to c.
  const std::string injecting_chain =
      Chain("propagation = [\"tracecontext\", \"baggage\", \"b3\", \"jaeger\"]\n", ", retries = 1");
  for (FaultKind kind : AllFaultKinds()) {
    SCOPED_TRACE(FaultKindName(kind));
    std::string fault =
        fmt::format("[[faults]]\nkind = \"{}\"\nservice = \"b\"\n", FaultKindName(kind));
    if (IsEdgeFault(kind)) fault += "callee = \"c\"\n";
    if (kind == FaultKind::kWrongFormat) fault += "format = \"b3\"\n";
    if (kind == FaultKind::kClockSkew || kind == FaultKind::kDelayExport) {
      fault += "amount = \"1s\"\n";
    }
    const bool acts_on_a_part = kind == FaultKind::kDropTracestate ||
                                kind == FaultKind::kDropBaggage ||
                                kind == FaultKind::kStaleRetryContext ||
                                kind == FaultKind::kDebugIgnored || kind == FaultKind::kUrlencode;
    // Consumer faults act on b's consumer: a failing, redelivering, dead-lettering batch one.
    std::string text = acts_on_a_part ? injecting_chain : Chain("");
    if (IsConsumerFault(kind)) {
      text =
          kScenario +
          "[[services]]\nname = \"p\"\n"
          "routes = [{ name = \"R\", calls = [{ publish = \"orders\", routing_key = \"x\" }] }]\n"
          "[[services]]\nname = \"b\"\n"
          "[[services.consumers]]\nqueue = \"q\"\nbinding = \"orders:#\"\n"
          "batch = { size = 2, wait = \"10ms\" }\nerror_rate = 0.1\nredeliveries = 1\n"
          "dead_letter = \"dead\"\n"
          "[[services.consumers]]\nqueue = \"dead\"\n";
    }
    const ParseResult result = Parse(text + fault);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    ASSERT_EQ(result.scenario->faults.size(), 1u);
    EXPECT_EQ(result.scenario->faults[0].kind, kind);
  }
}

}  // namespace
}  // namespace tracerig
