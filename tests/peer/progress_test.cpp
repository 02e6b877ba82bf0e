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
    sample.peers = 7;
    sample.sources = {30'000'000, 5'000'000, 15'000'000};
    const std::string bar = progress_bar(sample, 150);
    CHECK(bar.size() <= 150);
    CHECK(bar.find(" 25.0%") != std::string::npos);
    CHECK(bar.find("10.0 MB/s") != std::string::npos);
    CHECK(bar.find("ETA 0:15") != std::string::npos);
    CHECK(bar.find("near 30.0 MB") != std::string::npos);
    CHECK(bar.find("origin 15.0 MB") != std::string::npos);
    CHECK(bar.find("[##########..............................]") == 0);
    CHECK(progress_bar(sample, 40).size() <= 40);
}

TEST_CASE("the log line carries the same facts and the totals") {
    progress_sample sample;
    sample.name = "film.mkv";
    sample.done = 1'000'000;
    sample.wanted = 4'000'000;
    const std::string line = progress_line(sample);
    CHECK(line.find("film.mkv:  25.0%") == 0);
    CHECK(line.find("ETA --:--") != std::string::npos);
    CHECK(line.find("(1.00 MB of 4.00 MB)") != std::string::npos);
    sample.fetching_metadata = true;
    CHECK(progress_line(sample).find("fetching metadata") != std::string::npos);
}

TEST_CASE("the moving rate follows a steady download and does not jump with one burst") {
    moving_rate rate(5);
    CHECK(rate.rate() == 0);
    // 1 MB/s sampled five times a second for 30 s: the average settles on it.
    for (int tick = 0; tick <= 150; ++tick) rate.sample(tick * 200'000, tick * 0.2);
    CHECK(rate.rate() == Approx(1e6).epsilon(0.01));
    // A burst of 10 MB in one 0.2 s tick moves the average by a fraction of it, not to 50 MB/s.
    rate.sample(150 * 200'000 + 10'000'000, 30.2);
    CHECK(rate.rate() < 3e6);
    CHECK(rate.rate() > 1e6);
    // Then nothing for a long while: it decays towards 0.
    for (int tick = 1; tick <= 200; ++tick) rate.sample(150 * 200'000 + 10'000'000, 30.2 + tick * 0.2);
    CHECK(rate.rate() < 1e4);
}

TEST_CASE("the moving rate of a new download is right from its first samples") {
    moving_rate rate(5);
    rate.sample(0, 100);
    rate.sample(200'000, 100.2);
    CHECK(rate.rate() == Approx(1e6));
    rate.sample(400'000, 100.4);
    CHECK(rate.rate() == Approx(1e6));
}

TEST_CASE("the moving rate is the same sampled at any pace, and starts again when the counter goes back") {
    moving_rate fast(5), slow(5);
    for (int tick = 0; tick <= 100; ++tick) fast.sample(tick * 100'000, tick * 0.1);
    for (int tick = 0; tick <= 10; ++tick) slow.sample(tick * 1'000'000, tick * 1.0);
    CHECK(fast.rate() == Approx(slow.rate()).epsilon(0.01));
    fast.sample(0, 10.1);  // a resumed item: libtorrent counts from 0 again
    CHECK(fast.rate() == 0);
    fast.sample(500'000, 11.1);
    CHECK(fast.rate() > 0);
}

TEST_CASE("the ETA is whole seconds, 0 when done and -1 without a rate") {
    CHECK(eta_seconds(1'000'000, 300'000) == 4);
    CHECK(eta_seconds(0, 0) == 0);
    CHECK(eta_seconds(1000, 0) == -1);
    CHECK(eta_seconds(1000, 0.5) == -1);
    CHECK(eta_seconds(1000, std::nan("")) == -1);
    CHECK(eta_seconds(INT64_MAX, 1) == -1);
}
