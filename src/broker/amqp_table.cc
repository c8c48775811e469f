// Converting between tracerig's message headers and AMQP field tables.
#include "broker/amqp_table.h"

#include <fmt/format.h>

#include <string_view>

namespace tracerig {
namespace {

amqp_bytes_t Bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string_view View(const amqp_bytes_t& b) { return {static_cast<const char*>(b.bytes), b.len}; }

std::string DecimalText(const amqp_decimal_t& d) {
  std::string digits = std::to_string(d.value);
  if (d.decimals == 0) return digits;
  while (digits.size() <= d.decimals) digits.insert(0, "0");
  digits.insert(digits.size() - d.decimals, ".");
  return digits;
}

}  // namespace

amqp_table_t HeadersTable(const std::vector<MessageHeader>& headers,
                          std::vector<amqp_table_entry_t>& entries) {
  entries.resize(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) {
    entries[i].key = Bytes(headers[i].name);
    entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[i].value.value.bytes = Bytes(headers[i].value);
  }
  return amqp_table_t{static_cast<int>(entries.size()), entries.data()};
}

std::vector<MessageHeader> HeadersFromTable(const amqp_table_t& table) {
  std::vector<MessageHeader> headers;
  headers.reserve(table.num_entries);
  for (int i = 0; i < table.num_entries; ++i) {
    headers.push_back(
        {std::string(View(table.entries[i].key)), FieldValueText(table.entries[i].value)});
  }
  return headers;
}

std::string FieldValueText(const amqp_field_value_t& value) {
  const auto& v = value.value;
  switch (value.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
      return std::string(View(v.bytes));
    case AMQP_FIELD_KIND_BOOLEAN:
      return v.boolean ? "true" : "false";
    case AMQP_FIELD_KIND_I8:
      return std::to_string(v.i8);
    case AMQP_FIELD_KIND_U8:
      return std::to_string(v.u8);
    case AMQP_FIELD_KIND_I16:
      return std::to_string(v.i16);
    case AMQP_FIELD_KIND_U16:
      return std::to_string(v.u16);
    case AMQP_FIELD_KIND_I32:
      return std::to_string(v.i32);
    case AMQP_FIELD_KIND_U32:
      return std::to_string(v.u32);
    case AMQP_FIELD_KIND_I64:
      return std::to_string(v.i64);
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
      return std::to_string(v.u64);
    case AMQP_FIELD_KIND_F32:
      return fmt::format("{}", v.f32);
    case AMQP_FIELD_KIND_F64:
      return fmt::format("{}", v.f64);
    case AMQP_FIELD_KIND_DECIMAL:
      return DecimalText(v.decimal);
    case AMQP_FIELD_KIND_VOID:
      return "";
    case AMQP_FIELD_KIND_ARRAY: {
      std::string out = "[";
      for (int i = 0; i < v.array.num_entries; ++i) {
        if (i > 0) out += ", ";
        out += FieldValueText(v.array.entries[i]);
      }
      return out + "]";
    }
    case AMQP_FIELD_KIND_TABLE: {
      std::string out = "{";
      for (int i = 0; i < v.table.num_entries; ++i) {
        if (i > 0) out += ", ";
        out += std::string(View(v.table.entries[i].key)) + ": " +
               FieldValueText(v.table.entries[i].value);
      }
      return out + "}";
    }
  }
  return fmt::format("<field kind '{}'>", static_cast<char>(value.kind));
}

}  // namespace tracerig
