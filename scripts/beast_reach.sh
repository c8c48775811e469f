#!/bin/sh
# Counts our own translation units (src/, tests/, bench/ .cc files; generated proto excluded) whose
# ninja dependency list (ninja -t deps) contains a boost/beast or boost/asio header. A TU is an
# object file, identified by its source (the first dependency); a source compiled into two
# targets counts twice.
# Usage: scripts/beast_reach.sh BUILD_DIR [-v]   (-v also lists the reached sources)
BUILD=${1:-build}
VERBOSE=${2:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ninja -C "$BUILD" -t deps | awk -v verbose="$VERBOSE" -v root="$ROOT/" '
  /^[^ \t].*: #deps/ { obj = $1; want_source = 1; cur = ""; next }
  want_source {
    want_source = 0
    src = $1; sub(/^(\.\.\/)+/, "", src)
    if (index(src, root) == 1) src = substr(src, length(root) + 1)
    if (src ~ /^(src|tests|bench)\/.*\.cc$/ && src !~ /\.pb\.cc$/) {
      cur = obj; split(src, p, "/"); grp[cur] = p[1]; name[cur] = src; total[p[1]]++
    }
    next
  }
  cur != "" && /boost\/(beast|asio)/ { if (!(cur in hit)) { hit[cur] = 1; reached[grp[cur]]++ } }
  END {
    n = 0; t = 0
    split("src tests bench", gs, " ")
    for (i = 1; i <= 3; i++) {
      g = gs[i]; printf "%-6s %3d of %3d translation units reach Beast/Asio\n", g, reached[g] + 0, total[g] + 0
      n += reached[g]; t += total[g]
    }
    printf "%-6s %3d of %3d\n", "total", n, t
    if (verbose == "-v") for (o in hit) print "  " name[o] | "sort"
  }'
