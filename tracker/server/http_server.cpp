#include "http_server.hpp"

#include <chrono>

namespace nearcast::tracker::server {

namespace asio = boost::asio;

std::uint64_t wall_clock_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

endpoint endpoint_of(const asio::ip::address& address, std::uint16_t port) {
    if (address.is_v4()) return {proximity::ip_address::v4(address.to_v4().to_uint()), port};
    const auto bytes = address.to_v6().to_bytes();
    // from_bytes keeps an IPv4-mapped address as IPv6; peers on dual-stack sockets are IPv4.
    auto parsed = proximity::ip_address::from_bytes(proximity::ip_family::v6, bytes.data());
    if (address.to_v6().is_v4_mapped()) parsed = proximity::ip_address::v4(address.to_v6().to_v4().to_uint());
    return {parsed, port};
}

namespace {

core::http_answer answer_of(http_answer answer) {
    return {answer.status, std::move(answer.content_type), std::move(answer.body), {}};
}

core::http_handlers handlers_for(tracker_service& service) {
    core::http_handlers handlers;
    // How much body may follow is decided from the head: 16 MB only for a registration that
    // carries the admin secret, 8 KiB for anything else.
    handlers.admit = [&service](const core::http_request& head) {
        core::http_admission admission{service.body_limit(head.method, head.target, head.authorization), std::nullopt};
        if (head.content_length && *head.content_length > admission.body_limit &&
            admission.body_limit < tracker_service::registration_body_limit &&
            head.method == "POST" && head.path() == "/origins") {
            // A large registration without the admin secret: its 401 or 403, not a size error.
            // With the secret, past 16 MB, it is the 413 of any body too large.
            admission.refusal = answer_of(service.handle_http(head.method, head.target, head.authorization, {},
                                                              endpoint_of(head.remote.address(), head.remote.port()),
                                                              wall_clock_ms()));
        }
        return admission;
    };
    handlers.handle = [&service](const core::http_request& request, const std::shared_ptr<core::http_exchange>& exchange) {
        exchange->answer(answer_of(service.handle_http(request.method, request.target, request.authorization, request.body,
                                                       endpoint_of(request.remote.address(), request.remote.port()),
                                                       wall_clock_ms())));
    };
    return handlers;
}

core::http_server_options options_for(std::size_t max_connections) {
    core::http_server_options options;
    options.what = "HTTP";
    options.server = "nearcast-tracker";
    options.body_limit = tracker_service::small_body_limit;
    options.max_connections = max_connections;
    options.simple_get_fast_path = true;
    return options;
}

}  // namespace

http_listener::http_listener(asio::io_context& io, const asio::ip::tcp::endpoint& where, tracker_service& service,
                             std::size_t max_connections)
    : server_(io, where, options_for(max_connections), handlers_for(service)) {}

}  // namespace nearcast::tracker::server
