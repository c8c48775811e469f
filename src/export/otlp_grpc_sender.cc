#include "export/otlp_grpc_sender.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "core/text.h"
#include "export/otlp_codec.h"
#include "net/grpc_status.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace tracerig {

namespace collector = opentelemetry::proto::collector::trace::v1;

namespace {

constexpr std::string_view kRetryInfoType = "type.googleapis.com/google.rpc.RetryInfo";

// Protobuf wire format, just enough for google.rpc.Status, Any, RetryInfo and Duration: we do not
// compile googleapis' protos for three small messages.
bool ReadVarint(std::string_view& in, uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    out |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

struct WireField {
  uint32_t number = 0;
  uint64_t varint = 0;     // wire type 0
  std::string_view bytes;  // wire type 2
};

// Calls visit(field) for every field; false when the message is malformed.
template <typename Visit>
bool ForEachField(std::string_view in, Visit visit) {
  while (!in.empty()) {
    uint64_t key = 0;
    if (!ReadVarint(in, key)) return false;
    WireField field;
    field.number = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0:
        if (!ReadVarint(in, field.varint)) return false;
        break;
      case 1:
        if (in.size() < 8) return false;
        in.remove_prefix(8);
        continue;
      case 2: {
        uint64_t length = 0;
        if (!ReadVarint(in, length) || length > in.size()) return false;
        field.bytes = in.substr(0, length);
        in.remove_prefix(length);
        break;
      }
      case 5:
        if (in.size() < 4) return false;
        in.remove_prefix(4);
        continue;
      default:
        return false;
    }
    visit(field);
  }
  return true;
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void AppendBytesField(std::string& out, uint32_t number, std::string_view bytes) {
  AppendVarint(out, (uint64_t{number} << 3) | 2);
  AppendVarint(out, bytes.size());
  out.append(bytes);
}

void AppendVarintField(std::string& out, uint32_t number, uint64_t v) {
  AppendVarint(out, uint64_t{number} << 3);
  AppendVarint(out, v);
}

Result<std::string> ReadPemFile(std::string_view what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(fmt::format("OTLP/gRPC {} {}: cannot read the file", what, path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return MakeError(fmt::format("OTLP/gRPC {} {}: not a PEM file", what, path));
  }
  return text.str();
}

}  // namespace

std::optional<uint64_t> RetryInfoDelayMs(std::string_view status_details) {
  std::optional<uint64_t> delay;
  const bool ok = ForEachField(status_details, [&](const WireField& status_field) {
    if (status_field.number != 3 || delay) return;  // details: repeated Any
    std::string_view type_url;
    std::string_view value;
    ForEachField(status_field.bytes, [&](const WireField& any_field) {
      if (any_field.number == 1) type_url = any_field.bytes;
      if (any_field.number == 2) value = any_field.bytes;
    });
    if (type_url != kRetryInfoType) return;
    std::string_view duration;
    bool has_delay = false;
    ForEachField(value, [&](const WireField& retry_field) {
      if (retry_field.number == 1) {
        duration = retry_field.bytes;
        has_delay = true;
      }
    });
    if (!has_delay) return;
    uint64_t seconds = 0;
    uint64_t nanos = 0;
    if (!ForEachField(duration, [&](const WireField& f) {
          if (f.number == 1) seconds = f.varint;
          if (f.number == 2) nanos = f.varint;
        })) {
      return;
    }
    // Negative durations (huge varints) make no sense as a delay.
    if (seconds > (uint64_t{1} << 40) || nanos >= 1'000'000'000) return;
    delay = seconds * 1000 + (nanos + 999'999) / 1'000'000;
  });
  return ok ? delay : std::nullopt;
}

std::string EncodeRetryInfoStatus(int grpc_code, std::string_view message, uint64_t delay_ms) {
  std::string duration;
  AppendVarintField(duration, 1, delay_ms / 1000);
  AppendVarintField(duration, 2, (delay_ms % 1000) * 1'000'000);
  std::string retry_info;
  AppendBytesField(retry_info, 1, duration);
  std::string any;
  AppendBytesField(any, 1, kRetryInfoType);
  AppendBytesField(any, 2, retry_info);
  std::string status;
  AppendVarintField(status, 1, static_cast<uint64_t>(grpc_code));
  AppendBytesField(status, 2, message);
  AppendBytesField(status, 3, any);
  return status;
}

SendResult ClassifyOtlpGrpcStatus(int grpc_code, std::string_view message,
                                  std::string_view status_details, int64_t rejected_spans,
                                  std::string_view partial_success_message) {
  SendResult r;
  if (grpc_code == kGrpcOk) {
    r.kind = SendResult::Kind::kOk;
    r.rejected_spans = rejected_spans;
    r.reason = std::string(partial_success_message);
    return r;
  }
  r.reason = fmt::format("gRPC {}: {}", GrpcStatusName(grpc_code), message.substr(0, 200));
  const std::optional<uint64_t> retry_delay = RetryInfoDelayMs(status_details);
  switch (grpc_code) {
    case kGrpcCancelled:
    case kGrpcDeadlineExceeded:
    case kGrpcAborted:
    case kGrpcOutOfRange:
    case kGrpcUnavailable:
    case kGrpcDataLoss:
      r.kind = SendResult::Kind::kRetryable;
      break;
    case kGrpcResourceExhausted:
      // Only a server that says when to come back can recover (OTLP spec, "Failures").
      r.kind = retry_delay ? SendResult::Kind::kRetryable : SendResult::Kind::kPermanent;
      break;
    default:
      r.kind = SendResult::Kind::kPermanent;
      return r;
  }
  if (retry_delay) r.retry_after_ms = *retry_delay;
  return r;
}

// ------------------------------------------------------------------------------------------------

struct OtlpGrpcSender::Impl {
  OtlpGrpcTarget target;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<collector::TraceService::Stub> stub;
};

OtlpGrpcSender::OtlpGrpcSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OtlpGrpcSender::~OtlpGrpcSender() = default;

Result<std::unique_ptr<OtlpGrpcSender>> OtlpGrpcSender::Create(OtlpGrpcTarget target) {
  if (target.host_port.empty()) return MakeError("OTLP/gRPC target: empty address");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (target.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!target.ca_file.empty()) {
      auto roots = ReadPemFile("CA file", target.ca_file);
      if (!roots) return roots.error();
      ssl.pem_root_certs = std::move(*roots);
    }
    if (target.client_cert_file.empty() != target.client_key_file.empty()) {
      return MakeError("OTLP/gRPC TLS: a client certificate needs both a cert and a key file");
    }
    if (!target.client_cert_file.empty()) {
      auto cert = ReadPemFile("client certificate", target.client_cert_file);
      if (!cert) return cert.error();
      auto key = ReadPemFile("client key", target.client_key_file);
      if (!key) return key.error();
      ssl.pem_cert_chain = std::move(*cert);
      ssl.pem_private_key = std::move(*key);
    }
    credentials = grpc::SslCredentials(ssl);
  } else if (!target.ca_file.empty() || !target.client_cert_file.empty()) {
    return MakeError("OTLP/gRPC target: CA or client certificate files given without TLS");
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  auto impl = std::make_unique<Impl>();
  for (auto& [key, value] : target.headers) key = AsciiLowercase(key);
  impl->target = std::move(target);
  impl->channel = grpc::CreateChannel(impl->target.host_port, credentials);
  impl->stub = collector::TraceService::NewStub(impl->channel);
  return std::unique_ptr<OtlpGrpcSender>(new OtlpGrpcSender(std::move(impl)));
}

SendResult OtlpGrpcSender::Send(const std::vector<Span>& batch) {
  collector::ExportTraceServiceRequest request;
  if (!request.ParseFromString(EncodeOtlpProtobuf(batch))) {
    SendResult r;
    r.kind = SendResult::Kind::kPermanent;
    r.reason = "cannot build the OTLP request";  // our own encoder failed: a bug, not the network
    return r;
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(impl_->target.timeout_ms));
  for (const auto& [key, value] : impl_->target.headers) context.AddMetadata(key, value);
  collector::ExportTraceServiceResponse response;
  const grpc::Status status = impl_->stub->Export(&context, request, &response);
  const bool partial = status.ok() && response.has_partial_success();
  return ClassifyOtlpGrpcStatus(static_cast<int>(status.error_code()), status.error_message(),
                                status.error_details(),
                                partial ? response.partial_success().rejected_spans() : 0,
                                partial ? response.partial_success().error_message() : "");
}

}  // namespace tracerig
