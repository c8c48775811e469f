// The RabbitMQ broker over rabbitmq-c, which is blocking and not thread-safe per connection: one
// connection and thread publish (a queue of pending publishes, publisher confirms so that `done`
// means the broker accepted the message, mandatory so unroutable ones come back and are counted),
// one connection and thread per subscription (basic.qos + basic.consume; acks from any thread are
// queued and sent by it), and a short-lived connection for each Declare. Threads sleep in poll()
// on their socket and an eventfd that Publish, Ack and Stop signal.
#include "broker/rabbit_broker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/amqp_connection.h"
#include "broker/amqp_table.h"
#include "broker/amqp_url.h"

namespace tracerig {
namespace {

constexpr amqp_channel_t kChannel = AmqpConnection::kChannel;

amqp_bytes_t Bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string String(const amqp_bytes_t& b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

struct SharedStats {
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> unroutable{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> publish_failures{0};
};

// An eventfd a thread polls beside its socket; Signal from any thread wakes it.
class WakeFd {
 public:
  WakeFd() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~WakeFd() {
    if (fd_ >= 0) close(fd_);
  }
  WakeFd(const WakeFd&) = delete;
  WakeFd& operator=(const WakeFd&) = delete;
  int fd() const { return fd_; }
  void Signal() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
  }
  void Drain() {
    uint64_t value;
    [[maybe_unused]] ssize_t n = read(fd_, &value, sizeof value);
  }

 private:
  int fd_;
};

// Publishes on its own connection and thread, completing each `done` when the broker confirms.
class Publisher {
 public:
  Publisher(std::unique_ptr<AmqpConnection> connection, std::shared_ptr<SharedStats> stats)
      : connection_(std::move(connection)),
        described_(connection_->described()),
        stats_(std::move(stats)) {}
  ~Publisher() {
    Close();
    if (thread_.joinable()) thread_.join();  // Close was first called from the thread itself
  }

  Status Start() {
    amqp_confirm_select(connection_->state(), kChannel);
    auto s = connection_->CheckRpc("enabling publisher confirms");
    if (!s.ok()) return s;
    thread_ = std::thread([this] { Run(); });
    return Ok{};
  }

  void Enqueue(OutgoingMessage message, std::function<void(Status)> done) {
    bool signal = false;
    std::optional<Error> refused;
    {
      std::lock_guard lock(mu_);
      if (closing_ || failed_) {
        refused = failed_ ? *failed_ : Closed();
      } else {
        signal = pending_.empty();  // the thread drains all it finds: one wake-up suffices
        pending_.push_back(Pending{std::move(message), std::move(done)});
      }
    }
    if (refused) {
      Complete(done, *refused);  // inline, outside the lock: `done` may publish again
      return;
    }
    if (signal) wake_.Signal();
  }

  // Publishes what is pending, waits up to 5 s for confirms, fails what is left, and closes.
  void Close() {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
      close_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    wake_.Signal();
    // From a `done` callback (this thread) the loop ends by itself once it returns.
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
      thread_.join();
      connection_.reset();
    }
  }

 private:
  struct Pending {
    OutgoingMessage message;
    std::function<void(Status)> done;
  };
  struct InFlight {
    uint64_t seq;
    std::function<void(Status)> done;
    bool completed = false;
  };
  // Bounded so a fast publisher cannot run ahead of the broker without limit.
  static constexpr size_t kMaxInFlight = 4096;

  Error Closed() const {
    return MakeError(ErrorCode::kUnavailable,
                     "RabbitMQ at " + described_ + ": the broker is closed");
  }

  void Run() {
    std::vector<Pending> batch;
    while (true) {
      wake_.Drain();
      bool closing = false;
      bool timed_out = false;
      {
        std::lock_guard lock(mu_);
        closing = closing_;
        while (!pending_.empty() && in_flight_.size() + batch.size() < kMaxInFlight) {
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
        if (closing && batch.empty() && pending_.empty() && in_flight_.empty()) return;
        timed_out = closing && std::chrono::steady_clock::now() > close_deadline_;
      }
      if (timed_out) {
        Fail(MakeError(ErrorCode::kUnavailable,
                                 "RabbitMQ at " + connection_->described() +
                                     ": closed before the broker confirmed the message"));
        return;
      }
      for (Pending& p : batch) Send(p);
      const bool sent = !batch.empty();
      batch.clear();
      if (connection_->broken()) return;
      // Block only when there is nothing to send; confirms wake us through the socket.
      const int timeout_ms = sent ? 0 : (closing ? 100 : -1);
      if (connection_->WaitReadable(wake_.fd(), timeout_ms)) ReadFrames();
      if (connection_->broken()) return;
    }
  }

  void Send(Pending& p) {
    if (connection_->broken()) {
      Complete(p.done, failed_error_);
      return;
    }
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 1;  // transient: runs start from empty queues anyway
    if (!p.message.message_id.empty()) {
      props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
      props.message_id = Bytes(p.message.message_id);
    }
    if (!p.message.headers.empty()) {
      props._flags |= AMQP_BASIC_HEADERS_FLAG;
      props.headers = HeadersTable(p.message.headers, scratch_);
    }
    const int rc = amqp_basic_publish(connection_->state(), kChannel, Bytes(p.message.exchange),
                                      Bytes(p.message.routing_key), /*mandatory=*/1,
                                      /*immediate=*/0, &props, Bytes(p.message.body));
    if (rc != AMQP_STATUS_OK) {
      Fail(connection_->LibraryError(rc, "publishing to exchange \"" + p.message.exchange + "\""));
      Complete(p.done, failed_error_);
      return;
    }
    in_flight_.push_back(InFlight{next_seq_++, std::move(p.done)});
  }

  void ReadFrames() {
    amqp_connection_state_t state = connection_->state();
    while (true) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      const int rc = amqp_simple_wait_frame_noblock(state, &frame, &zero);
      if (rc == AMQP_STATUS_TIMEOUT) break;
      if (rc != AMQP_STATUS_OK) {
        Fail(connection_->LibraryError(rc, "reading publisher confirms"));
        return;
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      const amqp_method_t& method = frame.payload.method;
      switch (method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          const auto* ack = static_cast<const amqp_basic_ack_t*>(method.decoded);
          Confirm(ack->delivery_tag, ack->multiple, nullptr);
          break;
        }
        case AMQP_BASIC_NACK_METHOD: {
          const auto* nack = static_cast<const amqp_basic_nack_t*>(method.decoded);
          const Error e = MakeError(ErrorCode::kUnavailable,
                                    "RabbitMQ at " + connection_->described() +
                                        ": the broker refused the message (basic.nack)");
          Confirm(nack->delivery_tag, nack->multiple, &e);
          break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
          // Mandatory and routed nowhere: the content follows, then the confirm (an ack).
          ++stats_->unroutable;
          amqp_message_t returned;
          const amqp_rpc_reply_t r = amqp_read_message(state, frame.channel, &returned, 0);
          if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            Fail(connection_->LibraryError(r.library_error, "reading a returned message"));
            return;
          }
          amqp_destroy_message(&returned);
          break;
        }
        case AMQP_CHANNEL_CLOSE_METHOD: {
          // E.g. 404 for an exchange that does not exist: every unconfirmed message on the
          // channel is lost with it. Reopen and carry on.
          const Error e = connection_->ServerClosed(method, "publishing");
          FailInFlight(e);
          auto reopened = connection_->ReopenChannel();
          if (reopened.ok()) {
            amqp_confirm_select(state, kChannel);
            reopened = connection_->CheckRpc("enabling publisher confirms");
          }
          if (!reopened.ok()) {
            Fail(reopened.error());
            return;
          }
          next_seq_ = 1;
          break;
        }
        case AMQP_CONNECTION_CLOSE_METHOD:
          Fail(connection_->ServerClosed(method, "publishing"));
          return;
        default:
          break;
      }
    }
    amqp_maybe_release_buffers(state);
  }

