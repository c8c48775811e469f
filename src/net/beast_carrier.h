// Propagation carriers over Beast HTTP headers: read every field of a name (a header may repeat),
// write by replacing.
#pragma once

#include "net/beast.h"
#include "propagation/carrier.h"

namespace tracerig {

template <bool kIsRequest>
class BeastHeaderReader final : public HeaderReader {
 public:
  explicit BeastHeaderReader(const http::header<kIsRequest, http::fields>& header) : header_(header) {}
  void GetAll(std::string_view name, std::vector<std::string_view>& out) const override {
    auto range = header_.equal_range(boost::beast::string_view(name.data(), name.size()));
    for (auto it = range.first; it != range.second; ++it) {
      out.emplace_back(it->value().data(), it->value().size());
    }
  }
  void ForEach(const Visitor& visit) const override {
    for (const auto& field : header_) {
      visit(std::string_view(field.name_string().data(), field.name_string().size()),
            std::string_view(field.value().data(), field.value().size()));
    }
  }

 private:
  const http::header<kIsRequest, http::fields>& header_;
};

template <bool kIsRequest>
class BeastHeaderWriter final : public HeaderWriter {
 public:
  explicit BeastHeaderWriter(http::header<kIsRequest, http::fields>& header) : header_(header) {}
  void Set(std::string_view name, std::string_view value) override {
    header_.set(boost::beast::string_view(name.data(), name.size()),
                boost::beast::string_view(value.data(), value.size()));
  }

 private:
  http::header<kIsRequest, http::fields>& header_;
};

}  // namespace tracerig
