// Headers to and from AMQP field tables: order and repeated names kept, other field kinds a real
// broker may send rendered as text.
#include "broker/amqp_table.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

amqp_bytes_t B(const char* s) { return amqp_cstring_bytes(s); }

TEST(AmqpTable, HeadersRoundTripWithRepeatedNamesInOrder) {
  const std::vector<MessageHeader> headers = {
      {"traceparent", "a"}, {"tracestate", "x=1"}, {"traceparent", "b"}, {"empty", ""}};
  std::vector<amqp_table_entry_t> scratch;
  const amqp_table_t table = HeadersTable(headers, scratch);
  ASSERT_EQ(table.num_entries, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(table.entries[i].value.kind, AMQP_FIELD_KIND_UTF8);
  EXPECT_EQ(HeadersFromTable(table), headers);
  // The scratch vector is reused: a shorter table after a longer one.
  const std::vector<MessageHeader> one = {{"k", "v"}};  // the table points into it
  const amqp_table_t shorter = HeadersTable(one, scratch);
  EXPECT_EQ(HeadersFromTable(shorter), one);
  const std::vector<MessageHeader> none;
  EXPECT_EQ(HeadersFromTable(HeadersTable(none, scratch)).size(), 0u);
}

TEST(AmqpTable, FieldValuesAsText) {
  struct Case {
    amqp_field_value_t value;
    std::string_view text;
  };
  auto v = [](uint8_t kind) {
    amqp_field_value_t f{};
    f.kind = kind;
    return f;
  };
  std::vector<Case> cases;
  {
    auto f = v(AMQP_FIELD_KIND_BOOLEAN);
    f.value.boolean = 1;
    cases.push_back({f, "true"});
    f.value.boolean = 0;
    cases.push_back({f, "false"});
  }
  {
    auto f = v(AMQP_FIELD_KIND_I8);
    f.value.i8 = -5;
    cases.push_back({f, "-5"});
  }
  {
    auto f = v(AMQP_FIELD_KIND_U16);
    f.value.u16 = 65535;
    cases.push_back({f, "65535"});
  }
  {
    auto f = v(AMQP_FIELD_KIND_I32);
    f.value.i32 = -2147483647;
    cases.push_back({f, "-2147483647"});
  }
  {
    auto f = v(AMQP_FIELD_KIND_I64);
    f.value.i64 = 1234567890123;
    cases.push_back({f, "1234567890123"});
  }
  {
    auto f = v(AMQP_FIELD_KIND_TIMESTAMP);
    f.value.u64 = 1700000000;
    cases.push_back({f, "1700000000"});
  }
  {
    auto f = v(AMQP_FIELD_KIND_F64);
    f.value.f64 = 1.5;
    cases.push_back({f, "1.5"});
  }
  {
    auto f = v(AMQP_FIELD_KIND_DECIMAL);
    f.value.decimal = {2, 12345};
    cases.push_back({f, "123.45"});
    f.value.decimal = {3, 5};
    cases.push_back({f, "0.005"});
  }
  cases.push_back({v(AMQP_FIELD_KIND_VOID), ""});
  {
    auto f = v(AMQP_FIELD_KIND_BYTES);
    f.value.bytes = B("raw");
    cases.push_back({f, "raw"});
  }
  amqp_field_value_t items[2];
  items[0] = v(AMQP_FIELD_KIND_UTF8);
  items[0].value.bytes = B("a");
  items[1] = v(AMQP_FIELD_KIND_I32);
  items[1].value.i32 = 7;
  {
    auto f = v(AMQP_FIELD_KIND_ARRAY);
    f.value.array = {2, items};
    cases.push_back({f, "[a, 7]"});
  }
  amqp_table_entry_t entries[2] = {{B("x"), items[0]}, {B("n"), items[1]}};
  {
    auto f = v(AMQP_FIELD_KIND_TABLE);
    f.value.table = {2, entries};
    cases.push_back({f, "{x: a, n: 7}"});
  }
  for (const Case& c : cases) {
    EXPECT_EQ(FieldValueText(c.value), c.text)
        << "kind '" << static_cast<char>(c.value.kind) << "'";
  }
}

}  // namespace
}  // namespace tracerig
