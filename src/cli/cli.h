// tracerig's command line: subcommands, flags, help texts and exit codes
// (see ../shared/reference/cli.md and README.md).
#pragma once

namespace tracerig {

int RunCli(int argc, char** argv);

}  // namespace tracerig
