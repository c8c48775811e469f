// The ledger file format: exact lines written, round trips, and every parse error message.
#include "driver/ledger_io.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/rng.h"

namespace tracerig {
namespace {

constexpr char kHeader[] = "{\"tracerig_ledger\":1,\"scenario\":\"shop\",\"seed\":42}\n";
constexpr char kNotALedger[] =
    "run.ledger:1: not a tracerig ledger: the first line must be {\"tracerig_ledger\":1,...}";

LedgerEntry SampleEntry() {
  LedgerEntry e;
  e.sequence = 7;
  e.trace_id = TraceId{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull};
  e.root_span_id = SpanId{0x00f067aa0ba902b7ull};
  e.request_id = 0x1a;
  e.entry = 1;
  e.sampled = true;
  e.intended_unix_nano = 1'700'000'000'000'000'000ull;
  e.start_unix_nano = 1'700'000'000'000'050'000ull;
  e.end_unix_nano = 1'700'000'000'012'345'678ull;
  e.http_status = 200;
  e.outcome = RequestOutcome::kOk;
  return e;
}

void ExpectSameEntry(const LedgerEntry& got, const LedgerEntry& want) {
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.trace_id, want.trace_id);
  EXPECT_EQ(got.root_span_id, want.root_span_id);
  EXPECT_EQ(got.request_id, want.request_id);
  EXPECT_EQ(got.entry, want.entry);
  EXPECT_EQ(got.sampled, want.sampled);
  EXPECT_EQ(got.intended_unix_nano, want.intended_unix_nano);
  EXPECT_EQ(got.start_unix_nano, want.start_unix_nano);
  EXPECT_EQ(got.end_unix_nano, want.end_unix_nano);
  EXPECT_EQ(got.http_status, want.http_status);
  EXPECT_EQ(got.outcome, want.outcome);
}

// SampleEntry's line with one field replaced (or removed when `value` is null).
std::string EntryLineWith(const std::string& field, const nlohmann::ordered_json& value) {
  auto object = nlohmann::ordered_json::parse(LedgerEntryLine(SampleEntry()));
  if (value.is_null()) {
    object.erase(field);
  } else {
    object[field] = value;
  }
  return object.dump() + "\n";
}

TEST(LedgerIoTest, HeaderLine) {
  EXPECT_EQ(LedgerHeaderLine("shop", 42), kHeader);
  EXPECT_EQ(LedgerHeaderLine("a \"quoted\" \\ name", UINT64_MAX),
            "{\"tracerig_ledger\":1,\"scenario\":\"a \\\"quoted\\\" \\\\ name\","
            "\"seed\":18446744073709551615}\n");
  // Invalid UTF-8 in a name is replaced, not thrown on: the ledger must still be written.
  EXPECT_EQ(LedgerHeaderLine("bad\xff", 1),
            "{\"tracerig_ledger\":1,\"scenario\":\"bad\xef\xbf\xbd\",\"seed\":1}\n");
}

// The scenario file's hash lets `verify` refuse an edited scenario; ledgers without it still parse.
TEST(LedgerIoTest, ScenarioHashIsWrittenAndReadBack) {
  EXPECT_EQ(ScenarioContentHash(""), "fnv1a64:cbf29ce484222325");
  EXPECT_EQ(ScenarioContentHash("a"), "fnv1a64:af63dc4c8601ec8c");
  EXPECT_NE(ScenarioContentHash("[scenario]\n"), ScenarioContentHash("[scenario]\n\n"));
  const std::string hash = ScenarioContentHash("[scenario]\nname = \"shop\"\n");
  const std::string line = LedgerHeaderLine("shop", 42, hash);
  EXPECT_EQ(line, "{\"tracerig_ledger\":1,\"scenario\":\"shop\",\"seed\":42,\"scenario_hash\":\"" +
                      hash + "\"}\n");
  auto file = ParseLedger("run.ledger", line);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->scenario_hash, hash);
  auto old = ParseLedger("run.ledger", kHeader);
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->scenario_hash, "");
  auto bad = ParseLedger(
      "run.ledger", "{\"tracerig_ledger\":1,\"scenario\":\"s\",\"seed\":1,\"scenario_hash\":5}\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "run.ledger:1: field \"scenario_hash\" must be a string");
}

