// Writing JSON as text, for encoders on the export hot path (OTLP/JSON, Zipkin v2 JSON): building
// an nlohmann document first is many times slower. Output is always valid JSON and valid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tracerig {

// U+FFFD, what invalid UTF-8 bytes become.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when it is not one
// (RFC 3629: no overlongs, surrogates or code points beyond U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Appends `s` as a quoted JSON string. Invalid UTF-8 becomes U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace tracerig
