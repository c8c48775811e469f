#include "core/ids.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

TEST(TraceIdTest, HexRoundTrip) {
  auto id = TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->high, 0x4bf92f3577b34da6ull);
  EXPECT_EQ(id->low, 0xa3ce929d0e0e4736ull);
  EXPECT_EQ(id->ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceIdTest, ShortIdsArePaddedAndCompareAsIntegers) {
  // Backends print 64-bit ids as 16 hex digits, some strip leading zeros.
  auto a = TraceId::FromHex("00000000000000000000000000abcdef");
  auto b = TraceId::FromHex("abcdef");
  auto c = TraceId::FromHex("ABCDEF");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*b, *c);
}

TEST(TraceIdTest, RejectsBadHex) {
  EXPECT_FALSE(TraceId::FromHex(""));
  EXPECT_FALSE(TraceId::FromHex("xyz"));
  EXPECT_FALSE(TraceId::FromHex(std::string(33, 'a')));
  EXPECT_FALSE(SpanId::FromHex(std::string(17, 'a')));
}

TEST(TraceIdTest, BytesRoundTrip) {
  TraceId id{0x0102030405060708ull, 0x090a0b0c0d0e0f10ull};
  auto bytes = id.ToBytes();
  EXPECT_EQ(bytes[0], 0x01);
  EXPECT_EQ(bytes[15], 0x10);
  EXPECT_EQ(TraceId::FromBytes(bytes.data()), id);
  SpanId s{0x1122334455667788ull};
  EXPECT_EQ(SpanId::FromBytes(s.ToBytes().data()), s);
  EXPECT_EQ(s.ToHex(), "1122334455667788");
}

}  // namespace
}  // namespace tracerig
