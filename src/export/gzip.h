// gzip (RFC 1952) for HTTP Content-Encoding: gzip: the senders compress request bodies with it,
// the embedded backend's receivers inflate them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tracerig {

std::string GzipCompress(std::string_view data);
// Accepts concatenated gzip members, as RFC 1952 allows. Fails with kResourceExhausted
// ("decompressed body exceeds N bytes") as soon as the output would grow beyond max_size, and with a
// reason on corrupt or truncated input.
Result<std::string> GzipDecompress(std::string_view data, size_t max_size);

}  // namespace tracerig
