// AMQP topic-exchange matching, shared by the embedded broker and the scenario validator (which
// must know, as RabbitMQ would, which queues a publish reaches).
#pragma once

#include <string_view>

namespace tracerig {

// Whether `routing_key` matches the binding key `pattern`: both split into words on '.'; '*' in
// the pattern matches exactly one word, '#' zero or more words, any other word itself.
// "order.*" matches "order.created" but not "order" or "order.a.b"; "#" matches everything
// (even ""); "order.#" matches "order", "order.a" and "order.a.b".
bool TopicMatches(std::string_view pattern, std::string_view routing_key);

}  // namespace tracerig
