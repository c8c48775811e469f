// What the RabbitMQ broker's publisher and subscriptions share: the counters behind stats(), and
// the eventfd each of their threads polls beside its socket so other threads can wake it.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace tracerig {

struct RabbitStats {
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> unroutable{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> publish_failures{0};
};

// Signal from any thread makes the descriptor readable until the polling thread drains it.
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

}  // namespace tracerig
