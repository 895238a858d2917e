// Sweep expansion, run identity, parameter mapping and the resumable results file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "sweep/sweep.hpp"

using namespace zoo::runner;
using nlohmann::json;
namespace fs = boost::filesystem;

namespace {

std::string temp_file(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("zoo_sweep_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

const std::string* param(const SweepRun& r, const std::string& k) {
    for (const auto& [key, v] : r.params)
        if (key == k) return &v;
    return nullptr;
}

}  // namespace

TEST(Sweep, CrossProductWithMapValuesPatternKeysAndExplicitRuns) {
    auto ex = parse_experiment(R"(
name: t
base: {device: cpu, input: random}
axes:
  model:
    - {model: mobilenetv3, variant: large}
    - {model: mobilenetv3, variant: small}
    - {model: mobilenetv2}
  threads: [1, 2]
  batch: [1, 8]
  "features.1*:math_fidelity": [LoFi, HiFi4]
  resolution: [[160, 160]]
runs:
  - {model: mobilenetv2, batch: 32}
  - {model: mobilenetv2, batch: 32}
)",
                               "t.yaml");
    ASSERT_TRUE(ex) << ex.status().message();
    const auto runs = expand_experiment(*ex);
    EXPECT_EQ(runs.size(), 3u * 2 * 2 * 2 + 1);  // the duplicate explicit run counts once
    std::set<std::string> ids;
    for (const auto& r : runs) ids.insert(r.id);
    EXPECT_EQ(ids.size(), runs.size());
    const SweepRun& first = runs.front();
    EXPECT_EQ(*param(first, "variant"), "large");
    EXPECT_EQ(*param(first, "features.1*:math_fidelity"), "LoFi");
    auto rq = request_for(first.params);
    ASSERT_TRUE(rq) << rq.status().message();
    EXPECT_EQ(rq->session.model, "mobilenetv3");
    EXPECT_EQ(rq->session.threads, 1);
    EXPECT_EQ(rq->session.batch, 1);
    // Non-run keys become --set overrides, list values in YAML flow form.
    ASSERT_EQ(rq->session.sets.size(), 2u);
    EXPECT_EQ(rq->session.sets[0], "features.1*:math_fidelity=LoFi");
    EXPECT_EQ(rq->session.sets[1], "resolution=[160, 160]");
    EXPECT_EQ(runs.back().label, "mobilenetv2 cpu b32")
        << "explicit runs sit on top of base only";
}

TEST(Sweep, RunIdIsStableAndIgnoresTheOrderOfRunKeysButNotOfSets) {
    const Params a{{"model", "m"}, {"device", "cpu"}, {"dtype", "bfloat16"}, {"x*:dtype", "float32"}};
    const Params b{{"device", "cpu"}, {"dtype", "bfloat16"}, {"model", "m"}, {"x*:dtype", "float32"}};
    const Params c{{"model", "m"}, {"device", "cpu"}, {"x*:dtype", "float32"}, {"dtype", "bfloat16"}};
    EXPECT_EQ(run_id(a), run_id(b));
    EXPECT_NE(run_id(a), run_id(c));  // later overrides win: the order of --set keys is part of the identity
    EXPECT_EQ(run_id(a).size(), 16u);
    EXPECT_EQ(run_id(a), run_id(a));
    EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);  // FNV-1a 64 test vector
}

TEST(Sweep, BadParametersNameTheKey) {
    auto rq = request_for({{"model", "m"}, {"device", "cpu"}, {"batch", "eight"}});
    ASSERT_FALSE(rq);
    EXPECT_NE(rq.status().message().find("'batch' must be an integer, found 'eight'"), std::string::npos);
    EXPECT_FALSE(request_for({{"device", "cpu"}}));
    auto ex = parse_experiment("axes: {batch: []}\n", "e.yaml");
    ASSERT_FALSE(ex);
    EXPECT_NE(ex.status().message().find("e.yaml:1:"), std::string::npos) << ex.status().message();
    ex = parse_experiment("axis: {batch: [1]}\n", "e.yaml");
    ASSERT_FALSE(ex);
    EXPECT_NE(ex.status().message().find("unknown experiment key 'axis'"), std::string::npos);
}

TEST(Sweep, ShippedExperimentsParse) {
    const std::string dir = std::string(ZOO_SOURCE_DIR) + "/yaml/experiments/";
    std::map<std::string, size_t> expected_min{{"cpu_threads_batch", 12}, {"v3_large_fidelity_dtype", 9}, {"v2_sharding", 6}};
    for (const auto& [name, min_runs] : expected_min) {
        auto ex = load_experiment(dir + name + ".yaml");
        ASSERT_TRUE(ex) << ex.status().message();
        const auto runs = expand_experiment(*ex);
        EXPECT_GE(runs.size(), min_runs) << name;
        for (const auto& r : runs) EXPECT_TRUE(request_for(r.params)) << name << " " << r.label;
    }
}

