#include "core/ledger.h"

namespace tracerig {

std::string FormatRequestId(uint64_t request_id) {
  std::string s(16, '0');
  WriteHex(request_id, 16, s.data());
  return s;
}

}  // namespace tracerig
