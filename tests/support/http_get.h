// One plain HTTP/1.1 GET over loopback for end-to-end tests that read what a tracerig process
// serves (/metrics, /healthz): the status and body, or status 0 when nothing answered.
#pragma once

#include <chrono>
#include <regex>
#include <string>

#include "net/beast.h"

namespace tracerig::test_support {

struct HttpAnswer {
  unsigned status = 0;  // 0: could not connect, or no answer within the timeout
  std::string body;
  std::string error;
};

inline HttpAnswer HttpGet(const std::string& host, unsigned short port, const std::string& target,
                          std::chrono::seconds timeout = std::chrono::seconds(5)) {
  HttpAnswer answer;
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(asio::ip::make_address(host), port));
    HttpRequest request{http::verb::get, target, 11};
    request.set(http::field::host, host);
    http::write(stream, request);
    beast::flat_buffer buffer;
    HttpResponse response;
    http::read(stream, buffer, response);
    answer.status = response.result_int();
    answer.body = response.body();
  } catch (const std::exception& e) {
    answer.error = e.what();
  }
  return answer;
}

// GET of a full "http://HOST:PORT/path" URL (numeric host, as tracerig prints its own).
inline HttpAnswer HttpGetUrl(const std::string& url,
                             std::chrono::seconds timeout = std::chrono::seconds(5)) {
  static const std::regex kUrl(R"(http://([0-9.]+):([0-9]+)(/.*)?)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) return {0, "", "not an http://IP:PORT URL: " + url};
  return HttpGet(m[1].str(), static_cast<unsigned short>(std::stoi(m[2].str())),
                 m[3].matched ? m[3].str() : "/", timeout);
}

// The value of the first sample of `series` on an exposition page (`series` as written there,
// labels included: `name{a="b"}`); -1 when the page has none.
inline double MetricValue(const std::string& page, const std::string& series) {
  size_t at = 0;
  while ((at = page.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') {
      return std::stod(page.substr(at + series.size() + 1));
    }
    at += series.size();
  }
  return -1;
}

}  // namespace tracerig::test_support
