#include "nearcast/seeder/upload_budget.hpp"

#include <algorithm>
#include <cmath>

namespace nearcast::seeder {

bool serves_itself(const upload_budget_config& config, const swarm_sources& swarm) {
    // An unknown swarm is served in full: the origin is the floor that never refuses.
    return swarm.known && config.self_serving_seeds > 0 && swarm.own_seeds() >= config.self_serving_seeds;
}

upload_plan plan_upload(const upload_budget_config& config, const std::vector<swarm_sources>& swarms) {
    upload_plan plan;
    plan.session_limit = std::max<std::int64_t>(config.upload_limit, 0);
    plan.swarms.reserve(swarms.size());
    for (const auto& swarm : swarms) {
        const bool self_serving = serves_itself(config, swarm);
        plan.swarms.push_back({swarm.item_id, self_serving, 0});
        ++(self_serving ? plan.self_serving : plan.long_tail);
    }
    if (plan.self_serving == 0) return plan;

    std::int64_t each = config.self_serving_cap_unlimited;
    if (plan.session_limit > 0) {
        const double share = std::clamp(config.self_serving_share, 0.0, 1.0);
        // With no long tail to protect, the self-serving swarms may use the whole budget.
        const double slice = plan.long_tail == 0 ? static_cast<double>(plan.session_limit)
                                                 : share * static_cast<double>(plan.session_limit);
        each = static_cast<std::int64_t>(std::floor(slice / static_cast<double>(plan.self_serving)));
    }
    each = std::max(each, config.self_serving_floor);
    if (each <= 0) each = 1;  // 0 would mean "no limit" to libtorrent
    for (auto& swarm : plan.swarms) {
        if (swarm.self_serving) swarm.upload_limit = each;
    }
    return plan;
}

}  // namespace nearcast::seeder
