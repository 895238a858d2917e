#include "sweep/sweep.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "config/run_config.hpp"
#include "core/limits.hpp"
#include "core/suggest.hpp"
#include "report/report.hpp"
#include "report/text_table.hpp"
#include "zoo/abi.h"

namespace zoo::runner {

using nlohmann::json;

namespace {

const std::vector<std::string>& run_keys() {
    static const std::vector<std::string> keys{"model",   "variant",    "device",         "batch",    "threads", "seed",
                                               "input",   "config",     "hardware",       "weights",  "resize",  "warmup",
                                               "iterations", "time",    "max_iterations", "max_time", "reference",
                                               "pcc_threshold", "layer_pcc", "profile"};
    return keys;
}

std::string where(const YAML::Node& n, const std::string& origin) {
    const auto m = n.Mark();
    return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// A map key or a name as text. yaml-cpp's as<std::string>() throws on a non-scalar (`? [a]: 1`, `? :`), so every
// key is checked here and the error names where it is.
Result<std::string> scalar_text(const YAML::Node& n, const std::string& origin, const std::string& what) {
    if (!n.IsScalar()) return Status::error(where(n, origin) + ": " + what + " must be a plain name (a scalar)");
    return n.Scalar();
}

// A key that is not a run key becomes a --set; one a typo away from a run key is almost certainly a typo
// (`itertions: 2`) that would otherwise make every run fail later, so refuse it while parsing.
Status check_param_key(const YAML::Node& key_node, const std::string& key, const std::string& origin) {
    if (is_run_key(key) || key.find(':') != std::string::npos) return Status::ok();
    const auto& layer_keys = common_layer_keys();  // a device's options are checked when the run loads its config
    if (std::find(layer_keys.begin(), layer_keys.end(), key) != layer_keys.end()) return Status::ok();
    const std::string hint = did_you_mean(key, run_keys());
    if (hint.empty()) return Status::ok();
    return Status::error(where(key_node, origin) + ": unknown sweep key '" + key + "'" + hint);
}

// A scalar as text, a sequence of scalars as YAML flow text "[192, 256]" (what --set parses).
Result<std::string> value_text(const YAML::Node& n, const std::string& origin, const std::string& key) {
    if (n.IsScalar()) return n.Scalar();
    if (n.IsSequence()) {
        std::string t = "[";
        for (size_t i = 0; i < n.size(); ++i) {
            if (!n[i].IsScalar()) return Status::error(where(n, origin) + ": '" + key + "' must be a scalar or a list of scalars");
            t += (i ? ", " : "") + n[i].Scalar();
        }
        return t + "]";
    }
    return Status::error(where(n, origin) + ": '" + key + "' must be a scalar or a list of scalars");
}

Result<Params> read_params(const YAML::Node& map, const std::string& origin, const std::string& what) {
    if (!map.IsMap()) return Status::error(where(map, origin) + ": " + what + " must be a map of KEY: VALUE");
    Params p;
    for (auto it = map.begin(); it != map.end(); ++it) {
        ZOO_ASSIGN_OR_RETURN(const std::string key, scalar_text(it->first, origin, "a key of " + what));
        ZOO_TRY(check_param_key(it->first, key, origin));
        ZOO_ASSIGN_OR_RETURN(std::string v, value_text(it->second, origin, key));
        p.emplace_back(key, v);
    }
    return p;
}

void set_param(Params& p, const std::string& key, const std::string& value) {
    for (auto& [k, v] : p)
        if (k == key) {
            v = value;
            return;
        }
    p.emplace_back(key, value);
}

const std::string* find_param(const Params& p, const std::string& key) {
    for (const auto& [k, v] : p)
        if (k == key) return &v;
    return nullptr;
}

std::string label_of(const Params& p) {
    auto get = [&](const char* k, const std::string& d = "") {
        const std::string* v = find_param(p, k);
        return v ? *v : d;
    };
    std::string l = get("model", "?");
    if (!get("variant").empty()) l += "/" + get("variant");
    l += " " + get("device", "?");
    l += " b" + get("batch", "1");
    if (!get("threads").empty()) l += " t" + get("threads");
    for (const auto& [k, v] : p)
        if (!is_run_key(k)) l += " " + k + "=" + v;
    if (!get("reference").empty()) l += " vs " + get("reference");
    return l;
}

Result<int64_t> to_int(const std::string& key, const std::string& v) {
    try {
        size_t used = 0;
        long long x = std::stoll(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return static_cast<int64_t>(x);
    } catch (...) {
        return Status::error("sweep parameter '" + key + "' must be an integer, found '" + v + "'");
    }
}

Result<double> to_double(const std::string& key, const std::string& v) {
    try {
        size_t used = 0;
        double x = std::stod(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return x;
    } catch (...) {
        return Status::error("sweep parameter '" + key + "' must be a number, found '" + v + "'");
    }
}

Result<bool> to_bool(const std::string& key, const std::string& v) {
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    return Status::error("sweep parameter '" + key + "' must be true or false, found '" + v + "'");
}

}  // namespace

uint64_t fnv1a64(const std::string& text) {
    uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

bool is_run_key(const std::string& key) {
    const auto& k = run_keys();
    return std::find(k.begin(), k.end(), key) != k.end();
}

Params canonical_params(const Params& params) {
    Params runs, sets;
    for (const auto& [k, v] : params) set_param(is_run_key(k) ? runs : sets, k, v);
    std::sort(runs.begin(), runs.end());
    runs.insert(runs.end(), sets.begin(), sets.end());
    return runs;
}

std::string run_id(const Params& params) {
    std::string text = "zoo-sweep-run/1\n";
    for (const auto& [k, v] : canonical_params(params)) text += k + "=" + v + "\n";
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
    return buf;
}

namespace {

Result<Experiment> parse_experiment_unchecked(const std::string& text, const std::string& origin) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return Status::error(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                             ": invalid YAML: " + e.msg);
    }
    if (!root.IsMap()) return Status::error(origin + ": an experiment is a map with base, axes and/or runs");
    Experiment ex;
    ex.path = origin;
    ex.name = boost::filesystem::path(origin).stem().string();
    for (auto it = root.begin(); it != root.end(); ++it) {
        ZOO_ASSIGN_OR_RETURN(const std::string key, scalar_text(it->first, origin, "an experiment key"));
        const YAML::Node v = it->second;
        if (key == "name") {
            ZOO_ASSIGN_OR_RETURN(ex.name, scalar_text(v, origin, "'name'"));
        } else if (key == "description") {
            ZOO_ASSIGN_OR_RETURN(ex.description, scalar_text(v, origin, "'description'"));
        } else if (key == "base") {
            ZOO_ASSIGN_OR_RETURN(ex.base, read_params(v, origin, "'base'"));
        } else if (key == "axes") {
            if (!v.IsMap()) return Status::error(where(v, origin) + ": 'axes' must be a map of NAME: [values]");
            for (auto a = v.begin(); a != v.end(); ++a) {
                ZOO_ASSIGN_OR_RETURN(const std::string axis, scalar_text(a->first, origin, "an axis name"));
                ZOO_TRY(check_param_key(a->first, axis, origin));
                const YAML::Node values = a->second;
                if (!values.IsSequence() || values.size() == 0)
                    return Status::error(where(values, origin) + ": axis '" + axis + "' must be a non-empty list");
                std::vector<Params> vals;
                for (const auto& val : values) {
                    if (val.IsMap()) {
                        ZOO_ASSIGN_OR_RETURN(Params p, read_params(val, origin, "a value of axis '" + axis + "'"));
                        vals.push_back(std::move(p));
                    } else {
                        ZOO_ASSIGN_OR_RETURN(std::string t, value_text(val, origin, axis));
                        vals.push_back({{axis, t}});
                    }
                }
                ex.axes.emplace_back(axis, std::move(vals));
            }
        } else if (key == "runs") {
            if (!v.IsSequence()) return Status::error(where(v, origin) + ": 'runs' must be a list of maps");
            for (const auto& r : v) {
                ZOO_ASSIGN_OR_RETURN(Params p, read_params(r, origin, "a run"));
                ex.runs.push_back(std::move(p));
            }
        } else {
            return Status::error(where(it->first, origin) + ": unknown experiment key '" + key +
                                 "' (expected name, description, base, axes, runs)");
        }
    }
    if (ex.axes.empty() && ex.runs.empty()) return Status::error(origin + ": the experiment has neither axes nor runs");
    // The cross product is counted before it is built: 40 two-value axes are 2^40 runs.
    const auto max_runs = static_cast<uint64_t>(limits().sweep_runs);
    uint64_t count = ex.axes.empty() ? 0 : 1;
    for (const auto& [axis, values] : ex.axes) {
        if (__builtin_mul_overflow(count, static_cast<uint64_t>(values.size()), &count) || count > max_runs) {
            count = max_runs + 1;
            break;
        }
    }
    count += ex.runs.size();
    if (count > max_runs)
        return Status::error(origin + ": the experiment expands to more than " + std::to_string(max_runs) + " runs " +
                             limit_hint("sweep_runs"));
    return ex;
}

}  // namespace

Result<Experiment> parse_experiment(const std::string& text, const std::string& origin) {
    // yaml-cpp throws from conversions and iteration as well as from Load; nothing may escape to the caller.
    try {
        return parse_experiment_unchecked(text, origin);
    } catch (const YAML::Exception& e) {
        return Status::error(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
    } catch (const std::exception& e) {
        return Status::error(origin + ": cannot read the experiment: " + e.what());
    }
}

Result<Experiment> load_experiment(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Status::error(path + ": cannot open the experiment file");
    std::stringstream s;
    s << in.rdbuf();
    return parse_experiment(s.str(), path);
}

std::vector<SweepRun> expand_experiment(const Experiment& ex) {
    std::vector<Params> combos;
    if (!ex.axes.empty()) {
        combos.push_back(ex.base);
        for (const auto& [axis, values] : ex.axes) {
            std::vector<Params> next;
            for (const auto& c : combos)
                for (const auto& v : values) {
                    Params p = c;
                    for (const auto& [k, val] : v) set_param(p, k, val);
                    next.push_back(std::move(p));
                }
            combos = std::move(next);
        }
    }
    for (const auto& r : ex.runs) {
        Params p = ex.base;
        for (const auto& [k, v] : r) set_param(p, k, v);
        combos.push_back(std::move(p));
    }
    std::vector<SweepRun> out;
    std::set<std::string> seen;
    for (auto& c : combos) {
        SweepRun run;
        run.params = canonical_params(c);
        run.id = run_id(run.params);
        if (!seen.insert(run.id).second) continue;
        run.label = label_of(run.params);
        out.push_back(std::move(run));
    }
    return out;
}

Result<RunRequest> request_for(const Params& params) {
    RunRequest rq;
    rq.input = "random";
    rq.warmup = 2;
    rq.min_iterations = 20;
    rq.top = 1;
    rq.max_seconds = 300;
    for (const auto& [k, v] : params) {
        if (!is_run_key(k)) {
            rq.session.sets.push_back(k + "=" + v);
        } else if (k == "model") {
            rq.session.model = v;
        } else if (k == "variant") {
            rq.session.variant = v;
        } else if (k == "device") {
            rq.session.device = v;
        } else if (k == "batch") {
            ZOO_ASSIGN_OR_RETURN(rq.session.batch, to_int(k, v));
        } else if (k == "threads") {
            ZOO_ASSIGN_OR_RETURN(int64_t t, to_int(k, v));
            rq.session.threads = static_cast<int>(t);
        } else if (k == "seed") {
            ZOO_ASSIGN_OR_RETURN(int64_t s, to_int(k, v));
            rq.session.seed = static_cast<uint64_t>(s);
        } else if (k == "input") {
            rq.input = v;
        } else if (k == "config") {
            rq.session.run_config = v;
        } else if (k == "hardware") {
            rq.session.hardware = v;
        } else if (k == "weights") {
            rq.session.weights = v;
        } else if (k == "resize") {
            ZOO_ASSIGN_OR_RETURN(int64_t r, to_int(k, v));
            rq.resize = static_cast<int>(r);
        } else if (k == "warmup") {
            ZOO_ASSIGN_OR_RETURN(int64_t w, to_int(k, v));
            rq.warmup = static_cast<int>(w);
        } else if (k == "iterations") {
            ZOO_ASSIGN_OR_RETURN(rq.min_iterations, to_int(k, v));
        } else if (k == "time") {
            ZOO_ASSIGN_OR_RETURN(rq.min_seconds, to_double(k, v));
        } else if (k == "max_iterations") {
            ZOO_ASSIGN_OR_RETURN(rq.max_iterations, to_int(k, v));
        } else if (k == "max_time") {
            ZOO_ASSIGN_OR_RETURN(rq.max_seconds, to_double(k, v));
        } else if (k == "reference") {
            rq.reference = v;
        } else if (k == "pcc_threshold") {
            ZOO_ASSIGN_OR_RETURN(rq.pcc_threshold, to_double(k, v));
        } else if (k == "layer_pcc") {
            ZOO_ASSIGN_OR_RETURN(rq.per_layer_pcc, to_bool(k, v));
        } else if (k == "profile") {
            ZOO_ASSIGN_OR_RETURN(rq.profile, to_bool(k, v));
        }
    }
    if (rq.session.model.empty()) return Status::error("sweep run has no 'model'");
    if (rq.session.device.empty()) return Status::error("sweep run has no 'device'");
    if (rq.min_iterations < 0 || rq.min_seconds < 0) return Status::error("sweep run: iterations and time must be >= 0");
    return rq;
}

bool is_timing_run(const RunRequest& rq) { return rq.min_iterations > 0 || rq.min_seconds > 0; }

// ---------------------------------------------------------------------------------------------------------------------
// Results file

namespace {

// Who holds the flock on fd, from /proc/locks ("2: FLOCK  ADVISORY  WRITE <pid> <maj:min:inode> 0 EOF") and the
// holder's command line: "pid 123 (runner sweep exp.yaml ...)", or "another process" when the kernel does not say.
std::string lock_holder(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return "another process";
    // Matched on the inode alone: on overlayfs (containers) stat's device is the backing filesystem's, /proc/locks
    // prints the overlay's. Another file with the same inode on another filesystem would only misname the holder.
    const std::string inode = std::to_string(st.st_ino);
    std::ifstream locks("/proc/locks");
    for (std::string line; std::getline(locks, line);) {
        std::istringstream in(line);
        std::string slot, kind, advisory, mode, pid, where;
        if (!(in >> slot >> kind) || kind == "->") continue;  // "->" lines are waiters, not holders
        if (!(in >> advisory >> mode >> pid >> where) || kind != "FLOCK") continue;
        const size_t colon = where.rfind(':');  // "maj:min:inode"
        if (colon == std::string::npos || where.substr(colon + 1) != inode) continue;
        if (pid == "0") continue;  // a holder outside this pid namespace
        std::ifstream cmdline("/proc/" + pid + "/cmdline", std::ios::binary);
        std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
        std::replace(args.begin(), args.end(), '\0', ' ');
        while (!args.empty() && args.back() == ' ') args.pop_back();
        return "pid " + pid + (args.empty() ? "" : " (" + args + ")");
    }
    return "another process";
}

}  // namespace

Result<ResultsFile> ResultsFile::open(const std::string& path, std::chrono::milliseconds lock_wait,
                                      const std::function<void(const std::string& holder)>& on_wait) {
    ResultsFile f;
    f.m_path = path;
    const boost::filesystem::path parent = boost::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        boost::system::error_code ec;
        boost::filesystem::create_directories(parent, ec);
    }
    f.m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f.m_fd < 0) return Status::error(path + ": cannot open the results file: " + std::strerror(errno));
    // Polled rather than a blocking flock: a blocking call cannot be bounded without signals.
    const auto give_up_at = std::chrono::steady_clock::now() + lock_wait;
    bool waited = false;
    while (::flock(f.m_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) return Status::error(path + ": cannot lock: " + std::strerror(errno));
        if (std::chrono::steady_clock::now() >= give_up_at) {
            const double seconds = std::chrono::duration<double>(lock_wait).count();
            std::ostringstream waited_for;
            waited_for << seconds;
            return Status::error(path + ": locked by " + lock_holder(f.m_fd) + (seconds > 0 ? " for more than " + waited_for.str() + " s" : "") +
                                 ". A local `runner sweep` holds its results file until it ends (a merge or a Slurm "
                                 "submission only for seconds): run this again once it has finished, or give this "
                                 "sweep another --results");
        }
        if (!waited && on_wait) on_wait(lock_holder(f.m_fd));
        waited = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Read everything; the file holds one line per finished run, so it stays small.
    std::string text;
    char buf[65536];
    ssize_t n;
    while ((n = ::pread(f.m_fd, buf, sizeof buf, static_cast<off_t>(text.size()))) > 0) text.append(buf, static_cast<size_t>(n));
    if (n < 0) return Status::error(path + ": cannot read the results file: " + std::strerror(errno));
    size_t start = 0, last_complete = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        if (nl == std::string::npos) break;  // a torn last line: no newline was written
        const std::string line = text.substr(start, nl - start);
        start = nl + 1;
        last_complete = start;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            json j = json::parse(line);
            if (!j.is_object() || !j.contains("run_id") || !j["run_id"].is_string()) throw std::runtime_error("no run_id");
            if (!f.m_ids.insert(j["run_id"].get<std::string>()).second) continue;  // never count a run twice
            f.m_records.push_back(std::move(j));
        } catch (...) {
            ++f.m_corrupt;
        }
    }
    if (last_complete < text.size()) {
        f.m_truncated = text.size() - last_complete;
        if (::ftruncate(f.m_fd, static_cast<off_t>(last_complete)) != 0)
            return Status::error(path + ": cannot truncate a torn last line: " + std::strerror(errno));
        ::fsync(f.m_fd);
    }
    if (::lseek(f.m_fd, 0, SEEK_END) < 0) return Status::error(path + ": cannot seek: " + std::strerror(errno));
    return f;
}

ResultsFile::ResultsFile(ResultsFile&& o) noexcept
    : m_path(std::move(o.m_path)), m_fd(o.m_fd), m_ids(std::move(o.m_ids)), m_records(std::move(o.m_records)),
      m_truncated(o.m_truncated), m_corrupt(o.m_corrupt), m_mutex(std::move(o.m_mutex)) {
    o.m_fd = -1;
}

ResultsFile::~ResultsFile() {
    if (m_fd >= 0) ::close(m_fd);  // releases the lock
}

bool ResultsFile::has(const std::string& id) const {
    std::lock_guard<std::mutex> lock(*m_mutex);
    return m_ids.count(id) > 0;
}

std::vector<json> ResultsFile::records() const {
    std::lock_guard<std::mutex> lock(*m_mutex);
    return m_records;
}

Status ResultsFile::append(const json& record) {
    const std::string line = record.dump() + "\n";  // dump() escapes newlines inside strings: one record, one line
    std::lock_guard<std::mutex> lock(*m_mutex);
    const std::string id = record.value("run_id", "");
    if (m_ids.count(id)) return Status::ok();  // already recorded: never duplicate
    // Fault injection for the torn-line tests only (tests/slurm; unset, it changes nothing):
    // ZOO_SWEEP_TEST_KILL_MID_WRITE=N makes the N-th append of this process write the first half of its line and then
    // SIGKILL the process, which is what a kill landing inside a write leaves on disk.
    static const long kill_at = [] {
        const char* v = std::getenv("ZOO_SWEEP_TEST_KILL_MID_WRITE");
        return v ? std::atol(v) : 0L;
    }();
    static long appends = 0;
    const bool kill_after = kill_at > 0 && ++appends == kill_at;
    const size_t limit = kill_after ? line.size() / 2 : line.size();
    size_t done = 0;
    while (done < limit) {
        // Never more than `limit`: a write of the whole rest would complete the line the hook means to tear.
        const ssize_t w = ::write(m_fd, line.data() + done, limit - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return Status::error(m_path + ": cannot append a result: " + std::strerror(errno));
        }
        done += static_cast<size_t>(w);
    }
    if (kill_after) {
        ::fsync(m_fd);
        ::raise(SIGKILL);
    }
    if (::fsync(m_fd) != 0) return Status::error(m_path + ": fsync failed: " + std::strerror(errno));
    m_ids.insert(id);
    m_records.push_back(record);
    return Status::ok();
}

Result<std::vector<json>> read_results(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Status::error(path + ": cannot open the results file");
    std::vector<json> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            out.push_back(json::parse(line));
        } catch (...) {
            // a torn or corrupt line: skipped, as a resumed sweep would
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Shards, provenance, part files, merge

Result<Shard> parse_shard(const std::string& text) {
    const size_t slash = text.find('/');
    auto number = [](const std::string& t, size_t& out) {
        if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos) return false;
        out = std::stoul(t);
        return true;
    };
    Shard s;
    if (slash == std::string::npos || !number(text.substr(0, slash), s.index) || !number(text.substr(slash + 1), s.count) ||
        s.count == 0 || s.index == 0 || s.index > s.count)
        return Status::error("--shard '" + text + "': expected K/N with 1 <= K <= N (e.g. 2/4)");
    return s;
}

std::vector<std::string> shard_ids(const std::vector<std::string>& ids, const Shard& shard) {
    std::vector<std::string> out;
    for (size_t i = shard.index - 1; i < ids.size(); i += shard.count) out.push_back(ids[i]);
    return out;
}

size_t task_count(size_t pending, size_t shards, size_t runs_per_task) {
    if (pending == 0) return 0;
    const size_t n = shards > 0 ? shards : (pending + std::max<size_t>(runs_per_task, 1) - 1) / std::max<size_t>(runs_per_task, 1);
    return std::min(n, pending);
}

const std::string& runner_build_id() {
    static const std::string id = [] {
        std::ifstream exe("/proc/self/exe", std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(exe)), std::istreambuf_iterator<char>());
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(bytes)));
        return std::string(ZOO_BUILD_ID) + " exe:" + (bytes.empty() ? std::string("unreadable") : std::string(hex));
    }();
    return id;
}

