// Shard splitting, part files and the merge of the Slurm launcher (no Slurm needed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <fstream>
#include <map>

#include "sweep/sweep.hpp"

using namespace zoo::runner;
using nlohmann::json;
namespace fs = boost::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("zoo_shard_test_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

json record(const std::string& id, const std::string& build = "build-A", const std::string& status = "ok") {
    json j{{"run_id", id}, {"status", status}, {"provenance", {{"runner_build", build}}}};
    if (status != "ok") j["error"] = "device refused";
    return j;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::map<std::string, int> ids_in(const std::string& path) {
    std::map<std::string, int> seen;
    auto c = read_part(path);
    EXPECT_TRUE(c);
    for (const auto& r : c->records) ++seen[r["run_id"].get<std::string>()];
    return seen;
}

}  // namespace

TEST(SweepShards, ParseShardAcceptsOneBasedKOverN) {
    auto s = parse_shard("3/4");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 3u);
    EXPECT_EQ(s->count, 4u);
    for (const char* bad : {"0/4", "5/4", "4", "a/4", "1/0", "-1/4", "1/4x", ""}) {
        auto r = parse_shard(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) EXPECT_NE(r.status().message().find("expected K/N"), std::string::npos);
    }
}

TEST(SweepShards, RoundRobinCoversEveryIdExactlyOnceWithBalancedSizes) {
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) ids.push_back("r" + std::to_string(i));
    std::map<std::string, int> seen;
    std::vector<size_t> sizes;
    for (size_t k = 1; k <= 4; ++k) {
        const auto part = shard_ids(ids, {k, 4});
        sizes.push_back(part.size());
        for (const auto& id : part) ++seen[id];
    }
    EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 2, 2}));
    EXPECT_EQ(shard_ids(ids, {2, 4}), (std::vector<std::string>{"r1", "r5", "r9"}));
    ASSERT_EQ(seen.size(), 10u);
    for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
    // More shards than runs: the extra shards are empty, none repeats a run.
    EXPECT_TRUE(shard_ids({"a", "b"}, {3, 4}).empty());
}

TEST(SweepShards, TaskCountFromShardsOrRunsPerTask) {
    EXPECT_EQ(task_count(12, 4, 0), 4u);
    EXPECT_EQ(task_count(12, 0, 5), 3u);   // ceil(12 / 5)
    EXPECT_EQ(task_count(12, 0, 0), 12u);  // default: a task per run
    EXPECT_EQ(task_count(3, 8, 0), 3u);    // never more tasks than runs
    EXPECT_EQ(task_count(0, 4, 0), 0u);
    EXPECT_EQ(task_count(10000, 0, 100), 100u);
}

TEST(SweepMerge, EachRunOnceTornLinesDroppedFailuresKeptPartsRemoved) {
    const std::string dir = fresh_dir("merge");
    const std::string results = dir + "/r.jsonl";
    write(results, record("a").dump() + "\n");
    // Two tasks both recorded "b" (a requeued task); task 2's last line is torn; "e" failed.
    write(part_path(results, "7_1"), record("a").dump() + "\n" + record("b").dump() + "\n" + record("c").dump() + "\n");
    write(part_path(results, "7_2"), record("b").dump() + "\n" + record("e", "build-A", "error").dump() + "\n" +
                                         record("d").dump().substr(0, 20));
    write(dir + "/other.jsonl.part.7_1.jsonl", record("zzz").dump() + "\n");  // another results file's part: untouched
    EXPECT_EQ(part_files(results).size(), 2u);
    EXPECT_EQ(part_files(results, "7_").size(), 2u);
    EXPECT_EQ(part_files(results, "8_").size(), 0u);
    {
        auto file = ResultsFile::open(results);
        ASSERT_TRUE(file) << file.status().message();
        auto m = merge_parts(*file, false);
        ASSERT_TRUE(m) << m.status().message();
        EXPECT_EQ(m->parts, 2u);
        EXPECT_EQ(m->added, 3u);       // b, c, e
        EXPECT_EQ(m->duplicates, 2u);  // a (already in the results), b (second copy)
        EXPECT_EQ(m->torn_lines, 1u);
        EXPECT_EQ(m->removed, 2u);
    }
    const auto seen = ids_in(results);
    EXPECT_EQ(seen, (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}, {"e", 1}}));
    auto c = read_part(results);
    for (const auto& r : c->records)
        if (r["run_id"] == "e") EXPECT_EQ(r["error"], "device refused");
    EXPECT_TRUE(part_files(results).empty());
    EXPECT_TRUE(fs::exists(dir + "/other.jsonl.part.7_1.jsonl"));

    // A merge after a merge, or of a part that repeats what is merged, appends nothing.
    write(part_path(results, "9_1"), record("c").dump() + "\n");
    {
        auto file = ResultsFile::open(results);
        ASSERT_TRUE(file);
        auto m = merge_parts(*file, false);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->added, 0u);
        EXPECT_EQ(m->duplicates, 1u);
    }
    EXPECT_EQ(ids_in(results).size(), 4u);
    EXPECT_EQ(read_part(results)->records.size(), 4u);
}

TEST(SweepMerge, PartStillLockedByItsWriterIsMergedButKept) {
    const std::string dir = fresh_dir("locked");
    const std::string results = dir + "/r.jsonl";
    auto writer = ResultsFile::open(part_path(results, "3_1"));  // a running task holds its part
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->append(record("x")));
    auto file = ResultsFile::open(results);
    ASSERT_TRUE(file);
    auto m = merge_parts(*file, false);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->added, 1u);
    EXPECT_EQ(m->in_use, 1u);
    EXPECT_EQ(m->removed, 0u);
    EXPECT_TRUE(fs::exists(part_path(results, "3_1")));
    EXPECT_TRUE(file->has("x"));
}

TEST(SweepMerge, MixedRunnerBuildsAreRefusedUnlessAllowed) {
    const std::string dir = fresh_dir("mixed");
    const std::string results = dir + "/r.jsonl";
    write(results, record("a", "build-A").dump() + "\n");
    write(part_path(results, "5_1"), record("b", "build-B").dump() + "\n");
    {
        auto file = ResultsFile::open(results);
        ASSERT_TRUE(file);
        auto m = merge_parts(*file, false);
        ASSERT_FALSE(m);
        const std::string msg = m.status().message();
        EXPECT_NE(msg.find("2 different runner builds"), std::string::npos) << msg;
        EXPECT_NE(msg.find("'build-A'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("'build-B'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("--allow-mixed-builds"), std::string::npos) << msg;
        EXPECT_FALSE(file->has("b"));  // nothing appended
    }
    EXPECT_EQ(read_part(results)->records.size(), 1u);
    EXPECT_TRUE(fs::exists(part_path(results, "5_1")));
    auto file = ResultsFile::open(results);
    ASSERT_TRUE(file);
    auto m = merge_parts(*file, true);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->added, 1u);
    EXPECT_EQ(m->builds.size(), 2u);
}

TEST(SweepMerge, RecordsCarryProvenance) {
    const json p = provenance();
    EXPECT_FALSE(p["host"].get<std::string>().empty());
    EXPECT_EQ(p["runner_build"].get<std::string>(), runner_build_id());
    EXPECT_NE(runner_build_id().find(" exe:"), std::string::npos);
    EXPECT_EQ(runner_build_id().find("unreadable"), std::string::npos);
    EXPECT_TRUE(p.contains("slurm_job_id"));
    EXPECT_TRUE(p.contains("slurm_array_task_id"));
}
