#include "net/http_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/parser_feed.h"
#include "net/tls_context.h"

namespace tracerig {

namespace {

using SteadyClock = std::chrono::steady_clock;

// How often a pool checks its busy connections' deadlines: a tenth of the shorter timeout (so a
// timeout fires at most ~10% late), between 1 ms and 100 ms.
SteadyClock::duration SweepPeriod(const HttpClientOptions& options) {
  const SteadyClock::duration shortest = std::min(options.connect_timeout, options.request_timeout);
  return std::clamp<SteadyClock::duration>(shortest / 10, std::chrono::milliseconds(1),
                                           std::chrono::milliseconds(100));
}

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kNotBusy = static_cast<size_t>(-1);

}  // namespace

// One keep-alive connection running one exchange at a time: connect (if new; then the TLS
// handshake when the pool has TLS), write the whole request, read one response. The request, the
// callback, the write and read buffers live here and are reused, so an exchange allocates little
// beyond the response itself. Handlers capture only `self`, small enough for Asio's recycled
// handler memory.
class HttpClientPool::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpClientPool& pool, asio::io_context& ioc)
      : pool_(&pool), alive_(pool.alive_), socket_(ioc) {}

  void Connect(HttpRequest request, HttpClientCallback done) {
    request_ = std::move(request);
    done_ = std::move(done);
    reused_ = false;
    Begin(pool_->options_.connect_timeout);
    phase_ = TransportPhase::kConnect;
    socket_.async_connect(pool_->target_, [self = shared_from_this()](beast::error_code ec) {
      self->OnConnect(ec);
    });
  }

  void Send(HttpRequest request, HttpClientCallback done, bool reused) {
    request_ = std::move(request);
    done_ = std::move(done);
    reused_ = reused;
    Begin(pool_->options_.request_timeout);
    Write();
  }

  // Called by the pool's sweep: past its deadline, the connection is closed, which ends its
  // pending operation; that operation's handler then reports beast::error::timeout.
  void TimeOutIfLate(SteadyClock::time_point now) {
    if (now < deadline_) return;
    timed_out_ = true;
    beast::error_code ignored;
    socket_.close(ignored);
  }

  size_t busy_index = kNotBusy;  // position in the pool's busy_ list (the pool's bookkeeping)

 private:
  void Begin(SteadyClock::duration timeout) {
    deadline_ = SteadyClock::now() + timeout;
    timed_out_ = false;
    if (*alive_) pool_->MarkBusy(this);
  }

  // An operation's error, or timeout when the sweep ended it.
  beast::error_code Outcome(beast::error_code ec) const {
    return timed_out_ ? beast::error_code(beast::error::timeout) : ec;
  }

  void OnConnect(beast::error_code ec) {
    ec = Outcome(ec);
    if (ec) {
      RetryOrFail(ec, /*retry=*/false);
      return;
    }
    beast::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    if (pool_->options_.tls) {
      Handshake();  // within the connect deadline
      return;
    }
    // Writes are tried at once and fall back to the reactor only when the socket is full.
    socket_.non_blocking(true, ignored);
    deadline_ = SteadyClock::now() + pool_->options_.request_timeout;
    Write();
  }

  void Handshake() {
    phase_ = TransportPhase::kTlsHandshake;
    tls_ = std::make_unique<TlsOverSocket>(socket_, pool_->options_.tls->native());
    const std::string& host = pool_->options_.tls_host.empty()
                                  ? (tls_host_ = pool_->target_.address().to_string())
                                  : pool_->options_.tls_host;
    if (auto s = PrepareTlsClientSession(tls_->native_handle(), host); !s) {
      tls_failure_ = s.error().message;
      PostFailure(asio::error::invalid_argument, /*retry=*/false);
      return;
    }
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this()](beast::error_code ec) {
                            ec = self->Outcome(ec);
                            if (ec) {
                              if (ec != beast::error::timeout) {
                                self->tls_failure_ =
                                    DescribeTlsError(ec, self->tls_->native_handle());
                              }
                              self->RetryOrFail(ec, /*retry=*/false);
                              return;
                            }
                            self->deadline_ =
                                SteadyClock::now() + self->pool_->options_.request_timeout;
                            self->Write();
                          });
  }

  void Write() {
    phase_ = TransportPhase::kWrite;
    request_.keep_alive(true);
    request_.prepare_payload();
    // Beast frames the request; its bytes go to one reused buffer and out in (usually) one send.
    out_.clear();
    written_ = 0;
    beast::error_code ec;
    http::request_serializer<http::string_body> serializer(request_);
    while (!ec && !serializer.is_done()) {
      serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (const auto buffer : beast::buffers_range_ref(buffers)) {
          out_.append(static_cast<const char*>(buffer.data()), buffer.size());
        }
        serializer.consume(beast::buffer_bytes(buffers));
      });
    }
    if (ec) {
      PostFailure(ec, /*retry=*/false);
      return;
    }
    if (tls_) {
      asio::async_write(*tls_, asio::const_buffer(out_.data(), out_.size()),
                        [self = shared_from_this()](beast::error_code e, size_t) {
                          e = self->Outcome(e);
                          if (e) {
                            self->RetryOrFail(e, self->reused_);
                            return;
                          }
                          self->Read();
                        });
      return;
    }
    WriteSome();
  }

  void WriteSome() {
    while (written_ < out_.size()) {
      beast::error_code ec;
      const size_t n = socket_.write_some(
          asio::const_buffer(out_.data() + written_, out_.size() - written_), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        // Not from inside Send: the caller gets its callback from the io_context, as always.
        PostFailure(ec, reused_);
        return;
      }
      written_ += n;
    }
    if (written_ == out_.size()) {
      Read();
      return;
    }
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
      ec = self->Outcome(ec);
      if (ec) {
        self->RetryOrFail(ec, self->reused_);
        return;
      }
      self->WriteSome();
    });
  }

  void Read() {
    phase_ = TransportPhase::kRead;
    parser_.emplace();
    parser_->body_limit(pool_->options_.body_limit);
    if (buffer_.size() > 0) {
      // Bytes the server sent beyond the last response: parse them first, from the io_context.
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (!self->Parse()) self->ReadSome();
      });
      return;
    }
    ReadSome();
  }

  void ReadSome() {
    if (tls_) {
      tls_->async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              // A server closing without TLS's close_notify: the end of the stream.
                              if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
                              self->OnReadSome(ec, n);
                            });
      return;
    }
    socket_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->OnReadSome(ec, n);
                            });
  }

  void OnReadSome(beast::error_code ec, size_t n) {
    ec = Outcome(ec);
    if (ec == asio::error::eof) {
      // The end of a close-delimited body, a response cut short, or (nothing received)
      // end_of_stream.
      ec = EndOfStream(*parser_);
      if (!ec) {
        Complete();
        return;
      }
    }
    if (ec) {
      // Nothing received on a reused connection: the server closed it while idle; try a new one.
      RetryOrFail(ec, reused_ && !parser_->got_some());
      return;
    }
    buffer_.commit(n);
    if (!Parse()) ReadSome();
  }

  // Feeds the buffered bytes to the parser; true when the exchange has ended (response or error).
  bool Parse() {
    if (const beast::error_code ec = FeedParser(*parser_, buffer_)) {
      RetryOrFail(ec, reused_ && !parser_->got_some());
      return true;
    }
    if (!parser_->is_done()) return false;
    Complete();
    return true;
  }

  void Complete() {
    HttpResponse response = parser_->release();
    const bool keep = response.keep_alive();
    // The callback may send again on this very connection, which replaces done_.
    HttpClientCallback done = std::move(done_);
    auto self = shared_from_this();
    if (*alive_) {
      pool_->MarkDone(this);
      if (keep) {
        pool_->Release(self);
      } else {
        CloseAndForget();
      }
    }
    done(beast::error_code{}, std::move(response));
  }

  void PostFailure(beast::error_code ec, bool retry) {
    asio::post(socket_.get_executor(),
               [self = shared_from_this(), ec, retry] { self->RetryOrFail(ec, retry); });
  }

  // A retry is only for a reused connection the server had closed while idle (nothing received).
  // Never after a timeout: the server may be processing the request, and sending it again would
  // deliver it twice while the caller counts one attempt.
  void RetryOrFail(beast::error_code ec, bool retry) {
    retry = retry && ec != beast::error::timeout;
    HttpClientCallback done = std::move(done_);
    if (*alive_) {
      pool_->MarkDone(this);
      CloseAndForget();
    }
    if (retry && *alive_) {
      pool_->Send(std::move(request_), std::move(done));
      return;
    }
    if (*alive_) {
      pool_->last_failure_phase_ = phase_;
      pool_->last_failure_detail_.swap(tls_failure_);  // no copy; "" unless a handshake failed
      tls_failure_.clear();
    }
    done(ec, HttpResponse{});
  }

  void CloseAndForget() {
    beast::error_code ignored;
    socket_.close(ignored);
    if (!closed_) {
      closed_ = true;
      pool_->open_--;
    }
  }

  // TLS on top of socket_ (which the deadline sweep closes either way); null for plain HTTP.
  using TlsOverSocket = asio::ssl::stream<tcp::socket&>;

  HttpClientPool* pool_;
  std::shared_ptr<bool> alive_;
  tcp::socket socket_;
  std::unique_ptr<TlsOverSocket> tls_;
  std::string tls_host_;     // the target's address, when the pool names no TLS host
  std::string tls_failure_;  // why the handshake failed (certificate verification), if it did
  TransportPhase phase_ = TransportPhase::kConnect;
  SteadyClock::time_point deadline_{};
  bool timed_out_ = false;
  bool reused_ = false;
  bool closed_ = false;
  HttpRequest request_;
  HttpClientCallback done_;
  std::string out_;
  size_t written_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

