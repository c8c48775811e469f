// ParseScenario reports every problem of a file in one pass: an invalid option does not hide the
// name, reachability, cycle and fault checks of the second pass. Also its warnings (problems that
// do not stop a run), and why a scenario file cannot be read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "topology/parse.h"

namespace tracerig {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Render(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> lines;
  for (const auto& d : diagnostics) lines.push_back(d.ToString());
  return lines;
}

ParseResult Parse(const std::string& text) { return ParseScenario("t.toml", text, {}); }

// Line 9 is a's call to b, open for an option; b calls a back (a cycle, reported at 14:10) and
// nothing calls c (unreachable, 16:8).
std::string CycleAndUnreachable(const std::string& option) {
  return "[scenario]\nname = \"t\"\n"
         "[load]\nentries = [{ service = \"a\", route = \"R\" }]\n"
         "[[services]]\nname = \"a\"\n[[services.routes]]\nname = \"R\"\n"
         "calls = [{ service = \"b\", route = \"S\", " +
         option +
         " }]\n"
         "[[services]]\nname = \"b\"\n[[services.routes]]\nname = \"S\"\n"
         "calls = [{ service = \"a\", route = \"R\" }]\n"
         "[[services]]\nname = \"c\"\n[[services.routes]]\nname = \"T\"\n";
}

constexpr const char* kCycle = "t.toml:14:10: call cycle: a R -> b S -> a R";
constexpr const char* kUnreachable =
    "t.toml:16:8: service \"c\" is unreachable: no call and no load entry names it";

struct OptionCase {
  const char* option;      // written into a's call on line 9, from column 40
  const char* diagnostic;  // its own problem
};

TEST(ParseDiagnosticsTest, InvalidCallOptionsHideNoCycleOrUnreachableService) {
  const OptionCase cases[] = {
      {"timeout = \"0s\"", "t.toml:9:50: \"timeout\" must be greater than 0"},
      {"retries = -1", "t.toml:9:50: \"retries\" must be 0 or greater, got -1"},
      {"probability = 0", "t.toml:9:54: probability 0 means the call never happens; remove it"},
      {"probability = 2", "t.toml:9:54: \"probability\" must be between 0 and 1, got 2"},
      {"repeat = 0", "t.toml:9:49: \"repeat\" must be 1 or greater, got 0"},
      {"retry_backoff = \"10ms\"",
       "t.toml:9:56: \"retry_backoff\" needs \"retries\" (the wait before each retry)"},
      {"request_bytes = -1", "t.toml:9:56: \"request_bytes\" must be 0 or greater, got -1"},
      {"timout = \"1s\"",
       "t.toml:9:40: unknown key \"timout\" in call (did you mean \"timeout\"?)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.option);
    const ParseResult result = Parse(CycleAndUnreachable(c.option));
    EXPECT_FALSE(result.ok());
    EXPECT_THAT(Render(result.diagnostics), ElementsAre(c.diagnostic, kCycle, kUnreachable));
  }
}

// The same with the call inside a parallel group.
TEST(ParseDiagnosticsTest, InvalidParallelCallOptionHidesNothing) {
  std::string text = CycleAndUnreachable("timeout = \"1s\"");
  const std::string call = "calls = [{ service = \"b\", route = \"S\", timeout = \"1s\" }]";
  text.replace(text.find(call), call.size(),
               "calls = [{ parallel = [{ service = \"b\", route = \"S\", timeout = \"0s\" }] }]");
  EXPECT_THAT(Render(Parse(text).diagnostics),
              ElementsAre("t.toml:9:64: \"timeout\" must be greater than 0", kCycle, kUnreachable));
}

struct InvalidCase {
  const char* label;
  std::string text;
  std::vector<std::string> diagnostics;
};

// Eight lines: a R calls b S; a case's own text starts on line 9 (a [[faults]] table).
const std::string kPair =
    "[scenario]\nname = \"t\"\n"
    "[[services]]\nname = \"a\"\n"
    "routes = [{ name = \"R\", calls = [{ service = \"b\", route = \"S\" }] }]\n"
    "[[services]]\nname = \"b\"\nroutes = [{ name = \"S\" }]\n";

// A fault or expectation with an invalid key is still checked against the services it names.
TEST(ParseDiagnosticsTest, InvalidKeysHideNoUnknownName) {
  const InvalidCase cases[] = {
      {"unknown service and probability above 1",
       kPair + "[[faults]]\nkind = \"drop-context\"\nservice = \"nowhere\"\nprobability = 2\n",
       {"t.toml:11:11: fault names unknown service \"nowhere\"",
        "t.toml:12:15: \"probability\" must be between 0 and 1, got 2"}},
      {"unknown service and amount 0",
       kPair + "[[faults]]\nkind = \"clock-skew\"\nservice = \"nowhere\"\namount = \"0s\"\n",
       {"t.toml:11:11: fault names unknown service \"nowhere\"",
        "t.toml:12:10: \"amount\" 0 means the fault changes nothing; remove the fault"}},
      {"unknown kind and unknown route",
       kPair + "[[faults]]\nkind = \"drop-contxt\"\nservice = \"b\"\nroute = \"Nowhere\"\n",
       {"t.toml:10:8: unknown fault kind \"drop-contxt\" (did you mean \"drop-context\"?)",
        "t.toml:12:9: fault names unknown route \"Nowhere\" of service \"b\""}},
      // An unknown kind may not be an edge fault: b making no calls is not held against it.
      {"unknown kind on a service without calls",
       kPair + "[[faults]]\nkind = \"drop-contxt\"\nservice = \"b\"\n",
       {"t.toml:10:8: unknown fault kind \"drop-contxt\" (did you mean \"drop-context\"?)"}},
      {"window backwards and unknown callee",
       kPair + "[[faults]]\nkind = \"drop-context\"\nservice = \"a\"\ncallee = \"nowhere\"\n"
               "window = [\"20s\", \"10s\"]\n",
       {"t.toml:12:10: service \"a\" makes no call to \"nowhere\"",
        "t.toml:13:10: fault window start (20s) must be before its end (10s)"}},
      {"wrong format misspelt and unknown service",
       kPair + "[[faults]]\nkind = \"wrong-format\"\nservice = \"nowhere\"\nformat = \"b4\"\n",
       {"t.toml:11:11: fault names unknown service \"nowhere\"",
        "t.toml:12:10: unknown propagation format \"b4\" (did you mean \"b3\"?)"}},
      {"empty route and a window after the load",
       kPair + "[[faults]]\nkind = \"drop-span\"\nservice = \"b\"\nroute = \"\"\n"
               "window = [\"1h\", \"2h\"]\n",
       {"t.toml:12:9: \"route\" must not be empty",
        "t.toml:13:10: fault window starts at 3600s, when the load is over (it lasts 5s)"}},
      // The same for an [expect] sampling entry.
      {"sampling entry mixing forms names an unknown service",
       kPair + "[expect]\nsampling = [{ service = \"nowhere\", errors = \"always\" }]\n",
       {"t.toml:10:13: sampling entry mixes forms (\"service\" and \"errors\"): an entry is one "
        "of { service, ratio }, { ratio }, { errors = \"always\" }, { slower_than = DURATION } "
        "or { traces = \"whole\" }",
        "t.toml:10:25: sampling entry names unknown service \"nowhere\""}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = Parse(c.text);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(Render(result.diagnostics), c.diagnostics);
  }
}

// Eight lines: the load's first entry is "front", whose sampling is line 7's, from column 12;
// `more` follows, and `entries` are more load entries on line 4.
std::string EntryWithSampling(const std::string& sampling, const std::string& more = "",
                              const std::string& entries = "") {
  return "[scenario]\nname = \"t\"\n"
         "[load]\nentries = [{ service = \"front\", route = \"R\" }" +
         entries +
         "]\n"
         "[[services]]\nname = \"front\"\nsampling = \"" +
         sampling + "\"\nroutes = [{ name = \"R\" }]\n" + more;
}

struct WarningCase {
  const char* label;
  std::string text;
  std::vector<std::string> warnings;
};

TEST(ParseDiagnosticsTest, WarningsSayWhatHasNoEffect) {
  const std::string kUnused =
      "t.toml:7:12: service \"front\" is a load entry and gets requests only from the driver, "
      "which sends every one with a sampled flag; its sampling \"parent-based(0.5)\" follows "
      "that flag and never uses the ratio 0.5 (write \"ratio(0.5)\" to sample at the entry)";
  const WarningCase cases[] = {
      {"parent-based ratio at a load entry", EntryWithSampling("parent-based(0.5)"), {kUnused}},
      {"parent-based ratio on the default entry, from [defaults]",
       "[scenario]\nname = \"t\"\n[defaults]\nsampling = \"parent-based(0.25)\"\n"
       "[[services]]\nname = \"front\"\nroutes = [{ name = \"R\" }]\n",
       {"t.toml:4:12: service \"front\" is a load entry and gets requests only from the driver, "
        "which sends every one with a sampled flag; its sampling \"parent-based(0.25)\" follows "
        "that flag and never uses the ratio 0.25 (write \"ratio(0.25)\" to sample at the entry)"}},
      {"parent-based ratio from a template",
       "[scenario]\nname = \"t\"\n[[templates]]\nname = \"edge\"\n"
       "sampling = \"parent-based(0.5)\"\n"
       "[[services]]\nname = \"front\"\ntemplate = \"edge\"\nroutes = [{ name = \"R\" }]\n",
       {"t.toml:5:12: service \"front\" is a load entry and gets requests only from the driver, "
        "which sends every one with a sampled flag; its sampling \"parent-based(0.5)\" follows "
        "that flag and never uses the ratio 0.5 (write \"ratio(0.5)\" to sample at the entry)"}},
      {"plain parent-based", EntryWithSampling("parent-based"), {}},
      {"parent-based(1)", EntryWithSampling("parent-based(1)"), {}},
      {"ratio at a load entry", EntryWithSampling("ratio(0.5)"), {}},
      // Baggage carries no sampled flag: the entry has no parent and the ratio decides.
      {"entry reading only baggage",
       "[scenario]\nname = \"t\"\n[[services]]\nname = \"front\"\n"
       "sampling = \"parent-based(0.5)\"\npropagation = [\"baggage\"]\n"
       "routes = [{ name = \"R\" }]\n",
       {}},
      // Requests from another service may come without a context the entry can read.
      {"entry also called by a service",
       EntryWithSampling("parent-based(0.5)",
                         "[[services]]\nname = \"back\"\n"
                         "routes = [{ name = \"S\", calls = [{ service = \"front\", route = \"R\" "
                         "}] }]\n",
                         ", { service = \"back\", route = \"S\" }"),
       {}},
      // A new-trace fault ignores the driver's context: the ratio decides then.
      {"entry with a new-trace fault",
       EntryWithSampling("parent-based(0.5)",
                         "[[faults]]\nkind = \"new-trace\"\nservice = \"front\"\n"),
       {}},
      {"parent-based ratio on a service that is not an entry",
       EntryWithSampling("always",
                         "[[services]]\nname = \"back\"\n"
                         "sampling = \"parent-based(0.5)\"\n"
                         "routes = [{ name = \"S\" }]\n"
                         "[[services]]\nname = \"mid\"\n"
                         "routes = [{ name = \"M\", calls = [{ service = \"back\", "
                         "route = \"S\" }] }]\n",
                         ", { service = \"mid\", route = \"M\" }"),
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = Parse(c.text);
    EXPECT_THAT(Render(result.diagnostics), IsEmpty());
    EXPECT_TRUE(result.ok());
    EXPECT_EQ(Render(result.warnings), c.warnings);
  }
}

TEST(ParseDiagnosticsTest, WarningsComeWithErrors) {
  const ParseResult result =
      Parse(EntryWithSampling("parent-based(0.5)", "[expect]\ncompleteness = 2\n"));
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(Render(result.diagnostics),
              ElementsAre("t.toml:10:16: \"completeness\" must be between 0 and 1, got 2"));
  EXPECT_EQ(result.warnings.size(), 1u);
}

TEST(ParseDiagnosticsTest, ReadScenarioFileSaysWhy) {
  const Result<std::string> missing = ReadScenarioFile("/nonexistent/x.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "No such file or directory");
  const Result<std::string> directory = ReadScenarioFile("/");
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().message, "Is a directory");
}

}  // namespace
}  // namespace tracerig
