// ReadIngestBody: Content-Encoding, the size limits and gzip inflation shared by the OTLP/HTTP and
// Zipkin ingest handlers, one row per outcome; and that 413 or 400 follows GzipDecompress's code.
#include "backend/ingest_body.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "export/gzip.h"

namespace tracerig {
namespace {

constexpr size_t kLimit = 4096;

// Distinguishable from both handlers' quoting, so the row shows which one was used.
std::string Angle(std::string_view s) { return "<" + std::string(s) + ">"; }

enum class Counter { kNone, kUnsupportedMedia, kTooLarge, kBadData };

struct BodyCase {
  const char* name;
  std::string content_encoding;
  std::string body;
  unsigned status;  // 0: accepted
  ErrorCode code;   // when rejected
  std::string message;
  std::string bytes;  // when accepted: what the handler decodes
  Counter counter;
};

TEST(IngestBodyTest, Table) {
  const std::string payload = "{\"resourceSpans\":[]}";
  const std::string gzipped = GzipCompress(payload);
  const std::string bomb = GzipCompress(std::string(1 << 20, '\0'));
  const std::string too_big(kLimit + 1, 'x');

  const BodyCase cases[] = {
      {"no encoding", "", payload, 0, ErrorCode::kUnknown, "", payload, Counter::kNone},
      {"identity", "identity", payload, 0, ErrorCode::kUnknown, "", payload, Counter::kNone},
      {"identity, any case and blanks", " \tIdentity ", payload, 0, ErrorCode::kUnknown, "",
       payload, Counter::kNone},
      {"gzip", "gzip", gzipped, 0, ErrorCode::kUnknown, "", payload, Counter::kNone},
      {"gzip, any case and blanks", " GZIP ", gzipped, 0, ErrorCode::kUnknown, "", payload,
       Counter::kNone},
      {"exactly the limit", "", std::string(kLimit, 'x'), 0, ErrorCode::kUnknown, "",
       std::string(kLimit, 'x'), Counter::kNone},
      {"unknown encoding", "br", payload, 415, ErrorCode::kInvalidArgument,
       "unsupported content encoding <br>; use gzip or none", "", Counter::kUnsupportedMedia},
      {"encoding list", "gzip, gzip", gzipped, 415, ErrorCode::kInvalidArgument,
       "unsupported content encoding <gzip, gzip>; use gzip or none", "",
       Counter::kUnsupportedMedia},
      {"unknown encoding echoed as sent", " Zstd", payload, 415, ErrorCode::kInvalidArgument,
       "unsupported content encoding < Zstd>; use gzip or none", "", Counter::kUnsupportedMedia},
      {"body over the limit", "", too_big, 413, ErrorCode::kResourceExhausted,
       "request body of 4097 bytes exceeds the limit of 4096", "", Counter::kTooLarge},
      {"gzip body over the limit", "gzip", too_big, 413, ErrorCode::kResourceExhausted,
       "request body of 4097 bytes exceeds the limit of 4096", "", Counter::kTooLarge},
      {"gzip that inflates over the limit", "gzip", bomb, 413, ErrorCode::kResourceExhausted,
       "gzip body decompresses to more than 4096 bytes", "", Counter::kTooLarge},
      {"not gzip", "gzip", "not gzip", 400, ErrorCode::kInvalidArgument,
       "cannot decompress gzip body: gzip: corrupt input: incorrect header check", "",
       Counter::kBadData},
      {"empty gzip", "gzip", "", 400, ErrorCode::kInvalidArgument,
       "cannot decompress gzip body: gzip: empty input", "", Counter::kBadData},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    IngestCounters counters;
    std::string inflated;
    const HttpRequestView request{"POST", "/v1/traces", "application/json", c.content_encoding,
                                  c.body};
    const IngestBody body =
        ReadIngestBody(request, IngestLimits{kLimit}, Angle, counters, inflated);
    if (c.status == 0) {
      ASSERT_FALSE(body.rejected) << body.rejected->error.message;
      EXPECT_EQ(body.bytes, c.bytes);
    } else {
      ASSERT_TRUE(body.rejected);
      EXPECT_EQ(body.rejected->http_status, c.status);
      EXPECT_EQ(body.rejected->error.code, c.code) << ErrorCodeName(body.rejected->error.code);
      EXPECT_EQ(body.rejected->error.message, c.message);
    }
    EXPECT_EQ(counters.requests_rejected.load(), c.status == 0 ? 0u : 1u);
    EXPECT_EQ(counters.rejected_unsupported_media.load(),
              c.counter == Counter::kUnsupportedMedia ? 1u : 0u);
    EXPECT_EQ(counters.rejected_too_large.load(), c.counter == Counter::kTooLarge ? 1u : 0u);
    EXPECT_EQ(counters.rejected_bad_data.load(), c.counter == Counter::kBadData ? 1u : 0u);
    // Counting the request itself is the handler's.
    EXPECT_EQ(counters.requests.load(), 0u);
  }
}

// Truncated gzip is corrupt, not too large, even though inflation stops early.
TEST(IngestBodyTest, TruncatedGzipIs400) {
  std::string truncated = GzipCompress(std::string(1000, 'x'));
  truncated.resize(truncated.size() / 2);
  IngestCounters counters;
  std::string inflated;
  const IngestBody body =
      ReadIngestBody(HttpRequestView{"POST", "/", "application/json", "gzip", truncated},
                     IngestLimits{kLimit}, Angle, counters, inflated);
  ASSERT_TRUE(body.rejected);
  EXPECT_EQ(body.rejected->http_status, 400u);
  EXPECT_TRUE(body.rejected->error.message.starts_with("cannot decompress gzip body: "))
      << body.rejected->error.message;
}

// The 413/400 decision reads GzipDecompress's code: over the limit is kResourceExhausted, with
// its documented message; corrupt input is anything else.
TEST(IngestBodyTest, GzipDecompressCodes) {
  struct Case {
    const char* name;
    std::string input;
    size_t max_size;
    bool exhausted;
  };
  std::string truncated = GzipCompress(std::string(1000, 'x'));
  truncated.resize(truncated.size() / 2);
  const Case cases[] = {
      {"bomb", GzipCompress(std::string(1 << 20, '\0')), 4096, true},
      {"one byte over", GzipCompress(std::string(4097, 'a')), 4096, true},
      {"corrupt", "not gzip", 4096, false},
      {"truncated", truncated, 4096, false},
      {"empty", "", 4096, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto out = GzipDecompress(c.input, c.max_size);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code == ErrorCode::kResourceExhausted, c.exhausted)
        << ErrorCodeName(out.error().code) << ": " << out.error().message;
    if (c.exhausted) {
      EXPECT_EQ(out.error().message, "decompressed body exceeds 4096 bytes");
    }
  }
  EXPECT_TRUE(GzipDecompress(GzipCompress(std::string(4096, 'a')), 4096).ok());
}

}  // namespace
}  // namespace tracerig
