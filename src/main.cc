// tracerig: the thin executable. Everything lives in the component libraries; see src/cli.
#include "cli/cli.h"

int main(int argc, char** argv) { return tracerig::RunCli(argc, argv); }
