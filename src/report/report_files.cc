#include "report/report_files.h"

#include <fmt/format.h>

#include "core/text.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/markdown.h"
#include "report/render.h"

namespace tracerig {

Result<ReportFormatSet> ParseReportFormatList(std::string_view text) {
  ReportFormatSet formats;
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view f = TrimSpaceAndTab(rest.substr(0, comma));
    if (f == "junit") {
      formats.junit = true;
    } else if (f == "markdown") {
      formats.markdown = true;
    } else if (f == "html") {
      formats.html = true;
    } else if (f == "json") {
      formats.json = true;
    } else {
      constexpr std::string_view kFormats[] = {"json", "junit", "markdown", "html"};
      return MakeError(
          fmt::format("--report: unknown format \"{}\"{} (formats: json, junit, "
                      "markdown, html)",
                      f, DidYouMean(f, kFormats, 2)));
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return formats;
}

std::vector<Result<std::string>> WriteReports(const RunReport& report, const std::string& dir,
                                              const ReportFormatSet& formats) {
  ReportFormatSet with_json = formats;
  with_json.json = true;
  return WriteListedReports(report, dir, with_json);
}

std::vector<Result<std::string>> WriteListedReports(const RunReport& report,
                                                    const std::string& dir,
                                                    const ReportFormatSet& formats) {
  std::vector<Result<std::string>> written;
  if (formats.json) written.push_back(WriteJsonReport(report, dir));
  if (formats.junit) written.push_back(WriteReportFile(dir, "report.xml", RenderJUnit(report)));
  if (formats.markdown) written.push_back(WriteReportFile(dir, "report.md", RenderMarkdown(report)));
  if (formats.html) written.push_back(WriteReportFile(dir, "report.html", RenderHtmlReport(report)));
  return written;
}

}  // namespace tracerig
