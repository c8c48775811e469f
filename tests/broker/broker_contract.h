// The Broker contract of src/broker/broker.h as a parametrised gtest suite: each test binary
// instantiates BrokerContract with its broker factories (embedded, RabbitMQ) so both
// implementations pass the same tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "core/result.h"

namespace tracerig::test_support {

struct BrokerUnderTest {
  std::string name;  // gtest parameter name: "Embedded", "RabbitMQ"
  // Empty result with a reason when the broker cannot be had here (the test then skips).
  std::function<Result<std::unique_ptr<Broker>>()> make;
};

inline void PrintTo(const BrokerUnderTest& broker, std::ostream* os) { *os << broker.name; }

inline std::string BrokerName(const ::testing::TestParamInfo<BrokerUnderTest>& info) {
  return info.param.name;
}

// Deliveries a subscription received, for a test thread to wait on.
class DeliveryLog {
 public:
  void Add(Delivery d) {
    std::lock_guard lock(mu_);
    deliveries_.push_back(std::move(d));
    changed_.notify_all();
  }
  // Waits until at least `n` deliveries arrived (true) or `timeout` passed (false).
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return deliveries_.size() >= n; });
  }
  std::vector<Delivery> Snapshot() {
    std::lock_guard lock(mu_);
    return deliveries_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return deliveries_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Delivery> deliveries_;
};

class BrokerContract : public ::testing::TestWithParam<BrokerUnderTest> {
 protected:
  void SetUp() override;
  // A name unique to this test (RabbitMQ keeps exchanges and bindings between tests).
  std::string Name(const std::string& suffix) const;
  // Publishes and waits for `done`; the status it gave.
  Status PublishAndWait(OutgoingMessage message);

  std::unique_ptr<Broker> broker_;
};

}  // namespace tracerig::test_support
