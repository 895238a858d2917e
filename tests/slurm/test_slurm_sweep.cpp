// `runner sweep --launcher slurm` against the real one-node Slurm that tools/slurm_cluster.sh starts (the ctest fixture
// slurm_cluster): a 12-run sweep as a 4-task array, a cancelled array resumed, and tasks SIGKILLed mid-write.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "../cli/cli_harness.hpp"

namespace fs = boost::filesystem;
using nlohmann::json;

namespace {

std::string work_dir(const std::string& name) {
    fs::path d = fs::path(ZOO_BUILD_DIR) / "slurm_tests" / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d.string();
}

// Every complete line of a JSONL file (a torn last line is not a record).
std::vector<json> records_of(const std::string& path) {
    std::vector<json> out;
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t start = 0, nl;
    while ((nl = text.find('\n', start)) != std::string::npos) {
        const std::string line = text.substr(start, nl - start);
        start = nl + 1;
        if (!line.empty()) out.push_back(json::parse(line));
    }
    return out;
}

std::map<std::string, int> count_ids(const std::vector<json>& recs) {
    std::map<std::string, int> m;
    for (const auto& r : recs) ++m[r["run_id"].get<std::string>()];
    return m;
}

size_t part_records(const std::string& dir) {
    size_t n = 0;
    for (fs::directory_iterator it(dir), end; it != end; ++it)
        if (it->path().filename().string().find(".part.") != std::string::npos) n += records_of(it->path().string()).size();
    return n;
}

std::string write_experiment(const std::string& dir, const std::string& base) {
    const std::string path = dir + "/twelve.yaml";
    std::ofstream(path) << "name: twelve\nbase: {model: mobilenetv3, variant: small, device: cpu, input: random, " << base
                        << "}\naxes:\n  batch: [1, 2]\n  threads: [1, 2]\n  seed: [0, 1, 2]\n";
    return path;
}

std::string job_id_in(const std::string& output) {
    const std::string key = "Submitted job array ";
    const size_t p = output.find(key);
    if (p == std::string::npos) return "";
    return output.substr(p + key.size(), output.find(' ', p + key.size()) - p - key.size());
}

class SlurmSweep : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::getenv("SLURM_CONF")) ::setenv("SLURM_CONF", (std::string(ZOO_BUILD_DIR) + "/slurm/etc/slurm.conf").c_str(), 1);
        const int rc = std::system("sinfo -h -o %T 2>&1 | grep -qx idle");
        ASSERT_EQ(rc, 0) << "no idle Slurm node (SLURM_CONF=" << std::getenv("SLURM_CONF")
                         << "): the slurm_cluster_start fixture must have failed, see its output";
    }
};

}  // namespace

TEST_F(SlurmSweep, TwelveRunsAsAFourTaskArrayEachRunExactlyOnce) {
    const std::string dir = work_dir("array");
    const std::string exp = write_experiment(dir, "warmup: 0, iterations: 1");

    auto t0 = std::chrono::steady_clock::now();
    CommandResult local = run_runner("sweep " + exp + " --results " + dir + "/local.jsonl --no-progress-bar");
    const double local_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(local.exit_code, 0) << local.output;

    CommandResult dry = run_runner("sweep " + exp + " --results " + dir + "/s.jsonl --launcher slurm --shards 4 --dry-run");
    ASSERT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_TRUE(contains(dry.output, "12 to run as a Slurm array of 4 task(s)")) << dry.output;
    EXPECT_TRUE(contains(dry.output, "task 4/4: 3 run(s)")) << dry.output;

    t0 = std::chrono::steady_clock::now();
    CommandResult r = run_runner("sweep " + exp + " --results " + dir + "/s.jsonl --launcher slurm --shards 4 --wait --no-progress-bar");
    const double slurm_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::cout << "12-run sweep: local " << local_s << " s, Slurm 4-task array with --wait " << slurm_s << " s\n";
    EXPECT_TRUE(contains(r.output, "4 COMPLETED")) << r.output;
    EXPECT_TRUE(contains(r.output, "[12/12]")) << r.output;
    EXPECT_TRUE(contains(r.output, "12 run(s) added")) << r.output;
    const std::string job = job_id_in(r.output);
    ASSERT_FALSE(job.empty()) << r.output;

    const auto recs = records_of(dir + "/s.jsonl");
    ASSERT_EQ(recs.size(), 12u);
    const auto ids = count_ids(recs);
    EXPECT_EQ(ids.size(), 12u);
    EXPECT_EQ(ids, count_ids(records_of(dir + "/local.jsonl")));  // the same 12 run ids as the local sweep
    std::map<std::string, int> per_task;
    for (const auto& rec : recs) {
        const json& p = rec["provenance"];
        EXPECT_EQ(p["slurm_array_job_id"], job);
        EXPECT_FALSE(p["host"].get<std::string>().empty());
        EXPECT_FALSE(p["runner_build"].get<std::string>().empty());
        EXPECT_FALSE(p["plugin_builds"].empty());
        ++per_task[p["slurm_array_task_id"].get<std::string>()];
    }
    EXPECT_EQ(per_task, (std::map<std::string, int>{{"1", 3}, {"2", 3}, {"3", 3}, {"4", 3}}));
    EXPECT_EQ(part_records(dir), 0u);  // every part merged and removed

    // Nothing left: a second submission submits nothing and appends nothing.
    r = run_runner("sweep " + exp + " --results " + dir + "/s.jsonl --launcher slurm --shards 4 --wait");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "12 already in")) << r.output;
    EXPECT_FALSE(contains(r.output, "Submitted")) << r.output;
    EXPECT_EQ(records_of(dir + "/s.jsonl").size(), 12u);
}

