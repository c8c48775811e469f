#include "net/http_server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <vector>

#include "net/parser_feed.h"

namespace tracerig {

using SteadyClock = std::chrono::steady_clock;

// The sessions of one server that wait on their socket (for a request or to finish a response),
// with their deadlines checked by one coarse timer instead of one timer per read and write. Shared
// with the sessions, which may outlive the server.
class HttpServer::Deadlines : public std::enable_shared_from_this<Deadlines> {
 public:
  class Entry {
   public:
    virtual ~Entry() = default;
    // Called by the sweep when the entry's deadline has passed.
    virtual void TimeOut() = 0;
    SteadyClock::time_point deadline{};
    size_t index = kNone;
  };
  static constexpr size_t kNone = static_cast<size_t>(-1);

  Deadlines(asio::io_context& ioc, const HttpServerOptions& options)
      : timer_(ioc), period_(Period(options)) {}

  void Add(Entry* entry, SteadyClock::duration timeout) {
    entry->deadline = SteadyClock::now() + timeout;
    if (entry->index != kNone) return;
    entry->index = entries_.size();
    entries_.push_back(entry);
    if (!armed_) Arm();
  }

  void Remove(Entry* entry) {
    Forget(entry);
    // No sessions, no timer: an io_context with nothing else to do can return from run().
    if (entries_.empty() && armed_) {
      armed_ = false;
      timer_.cancel();
    }
  }

  // Takes an entry off the list without touching the timer (for destructors).
  void Forget(Entry* entry) {
    const size_t i = entry->index;
    if (i == kNone) return;
    entries_[i] = entries_.back();
    entries_[i]->index = i;
    entries_.pop_back();
    entry->index = kNone;
  }

 private:
  // A tenth of the shortest timeout (so a deadline is enforced at most ~10% late), 1 ms to 100 ms.
  static SteadyClock::duration Period(const HttpServerOptions& o) {
    const SteadyClock::duration shortest =
        std::min({o.read_timeout, o.idle_timeout, o.write_timeout});
    return std::clamp<SteadyClock::duration>(shortest / 10, std::chrono::milliseconds(1),
                                             std::chrono::milliseconds(100));
  }

  void Arm() {
    armed_ = true;
    timer_.expires_after(period_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->armed_ = false;
      self->Sweep();
    });
  }

  void Sweep() {
    const auto now = SteadyClock::now();
    // TimeOut closes the socket; the session leaves the list from its handler, not from here.
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (now >= entries_[i]->deadline) entries_[i]->TimeOut();
    }
    if (!entries_.empty() && !armed_) Arm();
  }

  asio::steady_timer timer_;
  SteadyClock::duration period_;
  bool armed_ = false;
  std::vector<Entry*> entries_;
};

namespace {

constexpr size_t kReadChunk = 16 * 1024;

// One connection: read a request, hand it to the handler, write its response, repeat while alive.
// A plain socket with reused buffers: reads parse in place with Beast, responses are framed by
// Beast into one buffer and written at once; deadlines come from the server's Deadlines.
class Session : public std::enable_shared_from_this<Session>, public HttpServer::Deadlines::Entry {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpHandler> handler,
          std::shared_ptr<const HttpServerOptions> options, std::shared_ptr<HttpServerStats> stats,
          std::shared_ptr<HttpServer::Deadlines> deadlines)
      : socket_(std::move(socket)),
        handler_(std::move(handler)),
        options_(std::move(options)),
        stats_(std::move(stats)),
        deadlines_(std::move(deadlines)) {}

  // Only when the io_context drops the session's pending operation (shutdown).
  ~Session() override { deadlines_->Forget(this); }

