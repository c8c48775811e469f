// A RabbitMQ subscription: its own connection and thread, basic.qos for the prefetch bound and
// basic.consume; Ack from any thread queues the tag for the thread to send, and Stop sends what is
// queued, nacks the rest back to the queue and closes the connection before it returns.
#include "broker/rabbit_subscription.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/amqp_connection.h"
#include "broker/amqp_table.h"
#include "broker/thread_subscription.h"

namespace tracerig {
namespace {

constexpr amqp_channel_t kChannel = AmqpConnection::kChannel;

// One consumer: its own connection and thread.
struct RabbitSubscriptionState final : Subscription {
  std::unique_ptr<AmqpConnection> connection;
  std::string queue;
  std::function<void(Delivery)> deliver;
  std::shared_ptr<RabbitStats> stats;

  std::mutex mu;
  std::vector<uint64_t> acks;  // queued by Ack, sent by the thread
  bool stopped = false;
  WakeFd wake;
  std::atomic<bool> stop_requested{false};
  std::thread thread;
  std::once_flag join_once;

  // Thread only. RabbitMQ closes the channel on an ack of an unknown or already acked tag (406),
  // but Ack must ignore those: which delivered tags are still unacked. A channel's tags run 1, 2,
  // ...: slot i is tag first_unacked + i.
  uint64_t first_unacked = 1;
  std::deque<bool> unacked;

  bool TakeUnacked(uint64_t tag) {
    if (tag < first_unacked || tag - first_unacked >= unacked.size()) return false;
    if (!unacked[tag - first_unacked]) return false;
    unacked[tag - first_unacked] = false;
    while (!unacked.empty() && !unacked.front()) {
      unacked.pop_front();
      ++first_unacked;
    }
    return true;
  }

  void Run() {
    std::vector<uint64_t> to_ack;
    amqp_connection_state_t state = connection->state();
    while (true) {
      wake.Drain();
      bool stopping = false;
      {
        std::lock_guard lock(mu);
        to_ack.swap(acks);
        stopping = stopped;
      }
      for (uint64_t tag : to_ack) {
        if (!TakeUnacked(tag)) continue;
        if (amqp_basic_ack(state, kChannel, tag, 0) == AMQP_STATUS_OK) ++stats->acked;
      }
      to_ack.clear();
      if (stopping || connection->broken()) break;
      if (!connection->WaitReadable(wake.fd(), -1)) continue;
      amqp_maybe_release_buffers(state);
      amqp_envelope_t envelope;
      timeval zero{0, 0};
      const amqp_rpc_reply_t r = amqp_consume_message(state, &envelope, &zero, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        Delivery d = ToDelivery(envelope);
        amqp_destroy_envelope(&envelope);
        ++stats->delivered;
        if (d.delivery_tag >= first_unacked) {
          unacked.resize(d.delivery_tag - first_unacked + 1, false);
          unacked.back() = true;
        }
        // Stopped from inside a callback: the rest go back to the queue with the connection.
        if (!stop_requested.load(std::memory_order_acquire)) deliver(std::move(d));
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_TIMEOUT) {
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // Not a delivery: a close or a cancel (the queue was deleted) ends the subscription.
        amqp_frame_t frame;
        if (amqp_simple_wait_frame_noblock(state, &frame, &zero) != AMQP_STATUS_OK) continue;
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        const amqp_method_number_t id = frame.payload.method.id;
        if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
          Report(connection->ServerClosed(frame.payload.method, "consuming \"" + queue + "\""));
          break;
        }
        if (id == AMQP_BASIC_CANCEL_METHOD) {
          Report(MakeError("RabbitMQ at " + connection->described() + ": consuming \"" + queue +
                           "\": the broker cancelled the consumer (queue deleted?)"));
          break;
        }
        continue;
      }
      // A broken connection: its deliveries return to the queue on the broker's side.
      if (auto s = connection->CheckReply(r, "consuming \"" + queue + "\""); !s.ok())
        Report(s.error());
      break;
    }
    if (connection->channel_open()) {
      // Everything delivered and not acked goes back to the queue before Stop returns (closing the
      // channel alone would requeue too, but not necessarily before the next consumer starts).
      amqp_basic_nack(state, kChannel, 0, /*multiple=*/1, /*requeue=*/1);
    }
    connection.reset();
  }

  // A subscription that ends without Stop has no caller to tell: say so on stderr, or the run
  // would only see its queue go quiet.
  static void Report(const Error& e) {
    std::fprintf(stderr, "tracerig: %s; no more deliveries from this subscription\n",
                 e.message.c_str());
  }

  Delivery ToDelivery(const amqp_envelope_t& envelope) const {
    Delivery d;
    d.queue = queue;
    d.exchange = AmqpString(envelope.exchange);
    d.routing_key = AmqpString(envelope.routing_key);
    d.delivery_tag = envelope.delivery_tag;
    d.redelivered = envelope.redelivered != 0;
    const amqp_basic_properties_t& props = envelope.message.properties;
    if (props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.message_id = AmqpString(props.message_id);
    if (props._flags & AMQP_BASIC_HEADERS_FLAG) d.headers = HeadersFromTable(props.headers);
    d.body = AmqpString(envelope.message.body);
    return d;
  }

  void Ack(uint64_t tag) override {
    bool signal = false;
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      signal = acks.empty();
      acks.push_back(tag);
    }
    if (signal) wake.Signal();
  }

  void Stop() override {
    stop_requested.store(true, std::memory_order_release);
    {
      std::lock_guard lock(mu);
      stopped = true;
    }
    wake.Signal();
    if (std::this_thread::get_id() != thread.get_id()) {
      std::call_once(join_once, [this] {
        if (thread.joinable()) thread.join();
      });
    }
  }
};


}  // namespace

Result<std::unique_ptr<Subscription>> StartRabbitSubscription(
    const AmqpUrl& url, std::string queue, uint32_t prefetch, std::function<void(Delivery)> deliver,
    std::shared_ptr<RabbitStats> stats, std::weak_ptr<Subscription>& stopper) {
  auto opened = AmqpConnection::Open(url);
  if (!opened.ok()) return opened.error();
  auto state = std::make_shared<RabbitSubscriptionState>();
  state->connection = std::move(opened).value();
  amqp_connection_state_t c = state->connection->state();
  // basic.qos counts in 16 bits; 0 is unbounded, as for the embedded broker.
  amqp_basic_qos(c, kChannel, 0, static_cast<uint16_t>(std::min<uint32_t>(prefetch, 65535)), 0);
  auto s = state->connection->CheckRpc("setting prefetch " + std::to_string(prefetch));
  if (!s.ok()) return s.error();
  amqp_basic_consume(c, kChannel, AmqpBytes(queue), amqp_empty_bytes, /*no_local=*/0,
                     /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
  s = state->connection->CheckRpc("consuming queue \"" + queue + "\"");
  if (!s.ok()) return s.error();
  state->queue = std::move(queue);
  state->deliver = std::move(deliver);
  state->stats = std::move(stats);
  state->thread = std::thread([self = state] { self->Run(); });
  stopper = state;
  return std::unique_ptr<Subscription>(
      new ThreadSubscription<RabbitSubscriptionState>(std::move(state)));
}

}  // namespace tracerig