json provenance() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    auto env = [](const char* name) -> json {
        const char* v = std::getenv(name);
        return v ? json(v) : json(nullptr);
    };
    return {{"host", host},
            {"slurm_job_id", env("SLURM_JOB_ID")},
            {"slurm_array_job_id", env("SLURM_ARRAY_JOB_ID")},
            {"slurm_array_task_id", env("SLURM_ARRAY_TASK_ID")},
            {"runner_build", runner_build_id()}};
}

std::string part_path(const std::string& results_path, const std::string& tag) { return results_path + ".part." + tag + ".jsonl"; }

std::vector<std::string> part_files(const std::string& results_path, const std::string& tag_prefix) {
    namespace fs = boost::filesystem;
    const fs::path results(results_path);
    const fs::path dir = results.parent_path().empty() ? fs::path(".") : results.parent_path();
    const std::string prefix = results.filename().string() + ".part." + tag_prefix;
    std::vector<std::string> out;
    boost::system::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() > prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 &&
            name.compare(name.size() - 6, 6, ".jsonl") == 0)
            out.push_back((results.parent_path() / name).string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

Result<PartContents> read_part(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::error(path + ": cannot open the part file");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    PartContents c;
    size_t start = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        if (nl == std::string::npos) {
            c.torn_bytes = text.size() - start;  // no newline: the writer died mid-line
            break;
        }
        const std::string line = text.substr(start, nl - start);
        start = nl + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            json j = json::parse(line);
            if (!j.is_object() || !j.contains("run_id") || !j["run_id"].is_string()) throw std::runtime_error("no run_id");
            c.records.push_back(std::move(j));
        } catch (...) {
            ++c.corrupt_lines;
        }
    }
    return c;
}

