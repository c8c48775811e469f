#include "net/http_server.h"

#include <fmt/format.h>

namespace tracerig {
namespace {

// One connection: read a request, hand it to the handler, write its response, repeat while alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpHandler> handler,
          std::shared_ptr<const HttpServerOptions> options, std::shared_ptr<HttpServerStats> stats)
      : stream_(std::move(socket)),
        handler_(std::move(handler)),
        options_(std::move(options)),
        stats_(std::move(stats)) {}

  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(options_->body_limit);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(first_request_ ? options_->read_timeout : options_->idle_timeout);
    first_request_ = false;
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
      Close();
      return;
    }
    if (ec == http::error::body_limit) {
      stats_->too_large++;
      RespondError(http::status::payload_too_large,
                   fmt::format("request body exceeds the limit of {} bytes", options_->body_limit));
      return;
    }
    if (ec) {
      stats_->bad_requests++;
      RespondError(http::status::bad_request, fmt::format("malformed HTTP request: {}", ec.message()));
      return;
    }
    stats_->requests++;
    HttpRequest request = parser_->release();
    keep_alive_ = request.keep_alive();
    auto self = shared_from_this();
    (*handler_)(std::move(request), [self](HttpResponse&& response) {
      self->Write(std::move(response));
    });
  }

  // Errors before the handler: answer and close, since the stream position is unknown.
  void RespondError(http::status status, std::string message) {
    keep_alive_ = false;
    HttpResponse response{status, 11};
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = std::move(message) + "\n";
    Write(std::move(response));
  }

  void Write(HttpResponse&& response) {
    response_ = std::move(response);
    response_.set(http::field::server, options_->server_name);
    response_.keep_alive(keep_alive_ && response_.keep_alive());
    response_.prepare_payload();
    stream_.expires_after(options_->write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->OnWrite(ec);
                      });
  }

  void OnWrite(beast::error_code ec) {
    if (ec || !response_.keep_alive()) {
      Close();
      return;
    }
    Read();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpResponse response_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<const HttpServerOptions> options_;
  std::shared_ptr<HttpServerStats> stats_;
  bool keep_alive_ = true;
  bool first_request_ = true;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& ioc, HttpHandler handler, HttpServerOptions options)
    : ioc_(ioc),
      acceptor_(ioc),
      handler_(std::make_shared<const HttpHandler>(std::move(handler))),
      options_(std::make_shared<const HttpServerOptions>(std::move(options))),
      stats_(std::make_shared<HttpServerStats>()) {}

HttpServer::~HttpServer() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

Status HttpServer::Listen(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return MakeError(fmt::format("cannot listen on {}:{}: {}", endpoint.address().to_string(),
                                 endpoint.port(), ec.message()));
  }
  Accept();
  return Ok{};
}

tcp::endpoint HttpServer::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void HttpServer::Stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

void HttpServer::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      stats_->connections++;
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), handler_, options_, stats_)->Start();
    }
    Accept();
  });
}

HttpResponse MakeResponse(const HttpRequest& request, http::status status, std::string content_type,
                          std::string body) {
  HttpResponse response{status, request.version()};
  response.keep_alive(request.keep_alive());
  if (!content_type.empty()) response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

}  // namespace tracerig