TEST(LedgerIoTest, EntryLine) {
  EXPECT_EQ(LedgerEntryLine(SampleEntry()),
            "{\"sequence\":7,\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
            "\"root_span_id\":\"00f067aa0ba902b7\",\"request_id\":\"000000000000001a\","
            "\"entry\":1,\"sampled\":true,\"intended_unix_nano\":1700000000000000000,"
            "\"start_unix_nano\":1700000000000050000,\"end_unix_nano\":1700000000012345678,"
            "\"http_status\":200,\"outcome\":\"ok\"}\n");
}

TEST(LedgerIoTest, OutcomeNames) {
  for (auto outcome :
       {RequestOutcome::kOk, RequestOutcome::kHttpError, RequestOutcome::kTransportError}) {
    EXPECT_EQ(ParseRequestOutcome(RequestOutcomeName(outcome)), outcome);
  }
  EXPECT_EQ(RequestOutcomeName(RequestOutcome::kHttpError), "http_error");
  EXPECT_EQ(RequestOutcomeName(RequestOutcome::kTransportError), "transport_error");
  EXPECT_FALSE(ParseRequestOutcome("OK"));
  EXPECT_FALSE(ParseRequestOutcome(""));
}

TEST(LedgerIoTest, RoundTrip) {
  Ledger ledger;
  ledger.push_back(SampleEntry());
  LedgerEntry http_error = SampleEntry();
  http_error.sequence = 8;
  http_error.entry = 0;
  http_error.sampled = false;
  http_error.http_status = 503;
  http_error.outcome = RequestOutcome::kHttpError;
  ledger.push_back(http_error);
  LedgerEntry extremes;
  extremes.sequence = UINT64_MAX;
  extremes.trace_id = TraceId{UINT64_MAX, UINT64_MAX};
  extremes.root_span_id = SpanId{UINT64_MAX};
  extremes.request_id = UINT64_MAX;
  extremes.entry = UINT32_MAX;
  extremes.intended_unix_nano = UINT64_MAX;
  extremes.start_unix_nano = 0;
  extremes.end_unix_nano = UINT64_MAX;
  extremes.http_status = 0;
  extremes.outcome = RequestOutcome::kTransportError;
  ledger.push_back(extremes);

  std::string text = LedgerHeaderLine("shop \"v2\"", UINT64_MAX);
  for (const auto& e : ledger) text += LedgerEntryLine(e);

  auto file = ParseLedger("run.ledger", text);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->scenario, "shop \"v2\"");
  EXPECT_EQ(file->seed, UINT64_MAX);
  ASSERT_EQ(file->entries.size(), ledger.size());
  for (size_t i = 0; i < ledger.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectSameEntry(file->entries[i], ledger[i]);
  }
}

TEST(LedgerIoTest, HeaderOnlyLedgerHasNoEntries) {
  auto file = ParseLedger("run.ledger", kHeader);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->scenario, "shop");
  EXPECT_EQ(file->seed, 42u);
  EXPECT_TRUE(file->entries.empty());
}

TEST(LedgerIoTest, ToleratesCrlfBlankLinesMissingFinalNewlineUppercaseAndUnknownFields) {
  std::string entry = LedgerEntryLine(SampleEntry());
  entry.pop_back();  // no final newline
  std::string upper = EntryLineWith("trace_id", "4BF92F3577B34DA6A3CE929D0E0E4736");
  upper.insert(upper.size() - 2, ",\"added_later\":{\"x\":[1]}");
  const std::string text = "\n{\"tracerig_ledger\":1,\"scenario\":\"shop\",\"seed\":42}\r\n\r\n" +
                           upper + "  \n" + entry;
  auto file = ParseLedger("run.ledger", text);
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_EQ(file->entries.size(), 2u);
  ExpectSameEntry(file->entries[0], SampleEntry());
  ExpectSameEntry(file->entries[1], SampleEntry());
}

struct ErrorRow {
  std::string name;
  std::string text;
  std::string error;
};

