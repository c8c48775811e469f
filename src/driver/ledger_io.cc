#include "driver/ledger_io.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace tracerig {
namespace {

using nlohmann::json;

// nlohmann's parse errors read "[json.exception.parse_error.101] parse error at line 1, column 6:
// syntax error while parsing value - invalid literal; last read: '...'". Keep the reason only:
// the position is reported our way, and "last read" may quote arbitrary bytes.
std::string ParseErrorReason(const json::parse_error& e) {
  std::string_view what = e.what();
  const size_t column = what.find("column ");
  if (column != std::string_view::npos) {
    const size_t colon = what.find(": ", column);
    if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
  }
  const size_t last_read = what.find("; last read");
  if (last_read != std::string_view::npos) what = what.substr(0, last_read);
  return std::string(what);
}

// "[json.exception.out_of_range.406] number overflow parsing '1e999'" without the tag.
std::string ExceptionReason(const json::exception& e) {
  std::string_view what = e.what();
  const size_t tag_end = what.find("] ");
  if (tag_end != std::string_view::npos) what.remove_prefix(tag_end + 2);
  return std::string(what);
}

// Reads the fields of one line's object, turning every problem into "source:line: problem".
class LineFields {
 public:
  LineFields(std::string_view source, size_t line, const json& object)
      : source_(source), line_(line), object_(object) {}

  Error Fail(std::string_view problem) const {
    return MakeError(fmt::format("{}:{}: {}", source_, line_, problem));
  }

  bool Has(const char* name) const { return object_.contains(name); }

  Result<const json*> Get(const char* name) const {
    const auto it = object_.find(name);
    if (it == object_.end()) return Fail(fmt::format("missing field \"{}\"", name));
    return &*it;
  }

  Result<uint64_t> Unsigned(const char* name) const {
    auto value = Get(name);
    if (!value) return value.error();
    if (!(*value)->is_number_unsigned()) {
      return Fail(fmt::format("field \"{}\" must be an unsigned integer", name));
    }
    return (*value)->get<uint64_t>();
  }

  Result<std::string_view> String(const char* name) const {
    auto value = Get(name);
    if (!value) return value.error();
    if (!(*value)->is_string()) return Fail(fmt::format("field \"{}\" must be a string", name));
    return std::string_view((*value)->get_ref<const std::string&>());
  }

  // Exactly `digits` hex digits (either case), not all zero.
  Result<std::string_view> Hex(const char* name, size_t digits) const {
    auto value = Get(name);
    if (!value) return value.error();
    if ((*value)->is_string()) {
      const auto& s = (*value)->get_ref<const std::string&>();
      if (s.size() == digits && s.find_first_not_of("0123456789abcdefABCDEF") == s.npos) {
        return std::string_view(s);
      }
    }
    return Fail(fmt::format("field \"{}\" must be {} hex digits", name, digits));
  }

 private:
  std::string_view source_;
  size_t line_;
  const json& object_;
};

Result<LedgerFile> ParseHeader(const LineFields& fields) {
  if (!fields.Has("tracerig_ledger")) {
    return fields.Fail("not a tracerig ledger: the first line must be {\"tracerig_ledger\":1,...}");
  }
  auto version = fields.Unsigned("tracerig_ledger");
  if (!version) return version.error();
  if (*version != static_cast<uint64_t>(kLedgerFormatVersion)) {
    return fields.Fail(fmt::format("unsupported ledger version {} (this tracerig reads version {})",
                                   *version, kLedgerFormatVersion));
  }
  auto scenario = fields.String("scenario");
  if (!scenario) return scenario.error();
  auto seed = fields.Unsigned("seed");
  if (!seed) return seed.error();
  LedgerFile file;
  file.scenario = std::string(*scenario);
  file.seed = *seed;
  if (fields.Has("scenario_hash")) {
    auto hash = fields.String("scenario_hash");
    if (!hash) return hash.error();
    file.scenario_hash = std::string(*hash);
  }
  return file;
}

Result<LedgerEntry> ParseEntry(const LineFields& fields) {
  LedgerEntry e;

  auto sequence = fields.Unsigned("sequence");
  if (!sequence) return sequence.error();
  e.sequence = *sequence;

  auto trace_id = fields.Hex("trace_id", 32);
  if (!trace_id) return trace_id.error();
  e.trace_id = *TraceId::FromHex(*trace_id);
  if (!e.trace_id.IsValid()) return fields.Fail("field \"trace_id\" must not be all zeros");

  auto root_span_id = fields.Hex("root_span_id", 16);
  if (!root_span_id) return root_span_id.error();
  e.root_span_id = *SpanId::FromHex(*root_span_id);
  if (!e.root_span_id.IsValid()) return fields.Fail("field \"root_span_id\" must not be all zeros");

  auto request_id = fields.Hex("request_id", 16);
  if (!request_id) return request_id.error();
  e.request_id = *ParseHex64(*request_id);

  auto entry = fields.Unsigned("entry");
  if (!entry) return entry.error();
  if (*entry > UINT32_MAX) return fields.Fail("field \"entry\" must be below 2^32");
  e.entry = static_cast<uint32_t>(*entry);

  auto sampled = fields.Get("sampled");
  if (!sampled) return sampled.error();
  if (!(*sampled)->is_boolean()) return fields.Fail("field \"sampled\" must be true or false");
  e.sampled = (*sampled)->get<bool>();

  auto intended = fields.Unsigned("intended_unix_nano");
  if (!intended) return intended.error();
  e.intended_unix_nano = *intended;
  auto start = fields.Unsigned("start_unix_nano");
  if (!start) return start.error();
  e.start_unix_nano = *start;
  auto end = fields.Unsigned("end_unix_nano");
  if (!end) return end.error();
  e.end_unix_nano = *end;

  auto status = fields.Unsigned("http_status");
  if (!status && !fields.Has("http_status")) return status.error();
  if (!status || *status > 999) {
    return fields.Fail("field \"http_status\" must be an integer from 0 to 999");
  }
  e.http_status = static_cast<int>(*status);

  auto outcome_name = fields.String("outcome");
  auto outcome = outcome_name ? ParseRequestOutcome(*outcome_name) : std::nullopt;
  if (!outcome) {
    if (!fields.Has("outcome")) return outcome_name.error();
    return fields.Fail("field \"outcome\" must be \"ok\", \"http_error\" or \"transport_error\"");
  }
  e.outcome = *outcome;
  return e;
}

}  // namespace

