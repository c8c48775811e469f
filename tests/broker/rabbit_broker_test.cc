// The RabbitMQ broker against a real RabbitMQ the test starts on free ports: the shared Broker
// contract, plus what only a real broker shows: connection and login errors, a publish to a
// missing exchange (the server closes the channel), and non-string header values another client
// sent.
#include "broker/rabbit_broker.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <gtest/gtest.h>

#include <future>

#include "broker/amqp_url.h"
#include "broker/broker_factory.h"
#include "tests/broker/broker_contract.h"
#include "tests/support/free_port.h"
#include "tests/support/rabbitmq_server.h"

namespace tracerig::test_support {
namespace {

std::string RabbitUnavailable() { return SharedRabbitMqServer().skip_reason; }

Result<std::unique_ptr<Broker>> MakeSharedRabbit() {
  const SharedRabbitMq& rabbit = SharedRabbitMqServer();
  if (!rabbit.failure.empty()) {
    return MakeError(ErrorCode::kUnavailable, "RabbitMQ would not start: " + rabbit.failure);
  }
  return MakeBroker(rabbit.url);
}

INSTANTIATE_TEST_SUITE_P(RabbitMQ, BrokerContract,
                         ::testing::Values(BrokerUnderTest{"RabbitMQ", RabbitUnavailable,
                                                           MakeSharedRabbit}),
                         BrokerName);

// Skips or fails the test as the shared server's availability says; its URL otherwise.
#define REQUIRE_RABBITMQ(url)                                            \
  const SharedRabbitMq& rabbit_ = SharedRabbitMqServer();                \
  if (!rabbit_.skip_reason.empty()) GTEST_SKIP() << rabbit_.skip_reason; \
  ASSERT_TRUE(rabbit_.failure.empty()) << rabbit_.failure;               \
  const std::string url = rabbit_.url

Status PublishAndWait(Broker& broker, OutgoingMessage m) {
  std::promise<Status> done;
  auto f = done.get_future();
  broker.Publish(std::move(m), [&](Status s) { done.set_value(std::move(s)); });
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return MakeError("no confirm within 10 s");
  }
  return f.get();
}

TEST(RabbitBroker, DescribeNamesTheUrlWithoutThePassword) {
  REQUIRE_RABBITMQ(url);
  const std::string with_user = "amqp://guest:guest@" + url.substr(std::string("amqp://").size());
  auto broker = MakeBroker(with_user);
  ASSERT_TRUE(broker.ok()) << broker.error().message;
  EXPECT_EQ((*broker)->Describe(),
            "RabbitMQ at amqp://guest@" + url.substr(std::string("amqp://").size()));
  EXPECT_EQ((*broker)->Describe().find("guest:"), std::string::npos);
}

TEST(RabbitBroker, UnreachableBrokerIsUnavailableAndNamesTheUrl) {
  const uint16_t port = FreeLoopbackPort();
  ASSERT_NE(port, 0);
  const std::string url = "amqp://user:hunter2@127.0.0.1:" + std::to_string(port) + "/";
  auto broker = MakeBroker(url);
  ASSERT_FALSE(broker.ok());
  EXPECT_EQ(broker.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(broker.error().message, "RabbitMQ at amqp://user@127.0.0.1:" + std::to_string(port) +
                                        "/: connecting: connection refused or host unreachable");
}

TEST(RabbitBroker, RefusedLoginCarriesTheServersReply) {
  REQUIRE_RABBITMQ(url);
  const std::string wrong = "amqp://guest:not-the-password@" + url.substr(7);
  auto broker = MakeBroker(wrong);
  ASSERT_FALSE(broker.ok());
  EXPECT_EQ(broker.error().code, ErrorCode::kUnavailable);
  const std::string& m = broker.error().message;
  EXPECT_NE(m.find("RabbitMQ at amqp://guest@127.0.0.1:"), std::string::npos) << m;
  EXPECT_NE(m.find("logging in as \"guest\""), std::string::npos) << m;
  EXPECT_NE(m.find("403 ACCESS_REFUSED"), std::string::npos) << m;
  EXPECT_EQ(m.find("not-the-password"), std::string::npos) << m;
}

TEST(RabbitBroker, PublishToAMissingExchangeFailsAndThePublisherRecovers) {
  REQUIRE_RABBITMQ(url);
  auto broker = MakeBroker(url);
  ASSERT_TRUE(broker.ok()) << broker.error().message;
  ASSERT_TRUE((*broker)->Declare({{}, {{"tr.recover.q"}}, {}}).ok());
  OutgoingMessage bad;
  bad.exchange = "tr.no-such-exchange";
  bad.routing_key = "k";
  auto s = PublishAndWait(**broker, bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("404 NOT_FOUND - no exchange 'tr.no-such-exchange'"),
            std::string::npos)
      << s.error().message;
  OutgoingMessage good;
  good.routing_key = "tr.recover.q";
  good.body = "after";
  s = PublishAndWait(**broker, good);
  EXPECT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*broker)->stats().publish_failures, 1u);
  EXPECT_EQ((*broker)->stats().published, 1u);
}

