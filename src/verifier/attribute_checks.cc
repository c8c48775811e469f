// The `[expect.attributes]` check on one span identified with an expected span (classify.h).
#include <fmt/format.h>

#include "verifier/classify.h"

namespace tracerig {

std::vector<Violation> CheckAttributes(const ExpectedSpan& expected, const Span& span,
                                       const std::vector<AttributeExpectation>& expectations) {
  std::vector<Violation> violations;
  for (const AttributeExpectation& want : expectations) {
    if (want.service.empty() ? expected.service == kDriverServiceName
                             : want.service != expected.service) {
      continue;
    }
    if (want.kind != SpanKind::kUnspecified && want.kind != expected.kind) continue;
    const AttributeValue* value = span.FindAttribute(want.key);
    if (value == nullptr) {
      for (const Attribute& a : span.resource_attributes) {
        if (a.key == want.key) {
          value = &a.value;
          break;
        }
      }
    }
    const std::string what = fmt::format("{} span of {} at hop {}", SpanKindName(expected.kind),
                                         expected.service, expected.hop);
    if (value == nullptr) {
      violations.push_back(Violation{"attribute", expected.hop, expected.service,
                                     fmt::format("{} lacks {}", what, want.key)});
      continue;
    }
    if (!want.value) continue;
    std::string actual = AttributeValueToString(*value);
    if (actual != *want.value) {
      violations.push_back(Violation{
          "attribute", expected.hop, expected.service,
          fmt::format("{} has {} = \"{}\", expected \"{}\"", what, want.key, actual, *want.value)});
    }
  }
  return violations;
}

}  // namespace tracerig
