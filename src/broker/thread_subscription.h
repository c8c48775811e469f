// The Subscription handle both brokers give out: a thread (State::thread) delivers, State::Ack
// and State::Stop do the work. Destroying the handle stops delivering; destroyed from inside its
// own `deliver` callback, it lets the thread end when the callback returns instead of joining
// itself.
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

#include "broker/broker.h"

namespace tracerig {

template <typename State>
class ThreadSubscription final : public Subscription {
 public:
  explicit ThreadSubscription(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~ThreadSubscription() override {
    Stop();
    if (state_->thread.joinable() && state_->thread.get_id() == std::this_thread::get_id()) {
      state_->thread.detach();
    }
  }
  void Ack(uint64_t delivery_tag) override { state_->Ack(delivery_tag); }
  void Stop() override { state_->Stop(); }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tracerig
