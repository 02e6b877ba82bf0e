// The one HTTP/1.1 request a tracker serves by the thousand - a GET with no body, on a kept-alive
// connection - read without a general-purpose parser. Pure: bytes in, a verdict out.
//
// It reads a strict subset of what a full HTTP/1.1 parser (the server keeps Boost.Beast's)
// accepts, and reads it the same way, so a server can try it first and hand the same bytes to
// the full parser whenever it says `not_simple`:
// - request line exactly "GET <target> HTTP/1.1" or "HTTP/1.0", single spaces, CRLF; the
//   target starts with '/' and is printable ASCII (no spaces, no controls, no bytes >= 0x80);
// - header lines "name: value" CRLF; a name is an RFC 9110 token, a value printable ASCII,
//   spaces or tabs (trimmed at both ends); no folded lines;
// - no Content-Length, Transfer-Encoding or Proxy-Connection header (a body, or a rule this
//   reader does not keep, is the full parser's business), at most one Connection and one
//   Authorization header, and Connection a plain comma-separated token list;
// - the whole head, blank line included, at most `simple_head_limit` bytes.
// keep_alive is HTTP's default for the version, changed by the Connection tokens "close"
// (HTTP/1.1) or "keep-alive" (HTTP/1.0), compared without case.
#pragma once

#include <cstddef>
#include <string_view>

namespace nearcast::core {

inline constexpr std::size_t simple_head_limit = 4096;

struct simple_get {
    enum class verdict {
        complete,    // a whole simple GET: the fields below are set, the views into the bytes given
        need_more,   // so far a simple GET, not yet whole: read more and ask again
        not_simple,  // anything else: give these bytes to the full parser
    };
    verdict result = verdict::need_more;
    std::string_view target;         // "/announce?info_hash=..."
    std::string_view authorization;  // empty when absent
    bool keep_alive = true;
    bool http_1_0 = false;           // the request line said HTTP/1.0
    std::size_t size = 0;            // bytes of this request (the next one starts there)
};

// Reads the request at the start of `buffered` (bytes received and not yet consumed).
simple_get read_simple_get(std::string_view buffered);

}  // namespace nearcast::core