  // Completes the confirmed in-flight publish `tag` (and all before it when `multiple`).
  void Confirm(uint64_t tag, bool multiple, const Error* error) {
    for (InFlight& f : in_flight_) {
      if (f.seq > tag) break;
      if (f.completed || (!multiple && f.seq != tag)) continue;
      f.completed = true;
      if (error != nullptr) {
        Complete(f.done, *error);
      } else {
        ++stats_->published;
        if (f.done) f.done(Ok{});
      }
    }
    while (!in_flight_.empty() && in_flight_.front().completed) in_flight_.pop_front();
  }

  void Complete(std::function<void(Status)>& done, const Error& e) {
    ++stats_->publish_failures;
    if (done) done(e);
  }

  void FailInFlight(const Error& e) {
    for (InFlight& f : in_flight_) {
      if (!f.completed) Complete(f.done, e);
    }
    in_flight_.clear();
  }

  // The connection is gone: fail what is in flight and pending, and every later publish.
  void Fail(const Error& e) {
    failed_error_ = e;
    FailInFlight(e);
    std::deque<Pending> pending;
    {
      std::lock_guard lock(mu_);
      failed_ = e;
      pending.swap(pending_);
    }
    for (Pending& p : pending) Complete(p.done, e);
  }

  std::unique_ptr<AmqpConnection> connection_;
  std::string described_;  // outlives connection_ (reset by Close)
  std::shared_ptr<SharedStats> stats_;
  WakeFd wake_;
  std::thread thread_;