TEST_F(SlurmSweep, CancelledMidwayThenResumedEachRunExactlyOnce) {
    const std::string dir = work_dir("cancel");
    // time: 1 makes each run last a second, so the cancel lands while tasks are mid-sweep.
    const std::string exp = write_experiment(dir, "warmup: 0, iterations: 1, time: 1");
    const std::string results = dir + "/s.jsonl";
    CommandResult r = run_runner("sweep " + exp + " --results " + results + " --launcher slurm --shards 4");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string job = job_id_in(r.output);
    ASSERT_FALSE(job.empty()) << r.output;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (part_records(dir) < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(std::system(("scancel " + job).c_str()), 0);
    while (std::system(("squeue -h -j " + job + " 2>/dev/null | grep -q .").c_str()) == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const size_t before = part_records(dir);
    std::cout << "cancelled array " << job << ": " << before << " of 12 runs recorded before scancel took effect\n";
    ASSERT_GE(before, 3u);
    ASSERT_LT(before, 12u) << "the array finished before it could be cancelled";

    r = run_runner("sweep " + exp + " --results " + results + " --launcher slurm --shards 4 --wait --no-progress-bar");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, std::to_string(before) + " run(s) added")) << r.output;  // the cancelled array's parts
    EXPECT_TRUE(contains(r.output, std::to_string(12 - before) + " to run as a Slurm array")) << r.output;
    const auto recs = records_of(results);
    const auto ids = count_ids(recs);
    std::cout << "after resume: " << recs.size() << " records, " << ids.size() << " distinct runs\n";
    EXPECT_EQ(recs.size(), 12u);
    EXPECT_EQ(ids.size(), 12u);
    std::set<std::string> jobs;
    for (const auto& rec : recs) jobs.insert(rec["provenance"]["slurm_array_job_id"].get<std::string>());
    EXPECT_EQ(jobs.size(), 2u);  // some runs from the cancelled array, the rest from the resubmission
}