TEST(ResultsFile, TornLastLineIsTruncatedAndRunsAreNeverDuplicated) {
    const std::string path = temp_file("results.jsonl");
    fs::remove(path);
    {
        auto f = ResultsFile::open(path);
        ASSERT_TRUE(f) << f.status().message();
        EXPECT_TRUE(f->append({{"run_id", "a"}, {"status", "ok"}}));
        EXPECT_TRUE(f->append({{"run_id", "b"}, {"status", "ok"}}));
        EXPECT_TRUE(f->append({{"run_id", "a"}, {"status", "ok"}}));  // ignored: already recorded
        // A second opener is refused while this one holds the lock (asked not to wait: see ResultsFileLock).
        auto other = ResultsFile::open(path, std::chrono::milliseconds(0));
        EXPECT_FALSE(other);
    }
    const auto size_before = fs::file_size(path);
    { std::ofstream(path, std::ios::app) << "{\"run_id\": \"c\", \"sta"; }  // a kill in the middle of a write
    {
        auto f = ResultsFile::open(path);
        ASSERT_TRUE(f) << f.status().message();
        EXPECT_EQ(f->records().size(), 2u);
        EXPECT_TRUE(f->has("a") && f->has("b") && !f->has("c"));
        EXPECT_GT(f->truncated_bytes(), 0u);
        EXPECT_EQ(fs::file_size(path), size_before);
        EXPECT_TRUE(f->append({{"run_id", "c"}, {"status", "ok"}}));
    }
    auto all = read_results(path);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[2]["run_id"], "c");
}

TEST(ResultsFile, CorruptMiddleLineIsSkippedAndCounted) {
    const std::string path = temp_file("corrupt.jsonl");
    { std::ofstream(path) << "{\"run_id\":\"a\"}\nnot json\n{\"run_id\":\"b\"}\n"; }
    auto f = ResultsFile::open(path);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->records().size(), 2u);
    EXPECT_EQ(f->corrupt_lines(), 1u);
    EXPECT_EQ(f->truncated_bytes(), 0u);
}

TEST(Sweep, TableSortsByMetricAndShowsVaryingParameters) {
    auto rec = [](const std::string& id, const std::string& threads, double fps, double median) {
        json report{{"latency_ms", {{"count", 5}, {"median", median}, {"p99", median}, {"cv", 0.0}}}, {"throughput_fps", fps},
                    {"result", "VALID"}};
        return json{{"run_id", id + "000000000000000"}, {"status", "ok"}, {"params", json::array({{"device", "cpu"}, {"threads", threads}})},
                    {"report", report}};
    };
    std::vector<json> records{rec("a", "1", 50, 20), rec("b", "2", 90, 11),
                              {{"run_id", "c000000000000000"}, {"status", "error"}, {"error", "boom"},
                               {"params", json::array({{"device", "tpu"}, {"threads", "1"}})}}};
    const std::string t = sweep_table(records, "fps");
    EXPECT_LT(t.find("b0000000"), t.find("a0000000")) << t;
    EXPECT_LT(t.find("a0000000"), t.find("c0000000")) << t;  // errors last
    EXPECT_NE(t.find("threads"), std::string::npos);
    EXPECT_NE(t.find("ERROR: boom"), std::string::npos);
    const std::string by_latency = sweep_table(records, "latency");
    EXPECT_LT(by_latency.find("b0000000"), by_latency.find("a0000000"));
}

// Issue 11: the modelled device FPS and the measured host FPS of one run are two named columns, never one.
TEST(Sweep, TableKeepsMeasuredAndModelledFpsApart) {
    json report{{"latency_ms", {{"count", 5}, {"median", 40.0}, {"p99", 41.0}, {"cv", 0.0}}}, {"throughput_fps", 25.0},
                {"device_metrics", {{"device_fps", {{"value", 1288.2}, {"unit", "samples/s"}, {"source", "modelled: ..."}}}}},
                {"result", "VALID"}};
    const std::string long_error = "Out of Memory: Not enough space to allocate 16056320 B L1 buffer across 1 banks, where each bank "
                                   "needs to store 16056320 B, but bank size is 1369120 B (layer features.0.0)";
    std::vector<json> records{{{"run_id", "a000000000000000"}, {"status", "ok"}, {"params", json::array({{"batch", "1"}})}, {"report", report}},
                              {{"run_id", "b000000000000000"}, {"status", "error"}, {"error", long_error},
                               {"params", json::array({{"batch", "2"}})}}};
    const std::string t = sweep_table(records, "fps");
    EXPECT_NE(t.find("host FPS (measured)"), std::string::npos) << t;
    EXPECT_NE(t.find("device FPS (modelled)"), std::string::npos) << t;
    EXPECT_NE(t.find("25.0"), std::string::npos) << t;
    EXPECT_NE(t.find("1288.2"), std::string::npos) << t;
    EXPECT_NE(t.find("(layer features.0.0)"), std::string::npos) << t;  // a long error keeps the layer at its end
}

