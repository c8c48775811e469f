// Propagation carriers over gRPC metadata held as a list of (key, value) pairs (GrpcMetadata in
// net/grpc_sim.h has exactly this type; naming the pair list here keeps propagation free of net).
// Keys are lowercase on the wire (HTTP/2), so the writer lowercases and the reader compares
// case-insensitively.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/text.h"
#include "propagation/carrier.h"

namespace tracerig {

using MetadataPairs = std::vector<std::pair<std::string, std::string>>;

class MetadataReader final : public HeaderReader {
 public:
  explicit MetadataReader(const MetadataPairs& metadata) : metadata_(metadata) {}
  void GetAll(std::string_view name, std::vector<std::string_view>& out) const override {
    for (const auto& [key, value] : metadata_) {
      if (EqualsIgnoreCase(key, name)) out.emplace_back(value);
    }
  }
  void ForEach(const Visitor& visit) const override {
    for (const auto& [key, value] : metadata_) visit(key, value);
  }

 private:
  const MetadataPairs& metadata_;
};

class MetadataWriter final : public HeaderWriter {
 public:
  explicit MetadataWriter(MetadataPairs& metadata) : metadata_(metadata) {}
  // Replaces every earlier value of `name` with one value.
  void Set(std::string_view name, std::string_view value) override {
    bool set = false;
    for (auto it = metadata_.begin(); it != metadata_.end();) {
      if (!EqualsIgnoreCase(it->first, name)) {
        ++it;
      } else if (!set) {
        it->second.assign(value);
        set = true;
        ++it;
      } else {
        it = metadata_.erase(it);
      }
    }
    if (!set) metadata_.emplace_back(AsciiLowercase(name), std::string(value));
  }

 private:
  MetadataPairs& metadata_;
};

// The first value of `name` (case-insensitive), empty when absent.
inline std::string_view FirstMetadataValue(const MetadataPairs& metadata, std::string_view name) {
  for (const auto& [key, value] : metadata) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

}  // namespace tracerig
