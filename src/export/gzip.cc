// gzip compression and bounded decompression over zlib.
#include "export/gzip.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <new>

namespace tracerig {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper
constexpr size_t kMaxZlibChunk = std::numeric_limits<uInt>::max();

Bytef* ToBytef(const char* p) { return reinterpret_cast<Bytef*>(const_cast<char*>(p)); }

}  // namespace

std::string GzipCompress(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::bad_alloc();  // the only way deflateInit2 fails with valid parameters
  }
  std::string out(deflateBound(&zs, std::min<size_t>(data.size(), kMaxZlibChunk)), '\0');
  size_t produced = 0;
  size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && consumed < data.size()) {
      const size_t chunk = std::min(data.size() - consumed, kMaxZlibChunk);
      zs.next_in = ToBytef(data.data() + consumed);
      zs.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = ToBytef(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxZlibChunk));
    rc = deflate(&zs, consumed == data.size() ? Z_FINISH : Z_NO_FLUSH);
    produced = static_cast<size_t>(reinterpret_cast<char*>(zs.next_out) - out.data());
    if (rc == Z_STREAM_ERROR) break;  // cannot happen with a valid stream; avoid looping forever
  }
  deflateEnd(&zs);
  out.resize(produced);
  return out;
}

Result<std::string> GzipDecompress(std::string_view data, size_t max_size) {
  if (data.empty()) return MakeError("gzip: empty input");
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) return MakeError("gzip: out of memory");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};

  // One byte past the limit, so that exceeding it is detected rather than silently truncated.
  const size_t capacity_limit = max_size == SIZE_MAX ? SIZE_MAX : max_size + 1;
  std::string out(std::min(capacity_limit, std::max<size_t>(data.size() * 4, 4096)), '\0');
  size_t produced = 0;
  size_t consumed = 0;
  for (;;) {
    if (zs.avail_in == 0 && consumed < data.size()) {
      const size_t chunk = std::min(data.size() - consumed, kMaxZlibChunk);
      zs.next_in = ToBytef(data.data() + consumed);
      zs.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    if (produced == out.size()) {
      if (out.size() >= capacity_limit) {
        return MakeError(ErrorCode::kResourceExhausted,
                         fmt::format("decompressed body exceeds {} bytes", max_size));
      }
      out.resize(out.size() > capacity_limit / 2 ? capacity_limit : out.size() * 2);
    }
    zs.next_out = ToBytef(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxZlibChunk));
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = static_cast<size_t>(reinterpret_cast<char*>(zs.next_out) - out.data());
    if (produced > max_size) {
      return MakeError(ErrorCode::kResourceExhausted,
                       fmt::format("decompressed body exceeds {} bytes", max_size));
    }
    switch (rc) {
      case Z_OK:
        break;
      case Z_STREAM_END:
        if (zs.avail_in == 0 && consumed == data.size()) {
          out.resize(produced);
          return out;
        }
        inflateReset(&zs);  // another gzip member follows
        break;
      case Z_BUF_ERROR:
        // No progress possible with output space left: the input ended inside the stream.
        if (zs.avail_out != 0) return MakeError("gzip: truncated input");
        break;
      case Z_MEM_ERROR:
        return MakeError("gzip: out of memory");
      default:
        return MakeError(
            fmt::format("gzip: corrupt input: {}", zs.msg != nullptr ? zs.msg : "invalid data"));
    }
  }
}

}  // namespace tracerig
