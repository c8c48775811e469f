// BlockingHttpClient over TLS against a loopback HTTPS server with throwaway certificates: the
// right CA works, a wrong CA, a wrong name and a missing client certificate fail with the reason,
// and loading errors name the file without ever showing a file's contents or a header's value.
// HttpClientPool over TLS too: keep-alive over one handshake, SNI/name check against tls_host,
// and a failed handshake's phase and reason for the caller.
#include "net/tls.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "net/http_client.h"
#include "tests/net/tls_test_support.h"

namespace tracerig {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestPki;
using testing::TlsFakeServer;
using testing::TlsServerOptions;

HttpResponse Echo(const HttpRequest& request) {
  HttpResponse response{http::status::ok, request.version()};
  response.set(http::field::content_type, "text/plain");
  response.body() = "tls: " + std::string(request.target()) + " " +
                    std::string(request[http::field::authorization]);
  return response;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.status()) << pki_.status().error().message;
  }

  std::unique_ptr<TlsFakeServer> StartServer(std::string_view cert, bool require_client_cert) {
    TlsServerOptions options;
    options.cert_file = pki_.File(std::string(cert) + ".pem");
    options.key_file = pki_.File(std::string(cert) + ".key");
    if (require_client_cert) options.client_ca_file = pki_.File("ca.pem");
    auto server = std::make_unique<TlsFakeServer>(options, Echo);
    auto s = server->Start();
    EXPECT_TRUE(s) << s.error().message;
    return server;
  }

  HttpClientOptions ClientOptions(TlsConfig config) {
    HttpClientOptions options;
    auto context = LoadTlsClientContext(config);
    EXPECT_TRUE(context) << context.error().message;
    if (context) options.tls = *context;
    return options;
  }

  TlsConfig WithCa(std::string_view ca = "ca.pem") {
    TlsConfig config;
    config.ca_file = pki_.File(ca);
    return config;
  }

  TestPki pki_;
};

TEST_F(TlsTest, RequestsSucceedWithTheRightCaOverOneConnection) {
  auto server = StartServer("server", false);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    BlockingHttpClient client(host, server->port(), ClientOptions(WithCa()));
    for (int i = 0; i < 3; ++i) {
      auto r = client.Request(http::verb::post, "/v1/traces", "application/x-protobuf", "abc",
                              {{"authorization", "Bearer t"}});
      ASSERT_TRUE(r) << host << ": " << r.error().message;
      EXPECT_EQ(r->status, 200u);
      EXPECT_EQ(r->body, "tls: /v1/traces Bearer t");
    }
  }
  EXPECT_EQ(server->handshakes(), 2u);  // one per client: keep-alive holds
  EXPECT_EQ(server->requests(), 6u);
}

TEST_F(TlsTest, VerificationFailuresSayWhy) {
  struct Case {
    const char* name;
    const char* server_cert;
    const char* client_host;
    const char* ca;
    std::string reason;
  };
  const Case cases[] = {
      {"wrong CA", "server", "127.0.0.1", "other-ca.pem",
       "certificate verify failed: unable to get local issuer certificate"},
      {"wrong IP", "wrong-name", "127.0.0.1", "ca.pem",
       "certificate verify failed: IP address mismatch"},
      {"wrong name", "wrong-name", "localhost", "ca.pem",
       "certificate verify failed: hostname mismatch"},
  };
  for (const Case& c : cases) {
    auto server = StartServer(c.server_cert, false);
    BlockingHttpClient client(c.client_host, server->port(), ClientOptions(WithCa(c.ca)));
    auto r = client.Request(http::verb::get, "/", {}, {}, {{"authorization", "Bearer s3cr3t"}});
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().message, fmt::format("TLS handshake with {}:{} failed: {}", c.client_host,
                                             server->port(), c.reason))
        << c.name;
    EXPECT_THAT(r.error().message, Not(HasSubstr("s3cr3t"))) << c.name;
    EXPECT_EQ(server->requests(), 0u) << c.name;
  }
}

TEST_F(TlsTest, ServerRequiringAClientCertificate) {
  auto server = StartServer("server", true);
  {
    BlockingHttpClient client("127.0.0.1", server->port(), ClientOptions(WithCa()));
    auto r = client.Get("/without");
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("certificate required"));
  }
  TlsConfig config = WithCa();
  config.client_cert_file = pki_.File("client.pem");
  config.client_key_file = pki_.File("client.key");
  BlockingHttpClient client("127.0.0.1", server->port(), ClientOptions(config));
  auto r = client.Get("/with");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "tls: /with ");
  EXPECT_EQ(server->requests(), 1u);
}

TEST_F(TlsTest, PlainClientAgainstTlsServerFailsInsteadOfHanging) {
  auto server = StartServer("server", false);
  HttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(10000);
  BlockingHttpClient client("127.0.0.1", server->port(), options);
  auto r = client.Get("/");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, Not(HasSubstr("timed out")));
}

