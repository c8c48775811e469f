// Throwaway certificates and a loopback HTTPS server for the TLS tests (see the header).
#include "tests/net/tls_test_support.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <fstream>
#include <optional>

#include "tests/support/fixtures.h"
#include "tests/support/scratch_dir.h"

namespace tracerig::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `cn`, signed by `issuer` (self-signed when null). Valid from an
// hour ago for two days, so clock differences between test steps never matter.
Cert MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
              bool ca, const char* san) {
  Cert cert(X509_new());
  X509* x = cert.get();
  bool ok = X509_set_version(x, 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) != nullptr &&
            X509_set_pubkey(x, key) == 1 &&
            X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(cn), -1, -1,
                                       0) == 1 &&
            X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)) == 1;
  X509* signer = issuer ? issuer : x;
  ok = ok && AddExtension(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  ok = ok && AddExtension(x, signer, NID_subject_key_identifier, "hash");
  if (ca) ok = ok && AddExtension(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (san != nullptr) ok = ok && AddExtension(x, signer, NID_subject_alt_name, san);
  ok = ok && X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
  if (!ok) cert.reset();
  return cert;
}

bool WritePem(const std::filesystem::path& path, X509* cert, EVP_PKEY* key) {
  BIO* bio = BIO_new_file(path.c_str(), "w");
  if (bio == nullptr) return false;
  const bool ok = cert ? PEM_write_bio_X509(bio, cert) == 1
                       : PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr,
                                                  nullptr) == 1;
  BIO_free(bio);
  return ok;
}

}  // namespace

Status MakeTestPki(const std::filesystem::path& dir) {
  Key ca_key(EVP_EC_gen("P-256"));
  Key other_key(EVP_EC_gen("P-256"));
  Key server_key(EVP_EC_gen("P-256"));
  Key wrong_key(EVP_EC_gen("P-256"));
  Key client_key(EVP_EC_gen("P-256"));
  if (!ca_key || !other_key || !server_key || !wrong_key || !client_key) {
    return MakeError("cannot generate EC keys");
  }
  Cert ca = MakeCert(ca_key.get(), "tracerig-test-ca", nullptr, nullptr, 1, true, nullptr);
  Cert other = MakeCert(other_key.get(), "tracerig-other-ca", nullptr, nullptr, 2, true, nullptr);
  if (!ca || !other) return MakeError("cannot make the CA certificates");
  Cert server = MakeCert(server_key.get(), "localhost", ca.get(), ca_key.get(), 3, false,
                         "DNS:localhost,IP:127.0.0.1");
  Cert wrong = MakeCert(wrong_key.get(), "elsewhere.invalid", ca.get(), ca_key.get(), 4, false,
                        "DNS:elsewhere.invalid");
  Cert client = MakeCert(client_key.get(), "tracerig-test-client", ca.get(), ca_key.get(), 5,
                         false, nullptr);
  if (!server || !wrong || !client) return MakeError("cannot make the leaf certificates");
  const bool ok = WritePem(dir / "ca.pem", ca.get(), nullptr) &&
                  WritePem(dir / "ca.key", nullptr, ca_key.get()) &&
                  WritePem(dir / "other-ca.pem", other.get(), nullptr) &&
                  WritePem(dir / "server.pem", server.get(), nullptr) &&
                  WritePem(dir / "server.key", nullptr, server_key.get()) &&
                  WritePem(dir / "wrong-name.pem", wrong.get(), nullptr) &&
                  WritePem(dir / "wrong-name.key", nullptr, wrong_key.get()) &&
                  WritePem(dir / "client.pem", client.get(), nullptr) &&
                  WritePem(dir / "client.key", nullptr, client_key.get());
  if (!ok) return MakeError(fmt::format("cannot write PEM files to {}", dir.string()));
  return Ok{};
}

TestPki::TestPki() {
  dir_ = test_support::MakeScratchDir("tracerig-tls");
  status_ = dir_.empty() ? Status(MakeError("cannot make a scratch directory for the test PKI"))
                         : MakeTestPki(dir_);
}

TestPki::~TestPki() {
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string TestPki::ReadFile(std::string_view name) const {
  return test_support::ReadTestFile(dir_ / name).value_or("");
}

// The io_context, the server's TLS context and the acceptor. The context is declared first so
// it outlives the sessions the io_context destroys.
struct TlsServerState {
  asio::ssl::context ssl{asio::ssl::context::tls_server};
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
};

// One connection: handshake, then requests answered by the handler until the peer closes.
uint64_t TlsFakeServer::WaitForFailedHandshakes(uint64_t n) const {
  std::unique_lock lock(failed_mu_);
  failed_cv_.wait_for(lock, std::chrono::seconds(10),
                      [&] { return failed_handshakes_.load() >= n; });
  return failed_handshakes_.load();
}

class TlsFakeServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(TlsFakeServer& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket), server.state_->ssl) {}

  void Start() {
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) {
                                {
                                  std::lock_guard lock(self->server_.failed_mu_);
                                  self->server_.failed_handshakes_++;
                                }
                                self->server_.failed_cv_.notify_all();
                                return;
                              }
                              self->server_.handshakes_++;
                              self->Read();
                            });
  }

 private:
  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;  // closed, truncated or the client's certificate refused
                       self->server_.requests_++;
                       self->response_ = self->server_.handler_(self->request_);
                       self->response_.keep_alive(self->request_.keep_alive());
                       self->response_.prepare_payload();
                       http::async_write(self->stream_, self->response_,
                                         [self](beast::error_code e, size_t) {
                                           if (!e) self->Read();
                                         });
                     });
  }

  TlsFakeServer& server_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  HttpRequest request_;
  HttpResponse response_;
};

TlsFakeServer::TlsFakeServer(TlsServerOptions options, TlsHandler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      state_(std::make_unique<TlsServerState>()) {}

TlsFakeServer::~TlsFakeServer() {
  state_->ioc.stop();
  if (thread_.joinable()) thread_.join();
}

Status TlsFakeServer::Start() {
  beast::error_code ec;
  auto& ssl = state_->ssl;
  ssl.use_certificate_chain_file(options_.cert_file, ec);
  if (!ec) ssl.use_private_key_file(options_.key_file, asio::ssl::context::pem, ec);
  if (!ec && !options_.client_ca_file.empty()) {
    ssl.load_verify_file(options_.client_ca_file, ec);
    ssl.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  if (ec) return MakeError("test TLS server: cannot load its files: " + ec.message());
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return MakeError("test TLS server: cannot listen: " + ec.message());
  port_ = acceptor.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { state_->ioc.run(); });
  return Ok{};
}

void TlsFakeServer::Accept() {
  state_->acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    std::make_shared<Session>(*this, std::move(socket))->Start();
    Accept();
  });
}

}  // namespace tracerig::testing
