#include "measure/latency_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace zoo::runner {

double percentile_sorted(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    double rank = q / 100.0 * static_cast<double>(sorted.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(rank));
    size_t hi = std::min(lo + 1, sorted.size() - 1);
    double frac = rank - static_cast<double>(lo);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

LatencyStats summarize_latencies(std::vector<double> samples) {
    LatencyStats s;
    s.count = samples.size();
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    s.min_ms = samples.front();
    s.max_ms = samples.back();
    s.total_ms = std::accumulate(samples.begin(), samples.end(), 0.0);
    s.mean_ms = s.total_ms / static_cast<double>(samples.size());
    s.median_ms = percentile_sorted(samples, 50);
    s.p90_ms = percentile_sorted(samples, 90);
    s.p95_ms = percentile_sorted(samples, 95);
    s.p99_ms = percentile_sorted(samples, 99);
    double var = 0;
    for (double v : samples) var += (v - s.mean_ms) * (v - s.mean_ms);
    s.stddev_ms = samples.size() > 1 ? std::sqrt(var / static_cast<double>(samples.size() - 1)) : 0;
    return s;
}

}  // namespace zoo::runner
