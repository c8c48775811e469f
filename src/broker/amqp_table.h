// Message headers <-> AMQP field tables (rabbitmq-c's amqp_table_t): tracerig writes every value
// as a long string ('S'), keeps order and repeated names, and renders a received table's other
// field kinds as text.
#pragma once

#include <amqp.h>

#include <string>
#include <vector>

#include "broker/broker.h"

namespace tracerig {

// Views of tracerig's strings as rabbitmq-c bytes (no copy), and copies back.
inline amqp_bytes_t AmqpBytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
inline std::string AmqpString(const amqp_bytes_t& b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

// Points `entries` (reused between calls: no allocation once it is large enough) at `headers`'
// strings and returns a table over them; valid while both live and are unchanged.
amqp_table_t HeadersTable(const std::vector<MessageHeader>& headers,
                          std::vector<amqp_table_entry_t>& entries);

// The entries of a received table, in order.
std::vector<MessageHeader> HeadersFromTable(const amqp_table_t& table);

// A field value as text: strings and byte strings as they are, numbers in decimal, booleans as
// "true"/"false", a decimal as digits with its point, void as "", arrays as "[a, b]" and tables as
// "{k: v, ...}".
std::string FieldValueText(const amqp_field_value_t& value);

}  // namespace tracerig