TEST(RabbitBroker, DeclareErrorsCarryTheServersReply) {
  REQUIRE_RABBITMQ(url);
  auto broker = MakeBroker(url);
  ASSERT_TRUE(broker.ok());
  auto s =
      (*broker)->Declare({{}, {{"tr.declare.q"}}, {{"tr.declare.missing", "#", "tr.declare.q"}}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("binding queue \"tr.declare.q\" to exchange "
                                   "\"tr.declare.missing\" with key \"#\": the broker closed the "
                                   "channel: 404 NOT_FOUND"),
            std::string::npos)
      << s.error().message;
}

// Another client, on rabbitmq-c directly: what tracerig's broker does not send itself.
class RawClient {
 public:
  explicit RawClient(const std::string& url) : conn_(amqp_new_connection()) {
    auto parsed = ParseAmqpUrl(url);
    if (!parsed.ok()) return;
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    if (amqp_socket_open(socket, parsed->host.c_str(), parsed->port) != AMQP_STATUS_OK) return;
    if (amqp_login(conn_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type !=
        AMQP_RESPONSE_NORMAL) {
      return;
    }
    amqp_channel_open(conn_, 1);
    ok_ = amqp_get_rpc_reply(conn_).reply_type == AMQP_RESPONSE_NORMAL;
  }
  ~RawClient() {
    if (ok_) {
      amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn_);
  }
  bool ok() const { return ok_; }
  amqp_connection_state_t conn() const { return conn_; }

 private:
  amqp_connection_state_t conn_;
  bool ok_ = false;
};

TEST(RabbitBroker, NonStringHeaderValuesArriveAsText) {
  REQUIRE_RABBITMQ(url);
  auto broker = MakeBroker(url);
  ASSERT_TRUE(broker.ok());
  ASSERT_TRUE((*broker)->Declare({{}, {{"tr.types.q"}}, {}}).ok());
  {
    RawClient raw(url);
    ASSERT_TRUE(raw.ok());
    amqp_table_entry_t entries[3];
    entries[0].key = amqp_cstring_bytes("count");
    entries[0].value.kind = AMQP_FIELD_KIND_I32;
    entries[0].value.value.i32 = -42;
    entries[1].key = amqp_cstring_bytes("flag");
    entries[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    entries[1].value.value.boolean = 1;
    entries[2].key = amqp_cstring_bytes("traceparent");
    entries[2].value.kind = AMQP_FIELD_KIND_BYTES;
    entries[2].value.value.bytes = amqp_cstring_bytes("00-abc");
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_HEADERS_FLAG;
    props.headers = {3, entries};
    ASSERT_EQ(amqp_basic_publish(raw.conn(), 1, amqp_empty_bytes, amqp_cstring_bytes("tr.types.q"),
                                 0, 0, &props, amqp_cstring_bytes("typed")),
              AMQP_STATUS_OK);
  }
  DeliveryLog log;
  auto sub = (*broker)->Consume("tr.types.q", 1, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_EQ(
      log.Snapshot()[0].headers,
      (std::vector<MessageHeader>{{"count", "-42"}, {"flag", "true"}, {"traceparent", "00-abc"}}));
}

// The broker cancels a consumer whose queue is deleted: the subscription ends, Stop and Ack stay
// harmless, and the broker keeps working.
TEST(RabbitBroker, QueueDeletedUnderASubscription) {
  REQUIRE_RABBITMQ(url);
  auto broker = MakeBroker(url);
  ASSERT_TRUE(broker.ok());
  ASSERT_TRUE((*broker)->Declare({{}, {{"tr.deleted.q"}, {"tr.deleted.other"}}, {}}).ok());
  DeliveryLog log;
  auto sub = (*broker)->Consume("tr.deleted.q", 1, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(sub.ok());
  {
    RawClient raw(url);
    ASSERT_TRUE(raw.ok());
    amqp_queue_delete(raw.conn(), 1, amqp_cstring_bytes("tr.deleted.q"), 0, 0);
    ASSERT_EQ(amqp_get_rpc_reply(raw.conn()).reply_type, AMQP_RESPONSE_NORMAL);
  }
  (*sub)->Ack(1);
  (*sub)->Stop();
  EXPECT_EQ(log.size(), 0u);
  OutgoingMessage m;
  m.routing_key = "tr.deleted.other";
  m.body = "still works";
  ASSERT_TRUE(PublishAndWait(**broker, m).ok());
  DeliveryLog other;
  auto sub2 =
      (*broker)->Consume("tr.deleted.other", 1, [&](Delivery d) { other.Add(std::move(d)); });
  ASSERT_TRUE(sub2.ok());
  ASSERT_TRUE(other.WaitFor(1));
}

}  // namespace
}  // namespace tracerig::test_support
