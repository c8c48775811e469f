// tracerig's command line: subcommands, flags, help texts and exit codes (documented in README.md).
#pragma once

namespace tracerig {

int RunCli(int argc, char** argv);

}  // namespace tracerig