namespace {

std::string build_of(const json& record) {
    if (record.contains("provenance") && record["provenance"].is_object() && record["provenance"].contains("runner_build") &&
        record["provenance"]["runner_build"].is_string())
        return record["provenance"]["runner_build"].get<std::string>();
    return "(not recorded)";
}

}  // namespace

Result<MergeSummary> merge_parts(ResultsFile& results, bool allow_mixed_builds) {
    MergeSummary m;
    for (const auto& rec : results.records()) ++m.builds[build_of(rec)];
    struct Part {
        std::string path;
        int lock_fd = -1;  // held while merging; -1 when the writer still holds it
        PartContents contents;
    };
    std::vector<Part> parts;
    std::set<std::string> seen;
    std::vector<json> to_add;
    for (const auto& path : part_files(results.path())) {
        Part p;
        p.path = path;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0)
            p.lock_fd = fd;
        else if (fd >= 0)
            ::close(fd);
        auto c = read_part(path);
        if (!c) {
            if (p.lock_fd >= 0) ::close(p.lock_fd);
            for (auto& q : parts)
                if (q.lock_fd >= 0) ::close(q.lock_fd);
            return c.status();
        }
        p.contents = std::move(c).value();
        ++m.parts;
        m.in_use += p.lock_fd < 0;
        // A torn line in a part a live writer holds is a write in progress, not damage.
        if (p.lock_fd >= 0) m.torn_lines += p.contents.torn_bytes > 0;
        m.corrupt_lines += p.contents.corrupt_lines;
        for (const auto& rec : p.contents.records) {
            const std::string id = rec["run_id"].get<std::string>();
            if (results.has(id) || !seen.insert(id).second) {
                ++m.duplicates;
                continue;
            }
            ++m.builds[build_of(rec)];
            to_add.push_back(rec);
        }
        parts.push_back(std::move(p));
    }
    auto release = [&] {
        for (auto& p : parts)
            if (p.lock_fd >= 0) ::close(p.lock_fd);
    };
    if (m.builds.size() > 1 && !allow_mixed_builds) {
        release();
        std::string list;
        for (const auto& [build, n] : m.builds) list += "\n  " + std::to_string(n) + " record(s) from '" + build + "'";
        return Status::error(results.path() + ": refusing to merge records from " + std::to_string(m.builds.size()) +
                             " different runner builds (timings and numerics of different builds are not one experiment; "
                             "a table of them would compare the builds, not the parameters):" + list +
                             "\nrerun the odd ones with one build, or pass --allow-mixed-builds to merge anyway");
    }
    for (const auto& rec : to_add) {
        Status s = results.append(rec);
        if (!s) {
            release();
            return s;
        }
        ++m.added;
    }
    for (auto& p : parts) {
        if (p.lock_fd < 0) continue;  // still being written: merged as far as complete, kept for the next merge
        boost::system::error_code ec;
        boost::filesystem::remove(p.path, ec);
        m.removed += !ec;
        ::close(p.lock_fd);
        p.lock_fd = -1;
    }
    return m;
}

