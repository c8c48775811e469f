#include "net/http_client.h"

#include <fmt/format.h>

namespace tracerig {

class HttpClientPool::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpClientPool& pool, asio::io_context& ioc) : pool_(&pool), alive_(pool.alive_), stream_(ioc) {}

  void Connect(HttpRequest request, HttpClientCallback done) {
    stream_.expires_after(pool_->options_.connect_timeout);
    auto self = shared_from_this();
    stream_.async_connect(pool_->target_, [self, request = std::move(request),
                                           done = std::move(done)](beast::error_code ec) mutable {
      if (ec) {
        self->Fail(ec, done);
        return;
      }
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay(true), ignored);
      self->Send(std::move(request), std::move(done), /*reused=*/false);
    });
  }

  void Send(HttpRequest request, HttpClientCallback done, bool reused) {
    request_ = std::move(request);
    request_.keep_alive(true);
    request_.prepare_payload();
    stream_.expires_after(pool_->options_.request_timeout);
    auto self = shared_from_this();
    http::async_write(stream_, request_, [self, done = std::move(done), reused](
                                             beast::error_code ec, size_t) mutable {
      if (ec) {
        self->RetryOrFail(ec, std::move(done), reused);
        return;
      }
      self->parser_.emplace();
      self->parser_->body_limit(self->pool_->options_.body_limit);
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self, done = std::move(done), reused](beast::error_code ec, size_t) mutable {
                         self->OnRead(ec, std::move(done), reused);
                       });
    });
  }

 private:
  void OnRead(beast::error_code ec, HttpClientCallback done, bool reused) {
    if (ec) {
      // Nothing received on a reused connection: the server closed it while idle; try a new one.
      RetryOrFail(ec, std::move(done), reused && !parser_->got_some());
      return;
    }
    HttpResponse response = parser_->release();
    bool keep = response.keep_alive();
    if (*alive_) {
      if (keep) {
        pool_->Release(shared_from_this());
      } else {
        CloseAndForget();
      }
    }
    done(ec, std::move(response));
  }

  void RetryOrFail(beast::error_code ec, HttpClientCallback done, bool retry) {
    if (retry && *alive_) {
      CloseAndForget();
      pool_->Send(std::move(request_), std::move(done));
      return;
    }
    Fail(ec, done);
  }

  void Fail(beast::error_code ec, HttpClientCallback& done) {
    if (*alive_) CloseAndForget();
    done(ec, HttpResponse{});
  }

  void CloseAndForget() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    if (!closed_) {
      closed_ = true;
      pool_->open_--;
    }
  }

  HttpClientPool* pool_;
  std::shared_ptr<bool> alive_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  HttpRequest request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool closed_ = false;
};

HttpClientPool::HttpClientPool(asio::io_context& ioc, tcp::endpoint target, HttpClientOptions options)
    : ioc_(ioc), target_(std::move(target)), options_(options), alive_(std::make_shared<bool>(true)) {}

HttpClientPool::~HttpClientPool() { *alive_ = false; }

void HttpClientPool::Send(HttpRequest request, HttpClientCallback done) {
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    connection->Send(std::move(request), std::move(done), /*reused=*/true);
    return;
  }
  open_++;
  auto connection = std::make_shared<Connection>(*this, ioc_);
  connection->Connect(std::move(request), std::move(done));
}

void HttpClientPool::Release(std::shared_ptr<Connection> connection) {
  if (idle_.size() < options_.max_idle_connections) {
    idle_.push_back(std::move(connection));
  } else {
    open_--;
  }
}

// --- BlockingHttpClient: async operations on a private io_context, run with a deadline. ---

BlockingHttpClient::BlockingHttpClient(std::string host, uint16_t port, HttpClientOptions options)
    : host_(std::move(host)), port_(port), options_(options) {}

BlockingHttpClient::~BlockingHttpClient() = default;

Status BlockingHttpClient::Connect() {
  stream_ = std::make_unique<beast::tcp_stream>(ioc_);
  buffer_.clear();
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
  if (ec) return MakeError(fmt::format("cannot resolve {}: {}", host_, ec.message()));
  stream_->expires_after(options_.connect_timeout);
  bool done = false;
  stream_->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  ioc_.restart();
  ioc_.run();
  if (!done || ec) {
    stream_.reset();
    return MakeError(fmt::format("cannot connect to {}:{}: {}", host_, port_,
                                 ec == beast::error::timeout ? "timed out" : ec.message()));
  }
  beast::error_code ignored;
  stream_->socket().set_option(tcp::no_delay(true), ignored);
  return Ok{};
}

Result<BlockingResponse> BlockingHttpClient::Attempt(const HttpRequest& request) {
  beast::error_code ec;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.body_limit);
  stream_->expires_after(options_.request_timeout);
  bool got_some = false;
  http::async_write(*stream_, request, [&](beast::error_code e, size_t) {
    if (e) {
      ec = e;
      return;
    }
    http::async_read(*stream_, buffer_, parser, [&](beast::error_code e2, size_t) {
      ec = e2;
      got_some = parser.got_some();
    });
  });
  ioc_.restart();
  ioc_.run();
  if (ec) {
    stream_.reset();
    return MakeError(fmt::format("{} from {}:{}{}",
                                 ec == beast::error::timeout ? std::string("timed out") : ec.message(),
                                 host_, port_, got_some ? " (mid-response)" : ""));
  }
  auto response = parser.release();
  BlockingResponse out;
  out.status = response.result_int();
  out.content_type = std::string(response[http::field::content_type]);
  out.retry_after = std::string(response[http::field::retry_after]);
  out.body = std::move(response.body());
  if (!response.keep_alive()) stream_.reset();
  return out;
}

Result<BlockingResponse> BlockingHttpClient::Request(
    http::verb method, std::string_view target, std::string_view content_type, std::string body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest request{method, std::string(target), 11};
  request.set(http::field::host, fmt::format("{}:{}", host_, port_));
  request.set(http::field::user_agent, "tracerig");
  if (!content_type.empty()) request.set(http::field::content_type, std::string(content_type));
  for (const auto& [k, v] : headers) request.set(k, v);
  request.body() = std::move(body);
  request.keep_alive(true);
  request.prepare_payload();
  // A kept-alive connection may have been closed by the server while idle: retry once fresh.
  bool reused = stream_ != nullptr;
  if (!stream_) {
    if (auto s = Connect(); !s) return s.error();
  }
  auto result = Attempt(request);
  if (!result && reused) {
    if (auto s = Connect(); !s) return s.error();
    result = Attempt(request);
  }
  return result;
}

}  // namespace tracerig