TEST_F(SlurmSweep, TaskKilledMidWriteLosesOnlyTheTornRunWhichResumeRedoes) {
    const std::string dir = work_dir("sigkill");
    const std::string exp = write_experiment(dir, "warmup: 0, iterations: 1");
    const std::string results = dir + "/s.jsonl";
    // Each task SIGKILLs itself half way through writing its second record; the variable reaches the tasks only
    // (through the sbatch argument pass-through), not the submitting runner that merges.
    CommandResult r = run_runner("sweep " + exp + " --results " + results + " --launcher slurm --shards 4 --wait --no-progress-bar"
                                 " --sbatch-arg=--export=ALL,ZOO_SWEEP_TEST_KILL_MID_WRITE=2");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "4 FAILED")) << r.output;
    EXPECT_TRUE(contains(r.output, "4 torn last line(s) dropped")) << r.output;
    EXPECT_TRUE(contains(r.output, "8 run(s) missing")) << r.output;
    const auto after_kill = records_of(results);
    std::cout << "SIGKILL mid-write: " << after_kill.size() << " of 12 runs merged, 4 torn lines dropped\n";
    ASSERT_EQ(after_kill.size(), 4u);
    std::ifstream raw(results);
    for (std::string line; std::getline(raw, line);) EXPECT_NO_THROW(json::parse(line)) << line;
    // The survivors are exactly each task's first run: task K of 4 takes pending ids K, K+4, K+8 (round robin), so
    // the first four ids of the submitted list; the torn second runs (ids 5..8) and the never-run thirds are missing.
    std::vector<std::string> submitted;
    for (fs::directory_iterator it(results + ".slurm"), end; it != end; ++it)
        if (it->path().extension() == ".ids") {
            std::ifstream ids(it->path().string());
            for (std::string id; std::getline(ids, id);) submitted.push_back(id);
        }
    ASSERT_EQ(submitted.size(), 12u);
    std::map<std::string, int> first_runs;
    for (size_t k = 0; k < 4; ++k) first_runs[submitted[k]] = 1;
    EXPECT_EQ(count_ids(after_kill), first_runs);
    std::set<std::string> tasks;
    for (const auto& rec : after_kill) tasks.insert(rec["provenance"]["slurm_array_task_id"].get<std::string>());
    EXPECT_EQ(tasks, (std::set<std::string>{"1", "2", "3", "4"}));
    EXPECT_EQ(part_records(dir), 0u);  // the dead tasks' parts were folded in and removed

    r = run_runner("sweep " + exp + " --results " + results + " --launcher slurm --shards 4 --wait --no-progress-bar");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "8 to run as a Slurm array of 4 task(s)")) << r.output;
    const auto recs = records_of(results);
    std::cout << "after resume: " << recs.size() << " records, " << count_ids(recs).size() << " distinct runs\n";
    EXPECT_EQ(recs.size(), 12u);
    EXPECT_EQ(count_ids(recs).size(), 12u);
}

// `runner sweep --merge` by hand while a `--wait` follows the array: the follower does not hold the results file's
// lock while it waits, so the hand merge folds in what has finished at once, and the follower's final merge adds only
// the rest.
TEST_F(SlurmSweep, MergeByHandWhileAWaitFollowsTheArrayIsNotLockedOut) {
    const std::string dir = work_dir("merge_during_wait");
    const std::string exp = write_experiment(dir, "warmup: 0, iterations: 1, time: 1");
    const std::string results = dir + "/s.jsonl";
    CommandResult follower;
    std::thread wait_thread([&] {
        follower = run_runner("sweep " + exp + " --results " + results + " --launcher slurm --shards 4 --wait --no-progress-bar");
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (part_records(dir) < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto t0 = std::chrono::steady_clock::now();
    CommandResult hand = run_runner("sweep " + exp + " --results " + results + " --merge");
    const double merge_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const size_t merged_by_hand = records_of(results).size();
    wait_thread.join();
    std::cout << "merge by hand during --wait: " << merge_s << " s, " << merged_by_hand << " of 12 runs merged by it\n";
    EXPECT_EQ(hand.exit_code, 0) << hand.output;
    EXPECT_FALSE(contains(hand.output, "locked")) << hand.output;
    EXPECT_LT(merge_s, 10.0) << hand.output;
    EXPECT_GE(merged_by_hand, 2u) << hand.output;
    EXPECT_TRUE(contains(hand.output, "not in the results yet")) << hand.output;  // the array was still running

    ASSERT_EQ(follower.exit_code, 0) << follower.output;
    EXPECT_TRUE(contains(follower.output, "4 COMPLETED")) << follower.output;
    EXPECT_TRUE(contains(follower.output, "[12/12]")) << follower.output;  // progress counts runs the hand merge moved
    const auto recs = records_of(results);
    EXPECT_EQ(recs.size(), 12u);
    EXPECT_EQ(count_ids(recs).size(), 12u);
    EXPECT_EQ(part_records(dir), 0u);
}
