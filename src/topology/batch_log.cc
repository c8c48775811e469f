#include "topology/batch_log.h"

#include <utility>

namespace tracerig {
namespace {

std::string Key(std::string_view request_id, std::string_view hop) {
  std::string key(request_id);
  key += '/';
  key += hop;
  return key;
}

}  // namespace

void BatchLog::Add(BatchRecord record) {
  std::lock_guard lock(mu_);
  const uint64_t number = first_ + batches_.size();
  for (const BatchMember& member : record.members) {
    index_[Key(member.request_id, member.hop)] = number;
  }
  batches_.push_back(std::move(record));
  while (batches_.size() > capacity_) {
    for (const BatchMember& member : batches_.front().members) {
      auto it = index_.find(Key(member.request_id, member.hop));
      if (it != index_.end() && it->second == first_) index_.erase(it);
    }
    batches_.pop_front();
    ++first_;
  }
}

std::optional<BatchRecord> BatchLog::Find(std::string_view request_id, std::string_view hop) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(Key(request_id, hop));
  if (it == index_.end() || it->second < first_) return std::nullopt;
  return batches_[it->second - first_];
}

size_t BatchLog::size() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

uint64_t BatchLog::forgotten() const {
  std::lock_guard lock(mu_);
  return first_;
}

}  // namespace tracerig
