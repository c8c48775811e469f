// ParseScenario on `[expect] attributes` and `[expect] sampling`: every invalid entry with the
// exact diagnostics it must produce, and valid entries with the model they must produce, in both
// TOML spellings (an array of inline tables and [[expect.attributes]] / [[expect.sampling]]).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "topology/parse.h"

namespace tracerig {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// Nine lines: services "frontend" (calls payment) and "payment", then [expect]; a case's own text
// starts on line 10, inside [expect].
const std::string kHead =
    "[scenario]\nname = \"t\"\n"
    "[[services]]\nname = \"frontend\"\n"
    "routes = [{ name = \"GET /checkout\", calls = [{ service = \"payment\", route = \"Charge\" "
    "}] }]\n"
    "[[services]]\nname = \"payment\"\nroutes = [{ name = \"Charge\" }]\n"
    "[expect]\n";

const std::string kForms =
    "{ service, ratio }, { ratio }, { errors = \"always\" }, { slower_than = DURATION } or "
    "{ traces = \"whole\" }";

std::vector<std::string> Render(const ParseResult& result) {
  std::vector<std::string> lines;
  for (const auto& d : result.diagnostics) lines.push_back(d.ToString());
  return lines;
}

struct InvalidCase {
  const char* label;
  std::string text;  // after kHead
  std::vector<std::string> diagnostics;
};

TEST(ParseExpectTest, InvalidEntriesReportExactDiagnostics) {
  const InvalidCase cases[] = {
      // attributes
      {"attributes as a table",
       "attributes = { service = \"frontend\" }\n",
       {"t.toml:10:14: \"attributes\" must be an array of tables ([[expect.attributes]]), got "
        "table"}},
      {"attributes entry not a table",
       "attributes = [\"http.route\"]\n",
       {"t.toml:10:15: each entry of \"attributes\" must be a table, got string"}},
      {"attributes entry with a misspelt key",
       "attributes = [{ service = \"frontend\", requird = [\"x\"] }]\n",
       {"t.toml:10:15: attributes entry needs \"required\" or \"values\"",
        "t.toml:10:39: unknown key \"requird\" in attributes entry (did you mean \"required\"?)"}},
      {"attributes entry with neither required nor values",
       "attributes = [{ service = \"frontend\" }]\n",
       {"t.toml:10:15: attributes entry needs \"required\" or \"values\""}},
      {"attributes entry naming an unknown service",
       "attributes = [{ service = \"frontnd\", required = [\"x\"] }]\n",
       {"t.toml:10:27: attributes entry names unknown service \"frontnd\" (did you mean "
        "\"frontend\"?)"}},
      {"attributes entry naming a service nothing resembles",
       "attributes = [{ service = \"zzz\", required = [\"x\"] }]\n",
       {"t.toml:10:27: attributes entry names unknown service \"zzz\""}},
      {"attributes entry with an empty service",
       "attributes = [{ service = \"\", required = [\"x\"] }]\n",
       {"t.toml:10:27: \"service\" must not be empty"}},
      {"attributes entry with a misspelt kind",
       "attributes = [{ kind = \"servr\", required = [\"x\"] }]\n",
       {"t.toml:10:24: unknown span kind \"servr\" (did you mean \"server\"?)"}},
      {"attributes entry with an unsupported kind",
       "attributes = [{ kind = \"internal\", required = [\"x\"] }]\n",
       {"t.toml:10:24: unknown span kind \"internal\" (supported: \"server\", \"client\")"}},
      {"attributes entry with a numeric kind",
       "attributes = [{ kind = 2, required = [\"x\"] }]\n",
       {"t.toml:10:24: \"kind\" must be a string, got integer"}},
      {"required as a string",
       "attributes = [{ required = \"http.route\" }]\n",
       {"t.toml:10:28: \"required\" must be an array of attribute keys, got string"}},
      {"required empty",
       "attributes = [{ required = [] }]\n",
       {"t.toml:10:28: \"required\" must list at least one attribute key"}},
      {"required with a number and an empty key",
       "attributes = [{ required = [\"a\", 3, \"\"] }]\n",
       {"t.toml:10:34: each entry of \"required\" must be an attribute key, got integer",
        "t.toml:10:37: each entry of \"required\" must be an attribute key, got an empty string"}},
      {"values as an array",
       "attributes = [{ values = [\"GET\"] }]\n",
       {"t.toml:10:26: \"values\" must be a table, got array"}},
      {"values empty",
       "attributes = [{ values = {} }]\n",
       {"t.toml:10:26: \"values\" must list at least one attribute"}},
      {"value an array",
       "attributes = [{ values = { \"a\" = [1] } }]\n",
       {"t.toml:10:34: attribute \"a\" must be a string, integer, boolean or float, got array"}},
      {"value under an unquoted dotted key",
       "attributes = [{ values = { http.route = \"/x\" } }]\n",
       {"t.toml:10:28: attribute \"http\" must be a string, integer, boolean or float, got table "
        "(to name an attribute \"http.route\", put the key in quotes)"}},
      {"[[expect.attributes]] naming an unknown service",
       "[[expect.attributes]]\nservice = \"paymnt\"\nrequired = [\"x\"]\n",
       {"t.toml:11:11: attributes entry names unknown service \"paymnt\" (did you mean "
        "\"payment\"?)"}},
      {"[[expect.attributes]] with an unknown key",
       "[[expect.attributes]]\nrequired = [\"x\"]\nvalue = { a = 1 }\n",
       {"t.toml:12:1: unknown key \"value\" in attributes entry (did you mean \"values\"?)"}},

      // sampling
      {"sampling as a string",
       "sampling = \"always\"\n",
       {"t.toml:10:12: \"sampling\" must be an array of tables ([[expect.sampling]]), got "
        "string"}},
      {"sampling entry not a table",
       "sampling = [0.5]\n",
       {"t.toml:10:13: each entry of \"sampling\" must be a table, got float"}},
      {"service without ratio",
       "sampling = [{ service = \"payment\" }]\n",
       {"t.toml:10:13: missing required key \"ratio\" in sampling entry"}},
      {"confidence without ratio",
       "sampling = [{ confidence = 0.9 }]\n",
       {"t.toml:10:13: missing required key \"ratio\" in sampling entry"}},
      {"ratio above 1",
       "sampling = [{ service = \"payment\", ratio = 1.5 }]\n",
       {"t.toml:10:44: \"ratio\" must be between 0 and 1, got 1.5"}},
      {"negative trace ratio",
       "sampling = [{ ratio = -0.1 }]\n",
       {"t.toml:10:23: \"ratio\" must be between 0 and 1, got -0.1"}},
      {"ratio as a string",
       "sampling = [{ ratio = \"half\" }]\n",
       {"t.toml:10:23: \"ratio\" must be a number, got string"}},
      {"confidence of 1",
       "sampling = [{ ratio = 0.1, confidence = 1 }]\n",
       {"t.toml:10:41: \"confidence\" must be greater than 0 and less than 1, got 1"}},
      {"confidence of 0",
       "sampling = [{ service = \"payment\", ratio = 0.5, confidence = 0.0 }]\n",
       {"t.toml:10:62: \"confidence\" must be greater than 0 and less than 1, got 0"}},
      {"confidence as a string",
       "sampling = [{ ratio = 0.1, confidence = \"99%\" }]\n",
       {"t.toml:10:41: \"confidence\" must be a number, got string"}},
      {"service ratio naming an unknown service",
       "sampling = [{ service = \"paymnt\", ratio = 0.5 }]\n",
       {"t.toml:10:25: sampling entry names unknown service \"paymnt\" (did you mean "
        "\"payment\"?)"}},
      {"two ratios for one service",
       "sampling = [{ service = \"payment\", ratio = 0.5 },\n"
       "            { service = \"payment\", ratio = 0.4 }]\n",
       {"t.toml:11:25: duplicate sampling ratio for service \"payment\" (first given at line "
        "10)"}},
      {"errors not always",
       "sampling = [{ errors = \"sometimes\" }]\n",
       {"t.toml:10:24: \"errors\" must be \"always\", got \"sometimes\""}},
      {"errors as a boolean",
       "sampling = [{ errors = true }]\n",
       {"t.toml:10:24: \"errors\" must be \"always\", got boolean"}},
      {"traces not whole",
       "sampling = [{ traces = \"partial\" }]\n",
       {"t.toml:10:24: \"traces\" must be \"whole\", got \"partial\""}},
      {"slower_than of zero",
       "sampling = [{ slower_than = \"0ms\" }]\n",
       {"t.toml:10:29: \"slower_than\" must be greater than 0"}},
      {"slower_than as a number",
       "sampling = [{ slower_than = 500 }]\n",
       {"t.toml:10:29: \"slower_than\" must be a duration string such as \"30s\", got integer"}},
      {"slower_than without a unit",
       "sampling = [{ slower_than = \"500\" }]\n",
       {"t.toml:10:29: invalid duration \"500\" for \"slower_than\" (expected a number and one "
        "of the units ns, us, ms, s, m, h, as in \"30s\")"}},
      {"errors and a ratio in one entry",
       "sampling = [{ errors = \"always\", ratio = 0.1 }]\n",
       {"t.toml:10:13: sampling entry mixes forms (\"ratio\" and \"errors\"): an entry is one of " +
        kForms}},
      {"service ratio and whole traces in one entry",
       "sampling = [{ service = \"payment\", ratio = 0.5, traces = \"whole\" }]\n",
       {"t.toml:10:13: sampling entry mixes forms (\"service\" and \"traces\"): an entry is one "
        "of " +
        kForms}},
      {"three forms in one entry",
       "sampling = [{ errors = \"always\", slower_than = \"1s\", traces = \"whole\" }]\n",
       {"t.toml:10:13: sampling entry mixes forms (\"errors\", \"slower_than\" and \"traces\"): "
        "an entry is one of " +
        kForms}},
      {"empty entry",
       "sampling = [{}]\n",
       {"t.toml:10:13: sampling entry needs one of the forms " + kForms}},
      {"only a misspelt key: reported once",
       "sampling = [{ rato = 0.5 }]\n",
       {"t.toml:10:15: unknown key \"rato\" in sampling entry (did you mean \"ratio\"?)"}},
      {"only an unknown key: reported once",
       "sampling = [{ probability = 0.5 }]\n",
       {"t.toml:10:15: unknown key \"probability\" in sampling entry"}},
      {"misspelt confidence",
       "sampling = [{ ratio = 0.1, confidance = 0.9 }]\n",
       {"t.toml:10:28: unknown key \"confidance\" in sampling entry (did you mean "
        "\"confidence\"?)"}},
      {"misspelt key beside a valid form",
       "sampling = [{ errors = \"always\", slower = \"1s\" }]\n",
       {"t.toml:10:34: unknown key \"slower\" in sampling entry"}},
      {"[[expect.sampling]] with a wrong value",
       "[[expect.sampling]]\nerrors = \"never\"\n",
       {"t.toml:11:10: \"errors\" must be \"always\", got \"never\""}},
      {"[[expect.sampling]] duplicate service ratio",
       "[[expect.sampling]]\nservice = \"payment\"\nratio = 0.5\n"
       "[[expect.sampling]]\nservice = \"payment\"\nratio = 0.5\n",
       {"t.toml:14:11: duplicate sampling ratio for service \"payment\" (first given at line "
        "11)"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = ParseScenario("t.toml", kHead + c.text);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(Render(result), c.diagnostics);
  }
}

TEST(ParseExpectTest, AttributeEntriesReachTheModel) {
  const std::string text =
      kHead +
      "attributes = [\n"
      "  { service = \"frontend\", required = [\"http.route\", \"http.response.status_code\"] },\n"
      "  { service = \"payment\", kind = \"server\", values = { \"http.request.method\" = "
      "\"GET\", \"http.response.status_code\" = 200 } },\n"
      "  { kind = \"client\", values = { \"retry\" = true, \"share\" = 0.5, \"whole\" = 2.0, "
      "\"big\" = -9007199254740993, \"off\" = false } },\n"
      "  { required = [\"service.version\"] },\n"
      "]\n";
  const ParseResult result = ParseScenario("t.toml", text);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  const auto& attributes = result.scenario->expect.attributes;
  ASSERT_EQ(attributes.size(), 4u);

  EXPECT_EQ(attributes[0].service, "frontend");
  EXPECT_EQ(attributes[0].kind, SpanKind::kUnspecified);
  EXPECT_THAT(attributes[0].required, ElementsAre("http.route", "http.response.status_code"));
  EXPECT_TRUE(attributes[0].values.empty());
  EXPECT_EQ(attributes[0].where.ToString(), "t.toml:11:3");

  EXPECT_EQ(attributes[1].service, "payment");
  EXPECT_EQ(attributes[1].kind, SpanKind::kServer);
  EXPECT_TRUE(attributes[1].required.empty());
  EXPECT_THAT(attributes[1].values, ElementsAre(Pair("http.request.method", "GET"),
                                                Pair("http.response.status_code", "200")));
  EXPECT_EQ(attributes[1].where.ToString(), "t.toml:12:3");

  // Values render as a span's attribute values do (AttributeValueToString); toml++ keeps a
  // table's keys sorted.
  EXPECT_EQ(attributes[2].service, "");
  EXPECT_EQ(attributes[2].kind, SpanKind::kClient);
  EXPECT_THAT(attributes[2].values,
              ElementsAre(Pair("big", "-9007199254740993"), Pair("off", "false"),
                          Pair("retry", "true"), Pair("share", "0.5"), Pair("whole", "2")));
  EXPECT_EQ(attributes[2].values[4].second, AttributeValueToString(AttributeValue(2.0)));
  EXPECT_EQ(attributes[2].values[0].second,
            AttributeValueToString(AttributeValue(int64_t{-9007199254740993})));

  EXPECT_EQ(attributes[3].service, "");
  EXPECT_EQ(attributes[3].kind, SpanKind::kUnspecified);
  EXPECT_THAT(attributes[3].required, ElementsAre("service.version"));
  EXPECT_EQ(attributes[3].where.ToString(), "t.toml:14:3");
}

TEST(ParseExpectTest, SamplingEntriesReachTheModel) {
  const std::string text = kHead +
                           "sampling = [\n"
                           "  { service = \"payment\", ratio = 0.5, confidence = 0.99 },\n"
                           "  { errors = \"always\" },\n"
                           "  { slower_than = \"500ms\" },\n"
                           "  { ratio = 0.1 },\n"
                           "  { traces = \"whole\" },\n"
                           "  { service = \"frontend\", ratio = 1 },\n"
                           "  { ratio = 0, confidence = 0.9 },\n"
                           "]\n";
  const ParseResult result = ParseScenario("t.toml", text);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  const auto& sampling = result.scenario->expect.sampling;
  ASSERT_EQ(sampling.size(), 7u);
  using Kind = SamplingExpectation::Kind;

  EXPECT_EQ(sampling[0].kind, Kind::kServiceRatio);
  EXPECT_EQ(sampling[0].service, "payment");
  EXPECT_EQ(sampling[0].ratio, 0.5);
  EXPECT_EQ(sampling[0].confidence, 0.99);
  EXPECT_EQ(sampling[0].where.ToString(), "t.toml:11:3");

  EXPECT_EQ(sampling[1].kind, Kind::kErrors);
  EXPECT_EQ(sampling[1].service, "");
  EXPECT_FALSE(sampling[1].confidence.has_value());
  EXPECT_EQ(sampling[1].where.ToString(), "t.toml:12:3");

  EXPECT_EQ(sampling[2].kind, Kind::kSlowerThan);
  EXPECT_EQ(sampling[2].slower_than_ns, 500'000'000u);

  EXPECT_EQ(sampling[3].kind, Kind::kTraceRatio);
  EXPECT_EQ(sampling[3].service, "");
  EXPECT_EQ(sampling[3].ratio, 0.1);
  EXPECT_FALSE(sampling[3].confidence.has_value());

  EXPECT_EQ(sampling[4].kind, Kind::kWholeTraces);
  EXPECT_EQ(sampling[4].where.ToString(), "t.toml:15:3");

  // An integer ratio is a number like any other; 0 and 1 are allowed.
  EXPECT_EQ(sampling[5].kind, Kind::kServiceRatio);
  EXPECT_EQ(sampling[5].service, "frontend");
  EXPECT_EQ(sampling[5].ratio, 1.0);
  EXPECT_FALSE(sampling[5].confidence.has_value());

  EXPECT_EQ(sampling[6].kind, Kind::kTraceRatio);
  EXPECT_EQ(sampling[6].ratio, 0.0);
  EXPECT_EQ(sampling[6].confidence, 0.9);
}

TEST(ParseExpectTest, ArraysOfTablesWorkLikeInlineTables) {
  const std::string text = kHead +
                           "completeness = 0.5\n"
                           "[[expect.attributes]]\n"
                           "service = \"payment\"\n"
                           "kind = \"server\"\n"
                           "required = [\"server.port\"]\n"
                           "values = { \"payment.amount\" = 42.5 }\n"
                           "[[expect.sampling]]\n"
                           "service = \"payment\"\n"
                           "ratio = 0.25\n"
                           "[[expect.sampling]]\n"
                           "traces = \"whole\"\n";
  const ParseResult result = ParseScenario("t.toml", text);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  const Expectations& expect = result.scenario->expect;
  EXPECT_EQ(expect.completeness, 0.5);
  ASSERT_EQ(expect.attributes.size(), 1u);
  EXPECT_EQ(expect.attributes[0].service, "payment");
  EXPECT_EQ(expect.attributes[0].kind, SpanKind::kServer);
  EXPECT_THAT(expect.attributes[0].required, ElementsAre("server.port"));
  EXPECT_THAT(expect.attributes[0].values, ElementsAre(Pair("payment.amount", "42.5")));
  EXPECT_EQ(expect.attributes[0].where.ToString(), "t.toml:11:1");
  ASSERT_EQ(expect.sampling.size(), 2u);
  EXPECT_EQ(expect.sampling[0].kind, SamplingExpectation::Kind::kServiceRatio);
  EXPECT_EQ(expect.sampling[0].service, "payment");
  EXPECT_EQ(expect.sampling[0].ratio, 0.25);
  EXPECT_EQ(expect.sampling[0].where.ToString(), "t.toml:16:1");
  EXPECT_EQ(expect.sampling[1].kind, SamplingExpectation::Kind::kWholeTraces);
  EXPECT_EQ(expect.sampling[1].where.ToString(), "t.toml:19:1");
}

TEST(ParseExpectTest, EmptyListsAndAbsentKeysExpectNothing) {
  const ParseResult listed = ParseScenario("t.toml", kHead + "attributes = []\nsampling = []\n");
  ASSERT_TRUE(listed.ok()) << ::testing::PrintToString(Render(listed));
  EXPECT_TRUE(listed.scenario->expect.attributes.empty());
  EXPECT_TRUE(listed.scenario->expect.sampling.empty());
  const ParseResult absent = ParseScenario("t.toml", kHead);
  ASSERT_TRUE(absent.ok()) << ::testing::PrintToString(Render(absent));
  EXPECT_TRUE(absent.scenario->expect.attributes.empty());
  EXPECT_TRUE(absent.scenario->expect.sampling.empty());
}

// An external service's spans are expected in the backend like any other, so expectations may
// name it.
TEST(ParseExpectTest, ExpectationsMayNameAnExternalService) {
  const std::string text =
      "[scenario]\nname = \"t\"\n"
      "[[services]]\nname = \"a\"\n"
      "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"GetX\" }] }]\n"
      "[[services]]\nname = \"x\"\nurl = \"http://127.0.0.1:9000\"\nroutes = [{ name = \"GetX\" "
      "}]\n"
      "[expect]\n"
      "attributes = [{ service = \"x\", required = [\"rpc.method\"] }]\n"
      "sampling = [{ service = \"x\", ratio = 1 }]\n";
  const ParseResult result = ParseScenario("t.toml", text);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  ASSERT_EQ(result.scenario->expect.attributes.size(), 1u);
  EXPECT_EQ(result.scenario->expect.attributes[0].service, "x");
  ASSERT_EQ(result.scenario->expect.sampling.size(), 1u);
  EXPECT_EQ(result.scenario->expect.sampling[0].service, "x");
}

}  // namespace
}  // namespace tracerig
