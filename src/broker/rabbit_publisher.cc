// The RabbitMQ broker's publisher: one connection and thread; Publish queues, the thread sends with
// mandatory set (an unroutable message comes back, counted) and completes each `done` when the
// broker confirms (confirm.select), with at most kMaxInFlight unconfirmed.
#include "broker/rabbit_publisher.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/amqp_table.h"
#include "broker/rabbit_shared.h"

namespace tracerig {
namespace {

constexpr amqp_channel_t kChannel = AmqpConnection::kChannel;

// Publishes on its own connection and thread, completing each `done` when the broker confirms.
class Publisher final : public RabbitPublisher {
 public:
  Publisher(std::unique_ptr<AmqpConnection> connection, std::shared_ptr<RabbitStats> stats)
      : connection_(std::move(connection)),
        described_(connection_->described()),
        stats_(std::move(stats)) {}
  ~Publisher() override {
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

  void Enqueue(OutgoingMessage message, std::function<void(Status)> done) override {
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
  void Close() override {
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
      props.message_id = AmqpBytes(p.message.message_id);
    }
    if (!p.message.headers.empty()) {
      props._flags |= AMQP_BASIC_HEADERS_FLAG;
      props.headers = HeadersTable(p.message.headers, scratch_);
    }
    const int rc = amqp_basic_publish(connection_->state(), kChannel, AmqpBytes(p.message.exchange),
                                      AmqpBytes(p.message.routing_key), /*mandatory=*/1,
                                      /*immediate=*/0, &props, AmqpBytes(p.message.body));
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
  std::shared_ptr<RabbitStats> stats_;
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

}  // namespace

Result<std::unique_ptr<RabbitPublisher>> StartRabbitPublisher(
    std::unique_ptr<AmqpConnection> connection, std::shared_ptr<RabbitStats> stats) {
  auto publisher = std::make_unique<Publisher>(std::move(connection), std::move(stats));
  auto started = publisher->Start();
  if (!started.ok()) return started.error();
  return std::unique_ptr<RabbitPublisher>(std::move(publisher));
}

}  // namespace tracerig
