// Routing models the policy tests share, loaded once per test program.
#pragma once

#include "nearcast/proximity/model.hpp"
#include "test_data.hpp"

namespace nearcast::testing {

// The emulated Internet of proximity/data: 127.10/16 and 127.11/16 in AS 64512, 127.20/16 in
// 64513, ... 127.50/16 in 64516, a chain of adjacencies from 64512 to 64516.
inline const proximity::model& loopback_internet() {
    static const proximity::model routing = proximity::model::load(
        {source_file("proximity/data/loopback-internet.ipasn"), source_file("proximity/data/loopback-internet.as-rel")});
    return routing;
}

// The real RouteViews RIB sample of ../shared/data (9,069 prefixes, 0.0.0.0 to 12.167.x).
inline const proximity::model& real_internet() {
    static const proximity::model routing =
        proximity::model::load({shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz")});
    return routing;
}

}  // namespace nearcast::testing