// A merge by hand while a submission (or another merge) briefly holds the lock waits for it instead of failing.
TEST(ResultsFileLock, OpenerWaitsForAShortHoldAndSaysWhoHoldsIt) {
    const std::string path = temp_file("lock_wait.jsonl");
    fs::remove(path);
    auto holder = std::make_unique<zoo::Result<ResultsFile>>(ResultsFile::open(path));
    ASSERT_TRUE(*holder);
    ASSERT_TRUE((*holder)->append({{"run_id", "a"}, {"status", "ok"}}));
    std::thread release([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        holder.reset();  // closes the descriptor: the lock goes with it
    });
    std::vector<std::string> notes;
    const auto t0 = std::chrono::steady_clock::now();
    auto waiter = ResultsFile::open(path, std::chrono::seconds(20), [&](const std::string& who) { notes.push_back(who); });
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    release.join();
    ASSERT_TRUE(waiter) << waiter.status().message();
    EXPECT_GE(waited, 0.3);
    EXPECT_LT(waited, 10.0);
    EXPECT_TRUE(waiter->has("a"));  // it read the file after the holder's last append
    ASSERT_EQ(notes.size(), 1u);    // told once, not once per poll
    // flock holders are listed in /proc/locks; this process holds it, so the note names this pid.
    EXPECT_NE(notes[0].find("pid " + std::to_string(::getpid())), std::string::npos) << notes[0];
}

TEST(ResultsFileLock, OpenerGivesUpAfterTheBoundNamingTheHolderAndWhatToDo) {
    const std::string path = temp_file("lock_give_up.jsonl");
    fs::remove(path);
    auto holder = ResultsFile::open(path);
    ASSERT_TRUE(holder);
    const auto t0 = std::chrono::steady_clock::now();
    auto waiter = ResultsFile::open(path, std::chrono::milliseconds(300));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(waiter);
    EXPECT_GE(waited, 0.3);
    const std::string msg = waiter.status().message();
    EXPECT_EQ(msg.rfind(path + ": locked by pid " + std::to_string(::getpid()), 0), 0u) << msg;
    EXPECT_NE(msg.find("for more than 0.3 s"), std::string::npos) << msg;
    EXPECT_NE(msg.find("run this again once it has finished"), std::string::npos) << msg;
    EXPECT_TRUE(holder->append({{"run_id", "b"}, {"status", "ok"}}));  // the holder is unaffected by the refused opener
    EXPECT_TRUE(holder->has("b"));
}

// ZOO_SWEEP_TEST_KILL_MID_WRITE=N: the N-th append writes half its line, then the process dies of SIGKILL; the line
// on disk is torn (no newline), and the next opener drops exactly that line. "threadsafe" death tests re-execute the
// test binary, so the child reads the variable afresh (the hook reads it once per process).
TEST(ResultsFileDeathTest, KillMidWriteHookTearsTheNthAppend) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    // Not temp_file(): its folder is named by the pid, and the re-executed child has another one.
    const std::string path = std::string(ZOO_BUILD_DIR) + "/test_sweep_kill_mid_write.jsonl";
    fs::remove(path);
    const json second{{"run_id", "second"}, {"status", "ok"}, {"padding", std::string(200, 'x')}};
    EXPECT_EXIT(
        {
            ::setenv("ZOO_SWEEP_TEST_KILL_MID_WRITE", "2", 1);
            auto f = ResultsFile::open(path);
            if (!f) std::exit(3);
            (void)f->append({{"run_id", "first"}, {"status", "ok"}});
            (void)f->append(second);
            std::exit(4);  // not reached: the second append kills the process
        },
        ::testing::KilledBySignal(SIGKILL), "");
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string first_line = json{{"run_id", "first"}, {"status", "ok"}}.dump() + "\n";
    const std::string second_line = second.dump() + "\n";
    ASSERT_EQ(text.size(), first_line.size() + second_line.size() / 2) << text;
    EXPECT_EQ(text, first_line + second_line.substr(0, second_line.size() / 2));
    auto reopened = ResultsFile::open(path);  // this process: the variable is unset here, the hook stays off
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->truncated_bytes(), second_line.size() / 2);
    EXPECT_TRUE(reopened->has("first"));
    EXPECT_FALSE(reopened->has("second"));
    EXPECT_TRUE(reopened->append(second));
    EXPECT_TRUE(reopened->append({{"run_id", "third"}, {"status", "ok"}}));  // unset: the 2nd append is not torn
    EXPECT_EQ(read_results(path)->size(), 3u);
}
