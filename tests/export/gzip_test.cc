// gzip: round trips, the exact size limit, corrupt and truncated input, concatenated members, and
// an OTLP body carried through it.
#include "export/gzip.h"

#include <gtest/gtest.h>

#include "core/rng.h"
#include "export/otlp_codec.h"
#include "tests/export/otlp_codec_test_support.h"

namespace tracerig {
namespace {

using otlp_test_support::EverySpanFeature;

std::string SeededBytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::string s(n, '\0');
  // Half random, half repetitive: exercises both stored and compressed deflate blocks.
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 2 == 0 ? rng.Next() : i % 7);
  return s;
}

TEST(GzipTest, RoundTrips) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
    SCOPED_TRACE(n);
    const std::string data = SeededBytes(n, n + 1);
    const std::string compressed = GzipCompress(data);
    ASSERT_GE(compressed.size(), 18u);  // header + trailer
    EXPECT_EQ(static_cast<uint8_t>(compressed[0]), 0x1f);
    EXPECT_EQ(static_cast<uint8_t>(compressed[1]), 0x8b);
    auto back = GzipDecompress(compressed, n);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, data);
  }
}

TEST(GzipTest, EnforcesTheSizeLimitExactly) {
  const std::string data(100000, 'a');  // compresses ~1000:1, the classic bomb shape
  const std::string compressed = GzipCompress(data);
  auto at_limit = GzipDecompress(compressed, data.size());
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  EXPECT_EQ(at_limit->size(), data.size());
  auto over = GzipDecompress(compressed, data.size() - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, "decompressed body exceeds 99999 bytes");
  auto tiny = GzipDecompress(compressed, 0);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().message, "decompressed body exceeds 0 bytes");
}

TEST(GzipTest, ReportsCorruptAndTruncatedInput) {
  const std::string compressed = GzipCompress("hello, hello, hello, tracerig");
  struct Case {
    const char* name;
    std::string input;
    const char* error;
  };
  std::string bad_crc = compressed;
  bad_crc[bad_crc.size() - 5] ^= 0x01;  // last byte of the CRC32 trailer
  std::string bad_magic = compressed;
  bad_magic[0] = 'x';
  const Case cases[] = {
      {"empty", "", "gzip: empty input"},
      {"not gzip", "plain text body", "gzip: corrupt input: incorrect header check"},
      {"bad magic", bad_magic, "gzip: corrupt input: incorrect header check"},
      {"bad crc", bad_crc, "gzip: corrupt input: incorrect data check"},
      {"truncated trailer", compressed.substr(0, compressed.size() - 4), "gzip: truncated input"},
      {"header only", compressed.substr(0, 10), "gzip: truncated input"},
      {"trailing garbage", compressed + "junk", "gzip: corrupt input: incorrect header check"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto out = GzipDecompress(c.input, 1 << 20);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().message, c.error);
  }
}

TEST(GzipTest, AcceptsConcatenatedMembers) {
  auto out = GzipDecompress(GzipCompress("first,") + GzipCompress("second"), 1 << 20);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "first,second");
}

TEST(GzipTest, CarriesAnOtlpBody) {
  const std::vector<Span> spans = EverySpanFeature();
  const std::string body = EncodeOtlpProtobuf(spans);
  auto unzipped = GzipDecompress(GzipCompress(body), 4 << 20);
  ASSERT_TRUE(unzipped.ok());
  auto decoded = DecodeOtlpProtobuf(*unzipped);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, spans);
}

}  // namespace
}  // namespace tracerig