std::string_view RequestOutcomeName(RequestOutcome outcome) {
  switch (outcome) {
    case RequestOutcome::kOk:
      return "ok";
    case RequestOutcome::kHttpError:
      return "http_error";
    case RequestOutcome::kTransportError:
      return "transport_error";
  }
  return "transport_error";  // unreachable for valid enum values
}

std::optional<RequestOutcome> ParseRequestOutcome(std::string_view name) {
  if (name == "ok") return RequestOutcome::kOk;
  if (name == "http_error") return RequestOutcome::kHttpError;
  if (name == "transport_error") return RequestOutcome::kTransportError;
  return std::nullopt;
}

std::string ScenarioContentHash(std::string_view file_text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : file_text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return fmt::format("fnv1a64:{:016x}", hash);
}

std::string LedgerHeaderLine(std::string_view scenario, uint64_t seed,
                             std::string_view scenario_hash) {
  nlohmann::ordered_json header;
  header["tracerig_ledger"] = kLedgerFormatVersion;
  header["scenario"] = std::string(scenario);
  header["seed"] = seed;
  if (!scenario_hash.empty()) header["scenario_hash"] = std::string(scenario_hash);
  // Replace (rather than throw on) invalid UTF-8 in the name: the ledger must still be written.
  return header.dump(-1, ' ', false, json::error_handler_t::replace) + '\n';
}

std::string LedgerEntryLine(const LedgerEntry& e) {
  // Every field is a number, a boolean or hex, so nothing needs escaping: format directly, this
  // runs once per request.
  return fmt::format(
      "{{\"sequence\":{},\"trace_id\":\"{}\",\"root_span_id\":\"{}\",\"request_id\":\"{}\","
      "\"entry\":{},\"sampled\":{},\"intended_unix_nano\":{},\"start_unix_nano\":{},"
      "\"end_unix_nano\":{},\"http_status\":{},\"outcome\":\"{}\"}}\n",
      e.sequence, e.trace_id.ToHex(), e.root_span_id.ToHex(), FormatRequestId(e.request_id),
      e.entry, e.sampled, e.intended_unix_nano, e.start_unix_nano, e.end_unix_nano, e.http_status,
      RequestOutcomeName(e.outcome));
}

Result<LedgerFile> ParseLedger(std::string_view source_name, std::string_view text) {
  std::optional<LedgerFile> file;  // set once the header is read
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == text.npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == line.npos) continue;

    json object;
    try {
      object = json::parse(line);
    } catch (const json::parse_error& e) {
      return MakeError(fmt::format("{}:{}:{}: invalid JSON ({})", source_name, line_number, e.byte,
                                   ParseErrorReason(e)));
    } catch (const json::exception& e) {
      // Syntactically fine but unrepresentable, e.g. a number like 1e999 (out_of_range.406).
      return MakeError(
          fmt::format("{}:{}: invalid JSON ({})", source_name, line_number, ExceptionReason(e)));
    }
    const LineFields fields(source_name, line_number, object);
    if (!object.is_object()) {
      return fields.Fail(file ? "expected a ledger entry object {...}"
                              : "not a tracerig ledger: the first line must be "
                                "{\"tracerig_ledger\":1,...}");
    }
    if (!file) {
      auto header = ParseHeader(fields);
      if (!header) return header.error();
      file = std::move(*header);
      continue;
    }
    auto entry = ParseEntry(fields);
    if (!entry) return entry.error();
    file->entries.push_back(std::move(*entry));
  }
  if (!file) return MakeError(fmt::format("{}: empty ledger: no header line", source_name));
  return std::move(*file);
}

}  // namespace tracerig