HttpClientPool::HttpClientPool(asio::io_context& ioc, tcp::endpoint target, HttpClientOptions options)
    : ioc_(ioc),
      target_(std::move(target)),
      options_(options),
      sweep_period_(SweepPeriod(options)),
      sweep_(ioc),
      alive_(std::make_shared<bool>(true)) {}

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

void HttpClientPool::MarkBusy(Connection* connection) {
  if (connection->busy_index != kNotBusy) return;
  connection->busy_index = busy_.size();
  busy_.push_back(connection);
  if (!sweep_armed_) ArmSweep();
}

void HttpClientPool::MarkDone(Connection* connection) {
  const size_t i = connection->busy_index;
  if (i == kNotBusy) return;
  busy_[i] = busy_.back();
  busy_[i]->busy_index = i;
  busy_.pop_back();
  connection->busy_index = kNotBusy;
  // An idle pool holds no timer, so an io_context with nothing else to do can return from run().
  if (busy_.empty() && sweep_armed_) {
    sweep_armed_ = false;
    sweep_.cancel();
  }
}

void HttpClientPool::ArmSweep() {
  sweep_armed_ = true;
  sweep_.expires_after(sweep_period_);
  sweep_.async_wait([this, alive = alive_](beast::error_code ec) {
    if (ec || !*alive) return;
    sweep_armed_ = false;
    Sweep();
  });
}

