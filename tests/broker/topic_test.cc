// TopicMatches against RabbitMQ's topic-exchange rules, one row per case.
#include "broker/topic.h"

#include <gtest/gtest.h>

#include <string_view>

namespace tracerig {
namespace {

struct TopicCase {
  std::string_view pattern;
  std::string_view key;
  bool matches;
};

constexpr TopicCase kCases[] = {
    // Literal words.
    {"order.created", "order.created", true},
    {"order.created", "order.deleted", false},
    {"order.created", "order", false},
    {"order", "order.created", false},
    {"order", "order", true},
    {"", "", true},
    {"", "order", false},
    {"order", "", false},
    // '*' is exactly one word.
    {"order.*", "order.created", true},
    {"order.*", "order", false},
    {"order.*", "order.a.b", false},
    {"*", "order", true},
    {"*", "", false},
    {"*.*", "a.b", true},
    {"*.*", "a", false},
    {"*.created", "order.created", true},
    {"*.created", "created", false},
    {"a.*.c", "a.b.c", true},
    {"a.*.c", "a.c", false},
    {"order.*", "order.", true},  // "order." is the words "order" and "" (an empty word)
    // '#' is zero or more words.
    {"#", "", true},
    {"#", "order", true},
    {"#", "order.a.b", true},
    {"order.#", "order", true},
    {"order.#", "order.a", true},
    {"order.#", "order.a.b", true},
    {"order.#", "orders.a", false},
    {"#.created", "created", true},
    {"#.created", "order.created", true},
    {"#.created", "a.b.created", true},
    {"#.created", "order.created.x", false},
    {"a.#.z", "a.z", true},
    {"a.#.z", "a.b.c.z", true},
    {"a.#.z", "a.b.c", false},
    {"#.#", "a.b", true},
    {"#.#", "", true},
    {"#.*", "", false},
    {"#.*", "a", true},
    {"*.#", "a.b.c", true},
    {"*.#", "", false},
    {"a.#.b.#.c", "a.x.b.y.y.c", true},
    {"a.#.b.#.c", "a.x.c.b", false},
    // Wildcards only as whole words; elsewhere they are literal characters.
    {"order*", "orders", false},
    {"order*", "order*", true},
    {"or#", "order", false},
    // Case matters.
    {"Order.*", "order.created", false},
};

TEST(TopicMatches, Table) {
  for (const TopicCase& c : kCases) {
    EXPECT_EQ(TopicMatches(c.pattern, c.key), c.matches)
        << "pattern \"" << c.pattern << "\" key \"" << c.key << "\"";
  }
}

}  // namespace
}  // namespace tracerig