TEST(LedgerIoTest, HeaderErrors) {
  const std::vector<ErrorRow> rows = {
      {"empty", "", "run.ledger: empty ledger: no header line"},
      {"only_blank_lines", "\n \n\r\n", "run.ledger: empty ledger: no header line"},
      {"truncated_json", "{\"tracerig_ledger\":1,\"scenario\":\"s\"",
       "run.ledger:1:36: invalid JSON (syntax error while parsing object - unexpected end of "
       "input; expected '}')"},
      {"trailing_garbage", "{\"tracerig_ledger\":1} x",
       "run.ledger:1:23: invalid JSON (syntax error while parsing value - invalid literal)"},
      {"not_an_object", "[1]\n", kNotALedger},
      {"some_other_json", "{\"scenario\":\"s\",\"seed\":1}\n", kNotALedger},
      {"version_2", "{\"tracerig_ledger\":2,\"scenario\":\"s\",\"seed\":1}\n",
       "run.ledger:1: unsupported ledger version 2 (this tracerig reads version 1)"},
      {"version_string", "{\"tracerig_ledger\":\"1\",\"scenario\":\"s\",\"seed\":1}\n",
       "run.ledger:1: field \"tracerig_ledger\" must be an unsigned integer"},
      {"missing_scenario", "{\"tracerig_ledger\":1,\"seed\":1}\n",
       "run.ledger:1: missing field \"scenario\""},
      {"scenario_not_string", "{\"tracerig_ledger\":1,\"scenario\":5,\"seed\":1}\n",
       "run.ledger:1: field \"scenario\" must be a string"},
      {"missing_seed", "{\"tracerig_ledger\":1,\"scenario\":\"s\"}\n",
       "run.ledger:1: missing field \"seed\""},
      {"negative_seed", "{\"tracerig_ledger\":1,\"scenario\":\"s\",\"seed\":-1}\n",
       "run.ledger:1: field \"seed\" must be an unsigned integer"},
      {"fractional_seed", "{\"tracerig_ledger\":1,\"scenario\":\"s\",\"seed\":1.5}\n",
       "run.ledger:1: field \"seed\" must be an unsigned integer"},
      {"seed_beyond_64_bits",
       "{\"tracerig_ledger\":1,\"scenario\":\"s\",\"seed\":18446744073709551616}\n",
       "run.ledger:1: field \"seed\" must be an unsigned integer"},
      {"header_after_blank_line_counts_lines", "\n\n[]",
       "run.ledger:3: not a tracerig ledger: the first line must be {\"tracerig_ledger\":1,...}"},
  };
  for (const auto& r : rows) {
    auto file = ParseLedger("run.ledger", r.text);
    ASSERT_FALSE(file) << r.name;
    EXPECT_EQ(file.error().message, r.error) << r.name;
  }
}