void HttpClientPool::Sweep() {
  const auto now = SteadyClock::now();
  // A late connection's handler takes it off busy_ later, never during this loop.
  for (Connection* connection : busy_) connection->TimeOutIfLate(now);
  if (!busy_.empty() && !sweep_armed_) ArmSweep();
}

// --- BlockingHttpClient: async operations on a private io_context, run with a deadline. ---

class BlockingHttpClient::TlsStream {
 public:
  TlsStream(beast::tcp_stream&& tcp, asio::ssl::context& context)
      : stream(std::move(tcp), context) {}
  beast::ssl_stream<beast::tcp_stream> stream;
};

namespace {

// Writes `request` and reads one response into `parser` on `stream` (plain or TLS: the same
// code, instantiated for each), running `ioc` until both are done or failed.
template <class Stream>
beast::error_code RunExchange(asio::io_context& ioc, Stream& stream, const HttpRequest& request,
                              beast::flat_buffer& buffer,
                              http::response_parser<http::string_body>& parser,
                              std::chrono::milliseconds timeout) {
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(timeout);
  http::async_write(stream, request, [&](beast::error_code e, size_t) {
    if (e) {
      ec = e;
      return;
    }
    http::async_read(stream, buffer, parser, [&](beast::error_code e2, size_t) { ec = e2; });
  });
  ioc.restart();
  ioc.run();
  return ec;
}

std::string DescribeTransportError(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  if (ec.category() == asio::error::get_ssl_category() ||
      ec == asio::ssl::error::stream_truncated) {
    return "TLS: " + DescribeTlsError(ec, nullptr);
  }
  return ec.message();
}

}  // namespace

