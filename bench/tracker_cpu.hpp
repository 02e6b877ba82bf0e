// Where the CPU time went during a measured window: the generator thread, the tracker process
// and everything else on the machine. Whichever of the first two is near 100% is the
// bottleneck; the third is other people's work (a compiler, say) that makes a run unfair.
#pragma once

#include <sys/types.h>

#include <optional>

#include "tracker_load.hpp"

namespace nearcast::bench {

struct cpu_snapshot {
    double generator_total = 0;  // this thread, user and system
    double generator_user = 0;
    std::optional<double> tracker_total;  // the tracker's process, all threads
    std::optional<double> tracker_user;
    std::optional<double> machine_user;  // every CPU, every process ("cpu" line of /proc/stat)

    static cpu_snapshot now(pid_t tracker);
};

// Takes a snapshot when a run enters its measured window and another when it leaves it,
// called from inside the generator's event loop.
class busy_meter {
public:
    busy_meter(const run_schedule& schedule, pid_t tracker) : schedule_(schedule), tracker_(tracker) {}
    void observe(bench_clock::time_point now);
    void report_to(load_result& result) const;

private:
    run_schedule schedule_;
    pid_t tracker_;
    std::optional<cpu_snapshot> at_start_;
    std::optional<cpu_snapshot> at_end_;
};

}  // namespace nearcast::bench