TEST(LedgerIoTest, EntryErrors) {
  const std::string unsigned_int = "must be an unsigned integer";
  const std::string status_range = "field \"http_status\" must be an integer from 0 to 999";
  const std::string outcome_values =
      "field \"outcome\" must be \"ok\", \"http_error\" or \"transport_error\"";
  const std::vector<ErrorRow> rows = {
      {"array", "[]\n", "expected a ledger entry object {...}"},
      {"header_again", kHeader, "missing field \"sequence\""},
      {"invalid_json", "{\"sequence\":,}\n",
       "3:13: invalid JSON (syntax error while parsing value - unexpected ','; expected '[', '{', "
       "or a literal)"},
      {"number_overflow", "{\"sequence\":1e999}\n",
       "3: invalid JSON (number overflow parsing '1e999')"},
      {"invalid_utf8", "{\"x\":\"\xff\"}\n",
       "3:7: invalid JSON (syntax error while parsing value - invalid string: ill-formed UTF-8 "
       "byte)"},
      {"sequence_string", EntryLineWith("sequence", "7"), "field \"sequence\" " + unsigned_int},
      {"sequence_negative", EntryLineWith("sequence", -7), "field \"sequence\" " + unsigned_int},
      {"trace_id_short", EntryLineWith("trace_id", std::string(31, 'a')),
       "field \"trace_id\" must be 32 hex digits"},
      {"trace_id_long", EntryLineWith("trace_id", std::string(33, 'a')),
       "field \"trace_id\" must be 32 hex digits"},
      {"trace_id_not_hex", EntryLineWith("trace_id", "4bf92f3577b34da6a3ce929d0e0e473g"),
       "field \"trace_id\" must be 32 hex digits"},
      {"trace_id_number", EntryLineWith("trace_id", 12),
       "field \"trace_id\" must be 32 hex digits"},
      {"trace_id_zero", EntryLineWith("trace_id", std::string(32, '0')),
       "field \"trace_id\" must not be all zeros"},
      {"root_span_id_short", EntryLineWith("root_span_id", "f067aa0ba902b7"),
       "field \"root_span_id\" must be 16 hex digits"},
      {"root_span_id_zero", EntryLineWith("root_span_id", std::string(16, '0')),
       "field \"root_span_id\" must not be all zeros"},
      {"request_id_long", EntryLineWith("request_id", std::string(17, '1')),
       "field \"request_id\" must be 16 hex digits"},
      {"request_id_space", EntryLineWith("request_id", " 00000000000001a"),
       "field \"request_id\" must be 16 hex digits"},
      {"entry_too_big", EntryLineWith("entry", uint64_t{1} << 32),
       "field \"entry\" must be below 2^32"},
      {"entry_float", EntryLineWith("entry", 1.0), "field \"entry\" " + unsigned_int},
      {"sampled_string", EntryLineWith("sampled", "true"),
       "field \"sampled\" must be true or false"},
      {"sampled_number", EntryLineWith("sampled", 1), "field \"sampled\" must be true or false"},
      {"intended_negative", EntryLineWith("intended_unix_nano", -1),
       "field \"intended_unix_nano\" " + unsigned_int},
      {"start_float", EntryLineWith("start_unix_nano", 1.5e18),
       "field \"start_unix_nano\" " + unsigned_int},
      {"end_string", EntryLineWith("end_unix_nano", "1"),
       "field \"end_unix_nano\" " + unsigned_int},
      {"status_too_big", EntryLineWith("http_status", 1000), status_range},
      {"status_negative", EntryLineWith("http_status", -1), status_range},
      {"status_string", EntryLineWith("http_status", "200"), status_range},
      {"outcome_capitalised", EntryLineWith("outcome", "OK"), outcome_values},
      {"outcome_number", EntryLineWith("outcome", 0), outcome_values},
  };
  // Line 2 is a good entry, so every error is on line 3.
  const std::string prefix = kHeader + LedgerEntryLine(SampleEntry());
  for (const auto& r : rows) {
    auto file = ParseLedger("run.ledger", prefix + r.text);
    ASSERT_FALSE(file) << r.name;
    const std::string separator = r.error.starts_with("3") ? "" : "3: ";
    EXPECT_EQ(file.error().message, "run.ledger:" + separator + r.error) << r.name;
  }
}

TEST(LedgerIoTest, EveryMissingFieldIsNamed) {
  const auto fields = nlohmann::json::parse(LedgerEntryLine(SampleEntry()));
  ASSERT_EQ(fields.size(), 11u);
  for (const auto& [name, value] : fields.items()) {
    auto file = ParseLedger("run.ledger", kHeader + EntryLineWith(name, nullptr));
    ASSERT_FALSE(file) << name;
    EXPECT_EQ(file.error().message, "run.ledger:2: missing field \"" + name + "\"");
  }
}

TEST(LedgerIoTest, NeverCrashesOnMangledInput) {
  std::string good = LedgerHeaderLine("shop", 42);
  for (int i = 0; i < 3; ++i) good += LedgerEntryLine(SampleEntry());
  const char interesting[] = {'"',  '{',  '}', '[', ']', ':',    ',',   '\\',
                              '\n', '\0', '-', '9', 'e', '\xff', '\xc3'};
  Rng rng(1234);
  int failures = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = good;
    const int edits = 1 + static_cast<int>(rng.Next() % 4);
    for (int k = 0; k < edits && !text.empty(); ++k) {
      const size_t at = rng.Next() % text.size();
      const char c = interesting[rng.Next() % sizeof(interesting)];
      switch (rng.Next() % 4) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 2:
          text.erase(at, 1);
          break;
        case 3:
          text.resize(at);
          break;
      }
    }
    auto file = ParseLedger("run.ledger", text);
    if (!file) {
      ++failures;
      ASSERT_TRUE(file.error().message.starts_with("run.ledger:")) << file.error().message;
    }
  }
  EXPECT_GT(failures, 1000);  // the mutations really do break most files

  const std::string deep = std::string(kHeader) + std::string(200'000, '[');
  auto file = ParseLedger("run.ledger", deep);
  ASSERT_FALSE(file);
  EXPECT_TRUE(file.error().message.starts_with("run.ledger:2:200001: invalid JSON"))
      << file.error().message;
}

}  // namespace
}  // namespace tracerig
