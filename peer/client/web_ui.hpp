// The daemon's web interface: one page, HTML, CSS and script inline (nothing fetched from
// elsewhere), served by the control API on its loopback port (control_api.hpp), and the login
// page in front of it. The page shows the items (progress, state, averaged rate, ETA, bytes
// from near peers, far peers and the origin), adds one (magnet link, .torrent file or URL),
// pauses, resumes, removes (keeping the files or not), plays one in a <video> while it
// downloads, sets the limits and the upload switch, and shows the supernode role.
//
// The <video> plays straight from the item's stream server (POST /stream gives its URL), not
// through the control port: the stream server keeps its own Host and Origin check, and a page
// of ours passes it because the browser names the stream server's own loopback address and
// port as Host and sends no Origin for a media element's GET (no-cors). A page from elsewhere
// cannot read what it plays, nor learn the URL, which only /stream gives. Serving the file
// through the control port instead would repeat, in the control API, what the stream server
// already does: byte ranges that wait for their pieces and move the download to where the
// player reads.
#pragma once

#include <string>
#include <string_view>

namespace nearcast::peer::client {

std::string_view web_ui_page();
// The login form; `message` says why it is shown again: one of ours, text with no markup
// (nothing a request sent is ever shown in it).
std::string web_login_page(std::string_view message);

}  // namespace nearcast::peer::client
