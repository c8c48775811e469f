#include "topology/message_headers.h"

#include <algorithm>
#include <string>

namespace tracerig {

void MessageHeaderReader::GetAll(std::string_view name, std::vector<std::string_view>& out) const {
  for (const MessageHeader& header : headers_) {
    if (EqualsIgnoreCase(header.name, name)) out.push_back(header.value);
  }
}

void MessageHeaderReader::ForEach(const Visitor& visit) const {
  for (const MessageHeader& header : headers_) visit(header.name, header.value);
}

void MessageHeaderWriter::Set(std::string_view name, std::string_view value) {
  auto first = std::find_if(headers_.begin(), headers_.end(), [name](const MessageHeader& h) {
    return EqualsIgnoreCase(h.name, name);
  });
  if (first == headers_.end()) {
    headers_.push_back({std::string(name), std::string(value)});
    return;
  }
  first->value = std::string(value);
  headers_.erase(
      std::remove_if(first + 1, headers_.end(),
                     [name](const MessageHeader& h) { return EqualsIgnoreCase(h.name, name); }),
      headers_.end());
}

std::string_view FirstHeader(const std::vector<MessageHeader>& headers, std::string_view name) {
  for (const MessageHeader& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return {};
}

void RemoveHeader(std::vector<MessageHeader>& headers, std::string_view name) {
  headers.erase(
      std::remove_if(headers.begin(), headers.end(),
                     [name](const MessageHeader& h) { return EqualsIgnoreCase(h.name, name); }),
      headers.end());
}

}  // namespace tracerig
