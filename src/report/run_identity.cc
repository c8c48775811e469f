#include "report/run_identity.h"

#include <cstdint>

#include <fmt/format.h>

namespace tracerig {

std::string ContentRunId(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits: stable across builds and platforms
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", hash);
}

std::string RunIdOf(const RunReport& report) {
  if (!report.run_id.empty()) return report.run_id;
  // The unit separator keeps fields from running into each other.
  return ContentRunId(fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", report.started_unix_nano,
                                  report.scenario_name, report.scenario_file, report.seed,
                                  report.backend, report.tracerig_version));
}

std::vector<MergedRun> RunsOf(const RunReport& report, const std::string& file) {
  if (!report.merged_from.empty()) return report.merged_from;
  return {MergedRun{report.run_id, file, report.load.sent, !report.verification_skipped}};
}

std::string UnverifiedNote(const RunReport& report) {
  uint64_t unverified = 0;
  std::vector<std::string> files;
  for (const MergedRun& run : report.merged_from) {
    if (run.verified) continue;
    unverified += run.requests;
    files.push_back(run.file);
  }
  if (files.empty()) return "";
  return fmt::format("; {} of {} requests not verified (from {}, run with --no-verify)",
                     unverified, report.load.sent, fmt::join(files, ", "));
}

}  // namespace tracerig