  std::mutex mu_;
  std::deque<Pending> pending_;
  bool closing_ = false;
  std::optional<Error> failed_;
  std::chrono::steady_clock::time_point close_deadline_;

  // Publisher thread only.
  std::deque<InFlight> in_flight_;
  uint64_t next_seq_ = 1;  // publisher confirms number a channel's publishes from 1
  std::vector<amqp_table_entry_t> scratch_;
  Error failed_error_;
};

// One consumer: its own connection and thread.
struct RabbitSubscriptionState {
  std::unique_ptr<AmqpConnection> connection;
  std::string queue;
  std::function<void(Delivery)> deliver;
  std::shared_ptr<SharedStats> stats;

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
      if (auto s = connection->CheckReply(r, "consuming \"" + queue + "\""); !s.ok()) Report(s.error());
      break;
    }
    if (!connection->broken()) {
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
    d.exchange = String(envelope.exchange);
    d.routing_key = String(envelope.routing_key);
    d.delivery_tag = envelope.delivery_tag;
    d.redelivered = envelope.redelivered != 0;
    const amqp_basic_properties_t& props = envelope.message.properties;
    if (props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.message_id = String(props.message_id);
    if (props._flags & AMQP_BASIC_HEADERS_FLAG) d.headers = HeadersFromTable(props.headers);
    d.body = String(envelope.message.body);
    return d;
  }

  void Ack(uint64_t tag) {
    bool signal = false;
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      signal = acks.empty();
      acks.push_back(tag);
    }
    if (signal) wake.Signal();
  }

