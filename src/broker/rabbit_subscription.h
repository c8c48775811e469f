// A RabbitMQ subscription (rabbit_subscription.cc): its own connection and thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "broker/amqp_url.h"
#include "broker/broker.h"
#include "broker/rabbit_shared.h"
#include "core/result.h"

namespace tracerig {

// Connects to `url`, sets the prefetch bound (basic.qos, at most 65535; 0 unbounded), consumes
// `queue` and starts delivering. `stopper` is set to a handle the broker's Close stops it through
// while the caller still holds the subscription. Error: unreachable, or no such queue (kNotFound,
// with the server's reply).
Result<std::unique_ptr<Subscription>> StartRabbitSubscription(const AmqpUrl& url, std::string queue,
                                                              uint32_t prefetch,
                                                              std::function<void(Delivery)> deliver,
                                                              std::shared_ptr<RabbitStats> stats,
                                                              std::weak_ptr<Subscription>& stopper);

}  // namespace tracerig
