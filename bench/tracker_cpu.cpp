#include "tracker_cpu.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace nearcast::bench {

namespace {

double seconds_of(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }

double ticks_to_seconds(double ticks) { return ticks / static_cast<double>(sysconf(_SC_CLK_TCK)); }

// utime and stime of a process (fields 14 and 15 of /proc/PID/stat), in seconds.
bool read_process_times(pid_t pid, double& user, double& system) {
    if (pid <= 0) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return false;
    // The command name may hold spaces: count fields after its closing parenthesis.
    const auto name_end = stat.rfind(')');
    if (name_end == std::string::npos || name_end + 2 > stat.size()) return false;
    std::istringstream fields(stat.substr(name_end + 2));
    std::string field;
    for (int number = 3; number <= 15 && fields >> field; ++number) {
        if (number == 14) user = ticks_to_seconds(std::stod(field));
        if (number == 15) system = ticks_to_seconds(std::stod(field));
    }
    return true;
}

// User and nice time of all CPUs together, in seconds.
std::optional<double> machine_user_seconds() {
    std::ifstream in("/proc/stat");
    std::string label;
    double user = 0;
    double nice = 0;
    if (!(in >> label >> user >> nice) || label != "cpu") return std::nullopt;
    return ticks_to_seconds(user + nice);
}

}  // namespace

cpu_snapshot cpu_snapshot::now(pid_t tracker) {
    cpu_snapshot snapshot;
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    snapshot.generator_user = seconds_of(usage.ru_utime);
    snapshot.generator_total = snapshot.generator_user + seconds_of(usage.ru_stime);
    double user = 0;
    double system = 0;
    if (read_process_times(tracker, user, system)) {
        snapshot.tracker_user = user;
        snapshot.tracker_total = user + system;
    }
    snapshot.machine_user = machine_user_seconds();
    return snapshot;
}

void busy_meter::observe(bench_clock::time_point now) {
    if (!at_start_ && now >= schedule_.measure_from) at_start_ = cpu_snapshot::now(tracker_);
    if (at_start_ && !at_end_ && now >= schedule_.measure_until) at_end_ = cpu_snapshot::now(tracker_);
}

void busy_meter::report_to(load_result& result) const {
    if (!at_start_ || !at_end_) return;
    const double window = std::chrono::duration<double>(schedule_.measure_until - schedule_.measure_from).count();
    const cpu_snapshot& a = *at_start_;
    const cpu_snapshot& b = *at_end_;
    result.generator_busy = (b.generator_total - a.generator_total) / window;
    if (a.tracker_total && b.tracker_total) result.tracker_busy = (*b.tracker_total - *a.tracker_total) / window;
    if (a.machine_user && b.machine_user && a.tracker_user && b.tracker_user) {
        // The whole machine's user time less ours; other work's kernel time is left out, as ours
        // is mostly kernel time that /proc/stat books under softirq.
        const double others = (*b.machine_user - *a.machine_user) - (b.generator_user - a.generator_user) -
                              (*b.tracker_user - *a.tracker_user);
        result.others_busy = std::max(0.0, others / window);
    }
}

}  // namespace nearcast::bench
