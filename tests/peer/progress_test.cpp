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