  void Start() {
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);
    Read();
  }

  void TimeOut() override {
    timed_out_ = true;
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  beast::error_code Outcome(beast::error_code ec) const {
    return timed_out_ ? beast::error_code(beast::error::timeout) : ec;
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(options_->body_limit);
    parser_->header_limit(64 * 1024);
    deadlines_->Add(this, first_request_ ? options_->read_timeout : options_->idle_timeout);
    first_request_ = false;
    if (buffer_.size() > 0) {
      // A pipelined request already buffered: parse it from the io_context, not recursively.
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (!self->Parse()) self->ReadSome();
      });
      return;
    }
    ReadSome();
  }

  void ReadSome() {
    socket_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->OnReadSome(ec, n);
                            });
  }

  void OnReadSome(beast::error_code ec, size_t n) {
    ec = Outcome(ec);
    // Nothing received is the end of the stream, a request cut short an error.
    if (ec == asio::error::eof) ec = EndOfStream(*parser_);
    if (ec) {
      OnRead(ec);
      return;
    }
    buffer_.commit(n);
    if (!Parse()) ReadSome();
  }

  // Feeds the buffered bytes to the parser; true when a request (or an error) was handled.
  bool Parse() {
    const beast::error_code ec = FeedParser(*parser_, buffer_);
    if (!ec && !parser_->is_done()) return false;
    OnRead(ec);
    return true;
  }

  void OnRead(beast::error_code ec) {
    deadlines_->Remove(this);
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
    out_.clear();
    written_ = 0;
    beast::error_code ec;
    http::response_serializer<http::string_body> serializer(response_);
    while (!ec && !serializer.is_done()) {
      serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (const auto buffer : beast::buffers_range_ref(buffers)) {
          out_.append(static_cast<const char*>(buffer.data()), buffer.size());
        }
        serializer.consume(beast::buffer_bytes(buffers));
      });
    }
    if (ec) {
      Close();
      return;
    }
    deadlines_->Add(this, options_->write_timeout);
    WriteSome();
  }

  void WriteSome() {
    // At once: the socket almost always has room, which saves a trip through the reactor.
    while (written_ < out_.size()) {
      beast::error_code ec;
      const size_t n = socket_.write_some(
          asio::const_buffer(out_.data() + written_, out_.size() - written_), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        OnWrite(ec);
        return;
      }
      written_ += n;
    }
    if (written_ == out_.size()) {
      OnWrite({});
      return;
    }
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
      ec = self->Outcome(ec);
      if (ec) {
        self->OnWrite(ec);
        return;
      }
      self->WriteSome();
    });
  }

  void OnWrite(beast::error_code ec) {
    deadlines_->Remove(this);
    if (ec || !response_.keep_alive()) {
      Close();
      return;
    }
    Read();
  }

  void Close() {
    deadlines_->Remove(this);
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpResponse response_;
  std::string out_;
  size_t written_ = 0;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<const HttpServerOptions> options_;
  std::shared_ptr<HttpServerStats> stats_;
  std::shared_ptr<HttpServer::Deadlines> deadlines_;
  bool keep_alive_ = true;
  bool first_request_ = true;
  bool timed_out_ = false;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& ioc, HttpHandler handler, HttpServerOptions options)
    : ioc_(ioc),
      acceptor_(ioc),
      handler_(std::make_shared<const HttpHandler>(std::move(handler))),
      options_(std::make_shared<const HttpServerOptions>(std::move(options))),
      stats_(std::make_shared<HttpServerStats>()),
      deadlines_(std::make_shared<Deadlines>(ioc, *options_)) {}

HttpServer::~HttpServer() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

namespace {

// Asio 1.74 has no portable option for it; Linux and the BSDs spell it the same.
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

std::string CannotListen(const tcp::endpoint& endpoint, const beast::error_code& ec) {
  return fmt::format("cannot listen on {}:{}: {}", endpoint.address().to_string(), endpoint.port(),
                     ec.message());
}

}  // namespace

Status HttpServer::Listen(const tcp::endpoint& endpoint) {
  if (options_->reuse_port && endpoint.port() != 0) {
    // SO_REUSEPORT would let this bind join any listener of this user on the port; bind without it
    // first, so a port in use stays an error as it is without the option. (Port 0 needs no check:
    // Linux never picks a port that only SO_REUSEPORT makes free.)
    tcp::acceptor probe(ioc_);
    beast::error_code ec;
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec) return MakeError(CannotListen(endpoint, ec));
  }
  return Bind(endpoint, options_->reuse_port);
}

Status HttpServer::Join(const tcp::endpoint& endpoint) { return Bind(endpoint, true); }

Status HttpServer::Bind(const tcp::endpoint& endpoint, bool reuse_port) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuse_port) acceptor_.set_option(ReusePort(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return MakeError(CannotListen(endpoint, ec));
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
      std::make_shared<Session>(std::move(socket), handler_, options_, stats_, deadlines_)
          ->Start();
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
