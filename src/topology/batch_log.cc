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
  const size_t index = batches_.size();
  for (const BatchMember& member : record.members) {
    index_[Key(member.request_id, member.hop)] = index;
  }
  batches_.push_back(std::move(record));
}

std::optional<BatchRecord> BatchLog::Find(std::string_view request_id, std::string_view hop) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(Key(request_id, hop));
  if (it == index_.end()) return std::nullopt;
  return batches_[it->second];
}

size_t BatchLog::size() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

}  // namespace tracerig
