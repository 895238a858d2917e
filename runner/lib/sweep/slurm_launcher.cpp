#include "sweep/slurm_launcher.hpp"

#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <boost/filesystem.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace zoo::runner {

std::string shell_quote(const std::string& word) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

Result<std::string> run_capture(const std::vector<std::string>& argv) {
    std::string cmd;
    for (const auto& w : argv) cmd += (cmd.empty() ? "" : " ") + shell_quote(w);
    const std::string shown = cmd;
    cmd += " 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (!pipe) return Status::error("cannot run " + shown);
    std::string out;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    const int status = ::pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            return Status::error(argv.front() + ": command not found (is Slurm installed? tools/slurm_cluster.sh start brings up a one-node cluster)");
        return Status::error(shown + " failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                             "): " + out);
    }
    return out;
}

Result<size_t> slurm_max_array_size() {
    auto out = run_capture({"scontrol", "show", "config"});
    if (!out) return out.status();
    std::istringstream in(*out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("MaxArraySize", 0) != 0) continue;
        const size_t eq = line.find('=');
        if (eq != std::string::npos) return static_cast<size_t>(std::stoul(line.substr(eq + 1)));
    }
    return Status::error("scontrol show config printed no MaxArraySize");
}

std::string slurm_job_script(const SlurmArraySpec& s) {
    std::ostringstream o;
    o << "#!/bin/sh\n"
      << "# Written by `runner sweep --launcher slurm`: array task K runs shard K/" << s.tasks << " of the run ids in\n"
      << "# " << s.run_ids_file << " and appends to its own part file beside " << s.results << ".\n"
      << "#SBATCH --job-name=" << s.job_name << "\n"
      << "#SBATCH --array=1-" << s.tasks << "\n"
      << "#SBATCH --output=" << s.log_dir << "/%A_%a.out\n"
      << "#SBATCH --cpus-per-task=" << s.cpus_per_task << "\n";
    if (!s.partition.empty()) o << "#SBATCH --partition=" << s.partition << "\n";
    if (!s.time_limit.empty()) o << "#SBATCH --time=" << s.time_limit << "\n";
    o << "exec " << shell_quote(s.runner);
    for (const auto& d : s.plugin_dirs) o << " --plugin-dir " << shell_quote(d);
    o << " sweep " << shell_quote(s.experiment) << " --results " << shell_quote(s.results) << " --shard \"$SLURM_ARRAY_TASK_ID/"
      << s.tasks << "\" --run-ids " << shell_quote(s.run_ids_file) << " --no-progress-bar";
    if (s.jobs > 0) o << " --jobs " << s.jobs;
    o << "\n";
    return o.str();
}

Result<std::string> slurm_submit(const SlurmArraySpec& s) {
    boost::system::error_code ec;
    boost::filesystem::create_directories(s.log_dir, ec);
    {
        std::ofstream f(s.script_path);
        if (!(f << slurm_job_script(s))) return Status::error(s.script_path + ": cannot write the job script");
    }
    ::chmod(s.script_path.c_str(), 0755);
    std::vector<std::string> argv{"sbatch", "--parsable"};
    argv.insert(argv.end(), s.extra_sbatch_args.begin(), s.extra_sbatch_args.end());
    argv.push_back(s.script_path);
    auto out = run_capture(argv);
    if (!out) return out.status();
    // --parsable prints "jobid" or "jobid;cluster" (possibly after warnings on earlier lines).
    std::string last;
    std::istringstream in(*out);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) last = line;
    const std::string id = last.substr(0, last.find(';'));
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
        return Status::error("sbatch printed no job id: " + *out);
    return id;
}

size_t slurm_active_tasks(const std::string& job_id) {
    // -r: one line per array task (pending tasks otherwise collapse into one line "123_[2-4]").
    auto out = run_capture({"squeue", "-h", "-r", "-j", job_id, "-o", "%i %T"});
    if (!out) return 0;  // squeue refuses a job id the controller has forgotten: nothing is active
    size_t n = 0;
    std::istringstream in(*out);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line.find("COMPLET") == std::string::npos) ++n;  // COMPLETING still counts as gone
    return n;
}

std::map<std::string, size_t> slurm_task_states(const std::string& job_id) {
    std::map<std::string, size_t> states;
    auto out = run_capture({"scontrol", "-o", "show", "job", job_id});
    if (!out) return states;
    std::istringstream in(*out);
    for (std::string line; std::getline(in, line);) {
        const size_t p = line.find("JobState=");
        if (p == std::string::npos) continue;
        const size_t e = line.find(' ', p);
        ++states[line.substr(p + 9, e == std::string::npos ? std::string::npos : e - p - 9)];
    }
    return states;
}

}  // namespace zoo::runner
