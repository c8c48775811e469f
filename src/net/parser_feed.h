// Feeding buffered bytes to a Beast parser, shared by the HTTP client's connections and the
// server's sessions, which read with async_read_some into one reused buffer and parse in place
// (http::async_read would arm a timer per operation and allocate per message).
#pragma once

#include "net/beast.h"

namespace tracerig {

// Puts the buffered bytes into `parser` until its message is done, it needs more bytes, or it
// fails; consumed bytes leave the buffer, and bytes of a following (pipelined) message stay.
// Returns the parse error, if any; needing more bytes is not an error.
template <class Parser>
beast::error_code FeedParser(Parser& parser, beast::flat_buffer& buffer) {
  beast::error_code ec;
  while (buffer.size() > 0 && !parser.is_done()) {
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) return {};
    if (ec || used == 0) break;
  }
  return ec;
}

// The peer closed its side, as http::read sees it: the end of a close-delimited message when some
// of it was received (an error if it was cut short), end_of_stream when nothing was.
template <class Parser>
beast::error_code EndOfStream(Parser& parser) {
  if (!parser.got_some()) return http::error::end_of_stream;
  beast::error_code ec;
  parser.put_eof(ec);
  return ec;
}

}  // namespace tracerig