TEST_F(TlsTest, LoadErrorsNameTheFileAndNeverItsContents) {
  const std::string secret_key = pki_.File("secret.key");
  std::ofstream(secret_key) << "-----BEGIN PRIVATE KEY-----\nSUPERSECRETKEYMATERIAL\n"
                               "-----END PRIVATE KEY-----\n";
  const std::string garbage = pki_.File("garbage.pem");
  std::ofstream(garbage) << "not a certificate\n";
  const std::string dir = pki_.File("");
  struct Case {
    TlsConfig config;
    std::string error;
  };
  const std::string ca = pki_.File("ca.pem");
  const std::string cert = pki_.File("client.pem");
  const std::string key = pki_.File("client.key");
  const std::string other_key = pki_.File("server.key");
  const Case cases[] = {
      {{"/nonexistent/ca.pem", "", ""}, "ca_file /nonexistent/ca.pem: no such file"},
      {{dir, "", ""}, fmt::format("ca_file {}: is a directory, not a PEM file", dir)},
      {{garbage, "", ""},
       fmt::format("ca_file {}: not a PEM CA bundle (no certificate or crl found)", garbage)},
      {{ca, cert, ""},
       fmt::format("client_cert {} needs client_key too (a client certificate and its key go "
                   "together)",
                   cert)},
      {{ca, "", key},
       fmt::format("client_key {} needs client_cert too (a client certificate and its key go "
                   "together)",
                   key)},
      {{ca, "/nonexistent/c.pem", key}, "client_cert /nonexistent/c.pem: no such file"},
      {{ca, cert, "/nonexistent/c.key"}, "client_key /nonexistent/c.key: no such file"},
      {{ca, garbage, key}, fmt::format("client_cert {}: not a PEM certificate (no start line)",
                                       garbage)},
      {{ca, cert, other_key},
       fmt::format("client_key {} does not match client_cert {}", other_key, cert)},
  };
  for (const Case& c : cases) {
    auto context = LoadTlsClientContext(c.config);
    ASSERT_FALSE(context) << c.error;
    EXPECT_EQ(context.error().message, c.error);
  }
  // A broken key: the message names the file, never what is in it.
  auto context = LoadTlsClientContext({ca, cert, secret_key});
  ASSERT_FALSE(context);
  EXPECT_THAT(context.error().message, HasSubstr("client_key " + secret_key + ": not an"));
  EXPECT_THAT(context.error().message, Not(HasSubstr("SUPERSECRET")));
  // Nor does a mismatch show the real key's lines.
  auto mismatch = LoadTlsClientContext({ca, cert, other_key});
  ASSERT_FALSE(mismatch);
  const std::string key_text = pki_.ReadFile("server.key");
  const std::string key_line = key_text.substr(key_text.find('\n') + 1, 40);
  EXPECT_THAT(mismatch.error().message, Not(HasSubstr(key_line)));
}

TEST_F(TlsTest, SystemRootsDoNotTrustAThrowawayCa) {
  auto server = StartServer("server", false);
  BlockingHttpClient client("127.0.0.1", server->port(), ClientOptions(TlsConfig{}));
  auto r = client.Get("/");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("certificate verify failed"));
}

// Sends `n` requests one after another on `pool`, running `ioc` until each is answered.
std::vector<std::pair<beast::error_code, unsigned>> SendInTurn(asio::io_context& ioc,
                                                                HttpClientPool& pool, int n) {
  std::vector<std::pair<beast::error_code, unsigned>> results;
  for (int i = 0; i < n; ++i) {
    HttpRequest request{http::verb::get, "/pool", 11};
    request.set(http::field::host, "localhost");
    bool done = false;
    pool.Send(std::move(request), [&](beast::error_code ec, HttpResponse&& response) {
      results.emplace_back(ec, response.result_int());
      done = true;
    });
    ioc.restart();
    while (!done && ioc.run_one_for(std::chrono::seconds(20)) > 0) {
    }
    if (!done) ADD_FAILURE() << "request " << i << " never finished";
  }
  return results;
}

TEST_F(TlsTest, PoolSpeaksHttpsOverOneKeptAliveConnection) {
  auto server = StartServer("server", false);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    asio::io_context ioc;
    HttpClientOptions options = ClientOptions(WithCa());
    options.tls_host = host;
    HttpClientPool pool(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port()),
                        options);
    for (const auto& [ec, status] : SendInTurn(ioc, pool, 3)) {
      EXPECT_FALSE(ec) << ec.message();
      EXPECT_EQ(status, 200u);
    }
    EXPECT_EQ(pool.open_connections(), 1u);
  }
  EXPECT_EQ(server->handshakes(), 2u);  // one per pool
  EXPECT_EQ(server->requests(), 6u);
}

TEST_F(TlsTest, PoolReportsAFailedHandshakeWithItsReason) {
  auto server = StartServer("wrong-name", false);
  asio::io_context ioc;
  HttpClientOptions options = ClientOptions(WithCa());
  options.tls_host = "localhost";
  HttpClientPool pool(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port()),
                      options);
  const auto results = SendInTurn(ioc, pool, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].first);
  EXPECT_EQ(pool.last_failure_phase(), TransportPhase::kTlsHandshake);
  EXPECT_THAT(pool.last_failure_detail(), HasSubstr("hostname mismatch"));
  EXPECT_EQ(server->requests(), 0u);
}

TEST_F(TlsTest, PlainPoolReportsTheConnectPhaseOfARefusedConnection) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint closed = acceptor.local_endpoint();
  acceptor.close();
  HttpClientPool pool(ioc, closed);
  const auto results = SendInTurn(ioc, pool, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].first, asio::error::connection_refused);
  EXPECT_EQ(pool.last_failure_phase(), TransportPhase::kConnect);
  EXPECT_EQ(pool.last_failure_detail(), "");
}

}  // namespace
}  // namespace tracerig
