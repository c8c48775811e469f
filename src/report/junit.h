// JUnit XML rendering of a RunReport, so CI systems (Jenkins, GitLab, GitHub test reporters) show
// each check of a run as a test case without plugins. Pure and deterministic: the same report
// always renders to the same bytes. Layout documented in docs/REPORT.md.
#pragma once

#include <string>
#include <string_view>

#include "report/run_report.h"

namespace tracerig {

// <testsuites> with one <testsuite name="tracerig.<scenario>">, one <testcase> per check (failed
// checks carry <failure>), plus a "verification" test case with <error> when the backend could not
// be queried, a "run" test case with <error> for other infrastructure failures, and a skipped
// "verification" test case when nothing was checked, so a suite is never empty.
std::string RenderJUnit(const RunReport& report);

// Escapes text for XML element content: & < > as entities, \r as a character reference, and
// anything XML 1.0 cannot carry (other control characters, invalid UTF-8, U+FFFE/U+FFFF) as U+FFFD.
std::string EscapeXmlText(std::string_view text);
// As EscapeXmlText, and also " ' \t \n so that attribute value normalisation keeps them.
std::string EscapeXmlAttribute(std::string_view text);

}  // namespace tracerig
