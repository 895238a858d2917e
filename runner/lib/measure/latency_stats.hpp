// Latency statistics the way benchmark tools report them (percentiles by linear interpolation, like numpy).
#pragma once

#include <cstddef>
#include <vector>

namespace zoo::runner {

struct LatencyStats {
    std::size_t count = 0;
    double min_ms = 0, max_ms = 0, mean_ms = 0, median_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, stddev_ms = 0;
    double total_ms = 0;
    double cv() const { return mean_ms > 0 ? stddev_ms / mean_ms : 0; }  // coefficient of variation
};

LatencyStats summarize_latencies(std::vector<double> samples_ms);

// Percentile q in [0, 100] of sorted samples, interpolated linearly between ranks.
double percentile_sorted(const std::vector<double>& sorted, double q);

}  // namespace zoo::runner
