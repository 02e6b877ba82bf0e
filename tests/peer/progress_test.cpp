// What the user sees while a download runs.
#include <catch2/catch.hpp>

#include "nearcast/peer/progress.hpp"

using namespace nearcast::peer;

TEST_CASE("bytes and durations read as a person would write them") {
    CHECK(human_bytes(17) == "17 B");
    CHECK(human_bytes(1500) == "1.50 kB");
    CHECK(human_bytes(312000) == "312 kB");
    CHECK(human_bytes(25.5e6) == "25.5 MB");
    CHECK(human_duration(65) == "1:05");
    CHECK(human_duration(3723) == "1:02:03");
    CHECK(human_duration(-1) == "--:--");
}

TEST_CASE("the progress bar fits its width and says where the bytes came from") {
    progress_sample sample;
    sample.name = "film.mkv";
    sample.done = 50'000'000;
    sample.wanted = 200'000'000;
    sample.rate = 10'000'000;
    sample.eta_s = 15;
    sample.peers = 7;
    sample.sources = {30'000'000, 5'000'000, 15'000'000};
    const std::string bar = progress_bar(sample, 150);
    CHECK(bar.size() <= 150);
    CHECK(bar.find(" 25.0%") != std::string::npos);
    CHECK(bar.find("10.0 MB/s") != std::string::npos);
    CHECK(bar.find("ETA 0:15") != std::string::npos);
    CHECK(bar.find("near 30.0 MB") != std::string::npos);
    CHECK(bar.find("origin 15.0 MB") != std::string::npos);
    CHECK(bar.find("[#####...............] ") == 0);
    CHECK(progress_bar(sample, 40).size() <= 40);
    // The bar keeps its width when the facts after it grow or shrink.
    sample.sources = {};
    sample.peers = 123;
    CHECK(progress_bar(sample, 150).find("[#####...............] ") == 0);
    CHECK(progress_bar(sample, 60).find("[#####...............] ") == 0);
    CHECK(progress_bar(sample, 60).size() <= 60);
    sample.rate = -1;
    CHECK(progress_bar(sample, 150).find("-- B/s") != std::string::npos);
    // Paused in the daemon: said so, with no rate and no ETA.
    sample.rate = 1'000;
    sample.paused = true;
    const std::string paused = progress_line(sample);
    CHECK(paused.find(" 25.0%  paused") != std::string::npos);
    CHECK(paused.find("B/s") == std::string::npos);
    CHECK(paused.find("ETA") == std::string::npos);
}

TEST_CASE("the rate is bytes over a sliding window: a pause between pieces is not 0 B/s") {
    rate_meter meter(8.0);
    CHECK(meter.rate() == -1);
    meter.add(0.0, 0);
    meter.add(0.5, 0);
    CHECK(meter.rate() == -1);  // under a second: not known yet
    // 4 MB pieces arriving every 2 s: 2 MB/s, though most samples see no new byte.
    std::int64_t done = 0;
    for (int tick = 1; tick <= 40; ++tick) {
        const double now = 0.5 + tick * 0.25;
        if (tick % 8 == 0) done += 4'000'000;
        meter.add(now, done);
        if (now >= 9.0) {
            CHECK(meter.rate() > 1.4e6);
            CHECK(meter.rate() < 2.6e6);
        }
    }
    const double rate = meter.rate();
    CHECK(meter.eta(done + 20'000'000) == Approx(20'000'000 / rate));
    CHECK(meter.eta(done) == 0);
    // Nothing more for a whole window: the rate does fall to 0, and no ETA is made up.
    for (int tick = 1; tick <= 40; ++tick) meter.add(10.5 + tick * 0.25, done);
    CHECK(meter.rate() == 0);
    CHECK(meter.eta(done + 1) == -1);
    // Fewer bytes than before (a recheck): the meter starts over.
    meter.add(21.0, 5);
    CHECK(meter.rate() == -1);
}

TEST_CASE("a payload counter that starts again at a resume does not start the rate over") {
    rate_meter meter(8.0);
    // 1 MB/s for 4 s, then the counter restarts at zero (a pause and a resume) and goes on.
    for (int tick = 0; tick <= 16; ++tick) meter.add_count(tick * 0.25, tick * 250'000);
    CHECK(meter.rate() == Approx(1e6));
    for (int tick = 1; tick <= 8; ++tick) {
        meter.add_count(4.0 + tick * 0.25, tick * 250'000);
        CHECK(meter.rate() == Approx(1e6));  // known at once, as before the restart
    }
    // A pause of 10 s, skipped: the rate after it is the rate before it, not averaged down.
    meter.skip(10.0);
    meter.add_count(16.25, 2'250'000);
    CHECK(meter.rate() == Approx(1e6));
    CHECK(meter.eta(6'250'000 + 4'000'000) == Approx(4.0));  // the total counted is 6.25 MB
    // `add` (verified bytes) still takes a drop as a recheck and starts over.
    rate_meter verified(8.0);
    verified.add(0.0, 0);
    verified.add(2.0, 2'000'000);
    verified.add(2.25, 0);
    CHECK(verified.rate() == -1);
}

TEST_CASE("the log line carries the same facts and the totals") {
    progress_sample sample;
    sample.name = "film.mkv";
    sample.done = 1'000'000;
    sample.wanted = 4'000'000;
    const std::string line = progress_line(sample);
    CHECK(line.find("film.mkv:  25.0%") == 0);
    CHECK(line.find("ETA --:--") != std::string::npos);  // eta_s -1: unknown
    CHECK(line.find("(1.00 MB of 4.00 MB)") != std::string::npos);
    sample.fetching_metadata = true;
    CHECK(progress_line(sample).find("fetching metadata") != std::string::npos);
}

TEST_CASE("percent shown rounds down: 100.0 only when every wanted byte is there") {
    CHECK(percent_shown(0, 0) == 0);
    CHECK(percent_shown(5, 0) == 0);
    CHECK(percent_shown(0, 1000) == 0);
    CHECK(percent_shown(9996, 10000) == Approx(99.9));
    CHECK(percent_shown(9999, 10000) == Approx(99.9));
    CHECK(percent_shown(10000, 10000) == 100);
    CHECK(percent_shown(12'000'000, 12'000'000) == 100);
    CHECK(percent_shown(1849, 10000) == Approx(18.4));
    progress_sample almost;
    almost.name = "x";
    almost.done = 11'999'000;
    almost.wanted = 12'000'000;
    CHECK(progress_line(almost).find("100.0%") == std::string::npos);
    CHECK(progress_line(almost).find("99.9%") != std::string::npos);
}
