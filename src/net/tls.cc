// Loading TLS client contexts from PEM files, with errors that say which file is wrong and why.
// Also compiles Asio's SSL support once (BOOST_ASIO_SEPARATE_COMPILATION, as asio_impl.cc does
// for the rest of Asio).
#include "net/tls.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/impl/src.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "net/tls_context.h"

namespace tracerig {
namespace {

// OpenSSL's reason for the last failure on this thread (the oldest queued error is the root
// cause), clearing the queue so a later failure is not blamed on it.
std::string TakeOpenSslReason() {
  const unsigned long first = ERR_get_error();
  ERR_clear_error();
  const char* reason = first != 0 ? ERR_reason_error_string(first) : nullptr;
  return reason != nullptr ? reason : "not understood by OpenSSL";
}

// The file exists, is a regular file and can be read: OpenSSL's own messages for these cases
// ("system lib") do not say which.
Status CheckReadable(std::string_view what, const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    return MakeError(fmt::format("{} {}: no such file", what, path));
  }
  if (ec) return MakeError(fmt::format("{} {}: {}", what, path, ec.message()));
  if (std::filesystem::is_directory(status)) {
    return MakeError(fmt::format("{} {}: is a directory, not a PEM file", what, path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(fmt::format("{} {}: cannot read: {}", what, path, std::strerror(errno)));
  }
  return Ok{};
}

// Never asks for a passphrase: OpenSSL would otherwise prompt on the terminal for an encrypted
// key and block the run.
int RefusePassphrase(char*, int, int, void*) { return 0; }

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<std::shared_ptr<const TlsClientContext>> LoadTlsClientContext(const TlsConfig& config) {
  if (config.client_cert_file.empty() != config.client_key_file.empty()) {
    return MakeError(
        config.client_cert_file.empty()
            ? fmt::format("client_key {} needs client_cert too (a client certificate and its key "
                          "go together)",
                          config.client_key_file)
            : fmt::format("client_cert {} needs client_key too (a client certificate and its key "
                          "go together)",
                          config.client_cert_file));
  }
  auto context = std::make_shared<TlsClientContext>();
  SSL_CTX* ctx = context->native().native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_default_passwd_cb(ctx, RefusePassphrase);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (config.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return MakeError("TLS: cannot load the system's CA certificates: " + TakeOpenSslReason());
    }
  } else {
    if (auto s = CheckReadable("ca_file", config.ca_file); !s) return s.error();
    if (SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1) {
      return MakeError(fmt::format("ca_file {}: not a PEM CA bundle ({})", config.ca_file,
                                   TakeOpenSslReason()));
    }
  }
  if (!config.client_cert_file.empty()) {
    if (auto s = CheckReadable("client_cert", config.client_cert_file); !s) return s.error();
    if (auto s = CheckReadable("client_key", config.client_key_file); !s) return s.error();
    if (SSL_CTX_use_certificate_chain_file(ctx, config.client_cert_file.c_str()) != 1) {
      return MakeError(fmt::format("client_cert {}: not a PEM certificate ({})",
                                   config.client_cert_file, TakeOpenSslReason()));
    }
    const std::string mismatch = fmt::format("client_key {} does not match client_cert {}",
                                             config.client_key_file, config.client_cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, config.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      // OpenSSL compares the key with the certificate while loading it.
      const unsigned long error = ERR_peek_last_error();
      if (ERR_GET_LIB(error) == ERR_LIB_X509 &&
          ERR_GET_REASON(error) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        return MakeError(mismatch);
      }
      return MakeError(fmt::format(
          "client_key {}: not an unencrypted PEM private key ({})", config.client_key_file,
          TakeOpenSslReason()));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return MakeError(mismatch);
    }
  }
  return std::shared_ptr<const TlsClientContext>(std::move(context));
}

Status PrepareTlsClientSession(SSL* ssl, const std::string& host) {
  ERR_clear_error();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (IsIpLiteral(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      return MakeError(fmt::format("TLS: cannot check certificates for address {}: {}", host,
                                   TakeOpenSslReason()));
    }
    return Ok{};
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1 || SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return MakeError(
        fmt::format("TLS: cannot check certificates for host {}: {}", host, TakeOpenSslReason()));
  }
  return Ok{};
}

std::string DescribeTlsError(const beast::error_code& ec, SSL* ssl) {
  std::string text = ec.message();
  if (ssl != nullptr) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      text += ": ";
      text += X509_verify_cert_error_string(verify);
    }
  }
  ERR_clear_error();
  return text;
}

}  // namespace tracerig