json sweep_record(const std::string& experiment, const SweepRun& run, const Result<RunResult>& result, double elapsed_s,
                  int concurrency) {
    json params = json::array();
    for (const auto& [k, v] : run.params) params.push_back({k, v});
    json j{{"schema", "zoo-runner-sweep-result/1"}, {"experiment", experiment}, {"run_id", run.id}, {"label", run.label},
           {"params", params}, {"elapsed_s", elapsed_s}, {"concurrent_runs", concurrency}};
    j["provenance"] = provenance();
    if (result) {
        j["status"] = "ok";
        j["report"] = report_json(result.value());
        json plugin_builds = json::array();
        for (const auto& pl : j["report"]["provenance"]["plugins"])
            plugin_builds.push_back({{"name", pl.value("name", "")}, {"build_id", pl.value("build_id", "")}});
        j["provenance"]["plugin_builds"] = plugin_builds;
    } else {
        j["status"] = "error";
        j["error"] = result.status().message();
    }
    return j;
}

namespace {

double metric_of(const json& rec, const std::string& metric, bool& present) {
    present = false;
    if (rec.value("status", "") != "ok" || !rec.contains("report")) return 0;
    const json& r = rec["report"];
    if (metric == "pcc") {
        if (r.contains("accuracy") && r["accuracy"]["pcc"].is_number()) {
            present = true;
            return r["accuracy"]["pcc"].get<double>();
        }
        return 0;
    }
    if (metric == "latency") {
        if (r["latency_ms"].value("count", 0) > 0) {
            present = true;
            return r["latency_ms"]["median"].get<double>();
        }
        return 0;
    }
    if (r["latency_ms"].value("count", 0) > 0 || headline_fps(r) > 0) {
        present = true;
        return headline_fps(r);
    }
    return 0;
}

std::string param_of(const json& rec, const std::string& key) {
    for (const auto& kv : rec.value("params", json::array()))
        if (kv.is_array() && kv.size() == 2 && kv[0] == key) return kv[1].get<std::string>();
    return "";
}

}  // namespace

