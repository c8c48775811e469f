// A broker message's headers table (broker/broker.h) as a propagation carrier, and the headers
// tracerig adds to the messages it republishes (redeliveries, dead-lettered copies).
#pragma once

#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "propagation/carrier.h"

namespace tracerig {

// Which delivery of a message this is: "1" for the first redelivery, "2" for the second, ...
// (absent on the first delivery). Delivery k is at hop RedeliveryHop(H, k) (expected_tree.h).
inline constexpr std::string_view kDeliveryHeader = "tracerig-delivery";
// On a dead-lettered copy: the queue whose consumer gave up on it. Its deliveries are at
// DeadLetterHop(H) (and RedeliveryHop(DeadLetterHop(H), k) when redelivered from there).
inline constexpr std::string_view kDeadLetterHeader = "tracerig-dead-letter";
// On a republished copy (which goes through the default exchange): the destination it was first
// published to, "{exchange}:{routing key}", so its CONSUMER span names the same destination.
inline constexpr std::string_view kDestinationHeader = "tracerig-destination";

// Reads a message's headers table (names compared case-insensitively; repeated names all read).
class MessageHeaderReader final : public HeaderReader {
 public:
  explicit MessageHeaderReader(const std::vector<MessageHeader>& headers) : headers_(headers) {}
  void GetAll(std::string_view name, std::vector<std::string_view>& out) const override;
  void ForEach(const Visitor& visit) const override;

 private:
  const std::vector<MessageHeader>& headers_;
};

// Writes into a message's headers table: Set replaces every entry of the name by one (in the
// place of the first), or appends.
class MessageHeaderWriter final : public HeaderWriter {
 public:
  explicit MessageHeaderWriter(std::vector<MessageHeader>& headers) : headers_(headers) {}
  void Set(std::string_view name, std::string_view value) override;

 private:
  std::vector<MessageHeader>& headers_;
};

// The first value of `name` in `headers` ("" when absent).
std::string_view FirstHeader(const std::vector<MessageHeader>& headers, std::string_view name);
// Removes every entry of `name`.
void RemoveHeader(std::vector<MessageHeader>& headers, std::string_view name);

}  // namespace tracerig
