// How propagators read and write headers without knowing the transport (HTTP headers, gRPC metadata).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tracerig {

class HeaderReader {
 public:
  virtual ~HeaderReader() = default;
  // Appends every value of the header `name` (case-insensitive), in the order received; a header
  // may legitimately repeat (several tracestate fields are one list).
  virtual void GetAll(std::string_view name, std::vector<std::string_view>& out) const = 0;
  // Calls `visit` with every field, in the order received; names as received (HTTP/1 names may
  // be in any case). For recording what arrived (topology/wire_log.h).
  using Visitor = std::function<void(std::string_view name, std::string_view value)>;
  virtual void ForEach(const Visitor& visit) const = 0;
};

class HeaderWriter {
 public:
  virtual ~HeaderWriter() = default;
  // Sets `name` (lowercase) to `value`, replacing any previous value.
  virtual void Set(std::string_view name, std::string_view value) = 0;
};

// A plain list of header fields: for tests and for building outgoing requests.
class HeaderList final : public HeaderReader, public HeaderWriter {
 public:
  HeaderList() = default;
  HeaderList(std::initializer_list<std::pair<std::string, std::string>> fields) : fields_(fields) {}

  void GetAll(std::string_view name, std::vector<std::string_view>& out) const override;
  void ForEach(const Visitor& visit) const override;
  void Set(std::string_view name, std::string_view value) override;
  void Add(std::string_view name, std::string_view value) { fields_.emplace_back(name, value); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace tracerig