std::string sweep_table(const std::vector<json>& records, const std::string& metric) {
    // Columns: the parameters whose value differs between records (the question the sweep asks), in first-seen order.
    std::vector<std::string> keys;
    for (const auto& rec : records)
        for (const auto& kv : rec.value("params", json::array()))
            if (kv.is_array() && kv.size() == 2 && std::find(keys.begin(), keys.end(), kv[0].get<std::string>()) == keys.end())
                keys.push_back(kv[0].get<std::string>());
    std::vector<std::string> varying;
    for (const auto& k : keys) {
        std::set<std::string> values;
        for (const auto& rec : records) values.insert(param_of(rec, k));
        if (values.size() > 1) varying.push_back(k);
    }
    std::vector<size_t> order(records.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const bool ascending = metric == "latency";
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        bool pa = false, pb = false;
        const double va = metric_of(records[a], metric, pa), vb = metric_of(records[b], metric, pb);
        if (pa != pb) return pa;  // runs without the metric (errors, no reference) last
        if (!pa) return false;
        return ascending ? va < vb : va > vb;
    });
    std::vector<std::string> header{"#", "run id"};
    for (const auto& k : varying) header.push_back(k);
    // Host-measured and device-modelled figures are different quantities: each has its own named column.
    for (const char* h : {"host FPS (measured)", "device FPS (modelled)", "host median ms", "host p99 ms", "CV %", "PCC", "result"})
        header.push_back(h);
    std::vector<bool> right(header.size(), false);
    right[0] = true;
    for (size_t c = header.size() - 7; c < header.size() - 1; ++c) right[c] = true;
    std::vector<std::vector<std::string>> rows;
    size_t rank = 0;
    for (size_t i : order) {
        const json& rec = records[i];
        std::vector<std::string> row{std::to_string(++rank), rec.value("run_id", "").substr(0, 8)};
        for (const auto& k : varying) {
            const std::string v = param_of(rec, k);
            row.push_back(v.empty() ? "-" : v);  // not set: the default
        }
        if (rec.value("status", "") != "ok") {
            for (int c = 0; c < 6; ++c) row.push_back("-");
            std::string err = rec.value("error", "error");
            // The end of a device error names the layer ("... (layer features.4.block.1.0)"): keep both ends.
            if (err.size() > 120) err = err.substr(0, 60) + " ... " + err.substr(err.size() - 55);
            row.push_back("ERROR: " + err);
        } else {
            const json& r = rec["report"];
            const bool timed = r["latency_ms"].value("count", 0) > 0;
            const double host_fps = r.value("throughput_fps", 0.0);
            const double device_fps = modelled_fps(r);
            row.push_back(timed && host_fps > 0 ? fixed(host_fps, 1) : "-");
            row.push_back(device_fps > 0 ? fixed(device_fps, 1) : "-");
            row.push_back(timed ? fixed(r["latency_ms"].value("median", 0.0), 3) : "-");
            row.push_back(timed ? fixed(r["latency_ms"].value("p99", 0.0), 3) : "-");
            row.push_back(timed ? fixed(100 * r["latency_ms"].value("cv", 0.0), 1) : "-");
            row.push_back(r.contains("accuracy") && r["accuracy"]["pcc"].is_number() ? fixed(r["accuracy"]["pcc"].get<double>(), 6) : "-");
            std::string verdict = r.value("result", "?");
            for (const auto& reason : r.value("invalid_reasons", json::array())) verdict += " (" + reason.get<std::string>() + ")";
            row.push_back(verdict);
        }
        rows.push_back(std::move(row));
    }
    return format_table(header, rows, right);
}

}  // namespace zoo::runner