BlockingHttpClient::BlockingHttpClient(std::string host, uint16_t port, HttpClientOptions options)
    : host_(std::move(host)), port_(port), options_(std::move(options)) {}

BlockingHttpClient::~BlockingHttpClient() = default;

void BlockingHttpClient::Disconnect() {
  stream_.reset();
  tls_stream_.reset();
}

Status BlockingHttpClient::Connect() {
  Disconnect();
  auto tcp = std::make_unique<beast::tcp_stream>(ioc_);
  buffer_.clear();
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot resolve {}: {}", host_, ec.message()));
  }
  tcp->expires_after(options_.connect_timeout);
  bool done = false;
  tcp->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  ioc_.restart();
  ioc_.run();
  if (!done || ec) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot connect to {}:{}: {}", host_, port_,
                                 ec == beast::error::timeout ? "timed out" : ec.message()));
  }
  beast::error_code ignored;
  tcp->socket().set_option(tcp::no_delay(true), ignored);
  if (!options_.tls) {
    stream_ = std::move(tcp);
    return Ok{};
  }
  tls_stream_ = std::make_unique<TlsStream>(std::move(*tcp), options_.tls->native());
  return Handshake();
}

Status BlockingHttpClient::Handshake() {
  auto& stream = tls_stream_->stream;
  if (auto s = PrepareTlsClientSession(stream.native_handle(), host_); !s) {
    Disconnect();
    return s.error();
  }
  beast::get_lowest_layer(stream).expires_after(options_.connect_timeout);
  beast::error_code ec;
  bool done = false;
  stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  ioc_.restart();
  ioc_.run();
  if (!done || ec) {
    // A verification failure says why ("certificate verify failed: hostname mismatch").
    const std::string reason = !done || ec == beast::error::timeout
                                   ? "timed out"
                                   : DescribeTlsError(ec, stream.native_handle());
    Disconnect();
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("TLS handshake with {}:{} failed: {}", host_, port_, reason));
  }
  return Ok{};
}

Result<BlockingResponse> BlockingHttpClient::Attempt(const HttpRequest& request, bool* stale) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.body_limit);
  beast::error_code ec =
      tls_stream_ ? RunExchange(ioc_, tls_stream_->stream, request, buffer_, parser,
                                options_.request_timeout)
                  : RunExchange(ioc_, *stream_, request, buffer_, parser, options_.request_timeout);
  if (ec == asio::ssl::error::stream_truncated && parser.is_header_done()) {
    // A server that closes without TLS's close_notify ends a close-delimited body this way.
    beast::error_code eof;
    parser.put_eof(eof);
    if (!eof) ec = {};
  }
  const bool got_some = parser.got_some();
  if (ec) {
    Disconnect();
    // Nothing came back and no deadline passed: the server had closed the idle connection.
    *stale = !got_some && ec != beast::error::timeout;
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("{} from {}:{}{}", DescribeTransportError(ec), host_, port_,
                                 got_some ? " (mid-response)" : ""));
  }
  auto response = parser.release();
  BlockingResponse out;
  out.status = response.result_int();
  out.content_type = std::string(response[http::field::content_type]);
  out.retry_after = std::string(response[http::field::retry_after]);
  out.body = std::move(response.body());
  if (!response.keep_alive()) Disconnect();
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
  // A kept-alive connection may have been closed by the server while idle: retry once fresh, but
  // not after a timeout or a partial response (the request may have been processed).
  bool reused = connected();
  if (!reused) {
    if (auto s = Connect(); !s) return s.error();
  }
  bool stale = false;
  auto result = Attempt(request, &stale);
  if (!result && reused && stale) {
    if (auto s = Connect(); !s) return s.error();
    result = Attempt(request, &stale);
  }
  return result;
}

}  // namespace tracerig
