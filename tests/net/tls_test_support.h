// Test support for TLS: a throwaway PKI made with OpenSSL's C API at test time (two unrelated CAs,
// server certificates for 127.0.0.1/localhost and for another name, a client certificate), and a
// small HTTPS server on loopback (port 0, its own thread) that can require client certificates.
// Used by tests/net/tls_test.cc and tests/export/tls_test.cc.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "net/beast.h"

namespace tracerig::testing {

// PEM files in `dir`: ca.pem (+ca.key), other-ca.pem, server.pem/server.key (CN and SAN
// localhost, IP 127.0.0.1, signed by ca), wrong-name.pem/wrong-name.key (SAN elsewhere.invalid,
// signed by ca), client.pem/client.key (signed by ca).
Status MakeTestPki(const std::filesystem::path& dir);

// Makes the PKI in a fresh directory under the test temp dir and removes it on destruction.
class TestPki {
 public:
  TestPki();
  ~TestPki();
  const Status& status() const { return status_; }
  std::string File(std::string_view name) const { return (dir_ / name).string(); }
  std::string ReadFile(std::string_view name) const;

 private:
  std::filesystem::path dir_;
  Status status_ = Ok{};
};

using TlsHandler = std::function<HttpResponse(const HttpRequest&)>;

struct TlsServerOptions {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: a client certificate signed by this CA is required
};

class TlsFakeServer {
 public:
  TlsFakeServer(TlsServerOptions options, TlsHandler handler);
  ~TlsFakeServer();
  TlsFakeServer(const TlsFakeServer&) = delete;
  TlsFakeServer& operator=(const TlsFakeServer&) = delete;

  // Loads the files, listens on 127.0.0.1:0 and starts the server thread.
  Status Start();
  uint16_t port() const { return port_; }
  uint64_t handshakes() const { return handshakes_.load(); }
  uint64_t failed_handshakes() const { return failed_handshakes_.load(); }
  // The server learns of a handshake the client gave up on only after the client has returned:
  // waits until `n` failures were counted (10 s at most, a safety net), then returns the count.
  uint64_t WaitForFailedHandshakes(uint64_t n) const;
  uint64_t requests() const { return requests_.load(); }

  class Session;

 private:
  void Accept();

  TlsServerOptions options_;
  TlsHandler handler_;
  std::unique_ptr<struct TlsServerState> state_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> failed_handshakes_{0};
  mutable std::mutex failed_mu_;
  mutable std::condition_variable failed_cv_;
  std::atomic<uint64_t> requests_{0};
  std::thread thread_;
};

}  // namespace tracerig::testing