  void Stop() {
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

class RabbitSubscription final : public Subscription {
 public:
  explicit RabbitSubscription(std::shared_ptr<RabbitSubscriptionState> state)
      : state_(std::move(state)) {}
  ~RabbitSubscription() override {
    Stop();
    if (state_->thread.joinable() && state_->thread.get_id() == std::this_thread::get_id()) {
      state_->thread.detach();
    }
  }
  void Ack(uint64_t delivery_tag) override { state_->Ack(delivery_tag); }
  void Stop() override { state_->Stop(); }

 private:
  std::shared_ptr<RabbitSubscriptionState> state_;
};

class RabbitBroker final : public Broker {
 public:
  RabbitBroker(AmqpUrl url, std::unique_ptr<Publisher> publisher,
               std::shared_ptr<SharedStats> stats)
      : url_(std::move(url)),
        described_("RabbitMQ at " + DescribeAmqpUrl(url_)),
        stats_(std::move(stats)),
        publisher_(std::move(publisher)) {}
  ~RabbitBroker() override { Close(); }

  std::string Describe() const override { return described_; }

  Status Declare(const BrokerTopology& topology) override {
    auto opened = AmqpConnection::Open(url_);
    if (!opened.ok()) return opened.error();
    AmqpConnection& c = **opened;
    amqp_connection_state_t state = c.state();
    for (const std::string& exchange : topology.exchanges) {
      amqp_exchange_declare(state, kChannel, Bytes(exchange), amqp_cstring_bytes("topic"),
                            /*passive=*/0, /*durable=*/0, /*auto_delete=*/0, /*internal=*/0,
                            amqp_empty_table);
      auto s = c.CheckRpc("declaring topic exchange \"" + exchange + "\"");
      if (!s.ok()) return s;
    }
    for (const QueueDeclaration& q : topology.queues) {
      amqp_queue_declare(state, kChannel, Bytes(q.name), /*passive=*/0, /*durable=*/0,
                         /*exclusive=*/0, /*auto_delete=*/0, amqp_empty_table);
      auto s = c.CheckRpc("declaring queue \"" + q.name + "\"");
      if (!s.ok()) return s;
      amqp_queue_purge(state, kChannel, Bytes(q.name));
      s = c.CheckRpc("purging queue \"" + q.name + "\"");
      if (!s.ok()) return s;
    }
    for (const BindingDeclaration& b : topology.bindings) {
      amqp_queue_bind(state, kChannel, Bytes(b.queue), Bytes(b.exchange), Bytes(b.binding_key),
                      amqp_empty_table);
      auto s = c.CheckRpc("binding queue \"" + b.queue + "\" to exchange \"" + b.exchange +
                          "\" with key \"" + b.binding_key + "\"");
      if (!s.ok()) return s;
    }
    return Ok{};
  }

  void Publish(OutgoingMessage message, std::function<void(Status)> done) override {
    publisher_->Enqueue(std::move(message), std::move(done));
  }

  Result<std::unique_ptr<Subscription>> Consume(std::string queue, uint32_t prefetch,
                                                std::function<void(Delivery)> deliver) override {
    {
      std::lock_guard lock(mu_);
      if (closed_) {
        return MakeError(ErrorCode::kUnavailable, described_ + ": the broker is closed");
      }
    }
    auto opened = AmqpConnection::Open(url_);
    if (!opened.ok()) return opened.error();
    auto state = std::make_shared<RabbitSubscriptionState>();
    state->connection = std::move(opened).value();
    amqp_connection_state_t c = state->connection->state();
    // basic.qos counts in 16 bits; 0 is unbounded, as for the embedded broker.
    amqp_basic_qos(c, kChannel, 0, static_cast<uint16_t>(std::min<uint32_t>(prefetch, 65535)), 0);
    auto s = state->connection->CheckRpc("setting prefetch " + std::to_string(prefetch));
    if (!s.ok()) return s.error();
    amqp_basic_consume(c, kChannel, Bytes(queue), amqp_empty_bytes, /*no_local=*/0,
                       /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
    s = state->connection->CheckRpc("consuming queue \"" + queue + "\"");
    if (!s.ok()) return s.error();
    state->queue = std::move(queue);
    state->deliver = std::move(deliver);
    state->stats = stats_;
    {
      std::lock_guard lock(mu_);
      if (closed_) {
        return MakeError(ErrorCode::kUnavailable, described_ + ": the broker is closed");
      }
      std::erase_if(subscriptions_, [](const std::weak_ptr<RabbitSubscriptionState>& w) {
        return w.expired();
      });
      subscriptions_.push_back(state);
      state->thread = std::thread([self = state] { self->Run(); });
    }
    return std::unique_ptr<Subscription>(new RabbitSubscription(std::move(state)));
  }

  void Close() override {
    std::vector<std::weak_ptr<RabbitSubscriptionState>> subs;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      subs.swap(subscriptions_);
    }
    for (auto& weak : subs) {
      if (auto s = weak.lock()) s->Stop();
    }
    publisher_->Close();
  }

  BrokerStats stats() const override {
    BrokerStats out;
    out.published = stats_->published.load();
    out.unroutable = stats_->unroutable.load();
    out.delivered = stats_->delivered.load();
    out.acked = stats_->acked.load();
    out.publish_failures = stats_->publish_failures.load();
    return out;
  }

 private:
  AmqpUrl url_;
  std::string described_;
  std::shared_ptr<SharedStats> stats_;
  std::unique_ptr<Publisher> publisher_;
  std::mutex mu_;
  bool closed_ = false;
  std::vector<std::weak_ptr<RabbitSubscriptionState>> subscriptions_;
};

}  // namespace

Result<std::unique_ptr<Broker>> MakeRabbitBroker(std::string_view url) {
  auto parsed = ParseAmqpUrl(url);
  if (!parsed.ok()) return parsed.error();
  auto connection = AmqpConnection::Open(*parsed);
  if (!connection.ok()) return connection.error();
  auto stats = std::make_shared<SharedStats>();
  auto publisher = std::make_unique<Publisher>(std::move(connection).value(), stats);
  auto started = publisher->Start();
  if (!started.ok()) return started.error();
  return std::unique_ptr<Broker>(
      new RabbitBroker(std::move(parsed).value(), std::move(publisher), std::move(stats)));
}

}  // namespace tracerig
