// The daemon's web interface: one page, HTML, CSS and script inline (nothing fetched from
// elsewhere), served by the control API on its loopback port (control_api.hpp), and the login
// page in front of it. The page shows the items (progress, state, averaged rate, ETA, bytes
// from near peers, far peers and the origin), adds one (magnet link, .torrent file or URL),
// pauses, resumes, removes (keeping the files or not), plays one in a <video> while it
// downloads, sets the limits and the upload switch, and shows the supernode role.
#pragma once

#include <string>
#include <string_view>

namespace nearcast::peer::client {

std::string_view web_ui_page();
// The login form; `message` says why it is shown again: one of ours, text with no markup
// (nothing a request sent is ever shown in it).
std::string web_login_page(std::string_view message);

}  // namespace nearcast::peer::client
