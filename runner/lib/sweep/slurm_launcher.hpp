// The Slurm side of `runner sweep --launcher slurm`: one job script, one job array submitted with sbatch, followed with
// squeue and scontrol. Slurm's own commands are the interface (they are what every site has); nothing here talks to
// slurmctld directly. Each array task runs `runner sweep EXP --shard K/N --run-ids FILE` and writes its own part file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "zoo/status.hpp"

namespace zoo::runner {

struct SlurmArraySpec {
    std::string job_name;
    std::string runner;                    // absolute path of the runner executable the tasks run
    std::vector<std::string> plugin_dirs;  // absolute
    std::string experiment, results;       // absolute
    std::string run_ids_file;              // the pending run ids, one a line, split by shard
    std::string script_path, log_dir;
    size_t tasks = 1;
    int cpus_per_task = 1, jobs = 0;
    std::string partition, time_limit;
    std::vector<std::string> extra_sbatch_args;  // passed to sbatch as given
};

std::string shell_quote(const std::string& word);

// Runs argv (no shell interpretation: every word is quoted), returns stdout; a non-zero exit is an error that quotes
// the command and what it printed.
Result<std::string> run_capture(const std::vector<std::string>& argv);

// MaxArraySize of the cluster (`scontrol show config`); array indexes go up to MaxArraySize - 1.
Result<size_t> slurm_max_array_size();

std::string slurm_job_script(const SlurmArraySpec& spec);

// Writes the script and submits it with `sbatch --parsable`; returns the array's job id.
Result<std::string> slurm_submit(const SlurmArraySpec& spec);

// Array tasks of the job still pending or running (0 once the job has left the queue).
size_t slurm_active_tasks(const std::string& job_id);

// Final states of the array's tasks from `scontrol show job` (e.g. {COMPLETED: 3, CANCELLED: 1}); empty when the
// controller has already forgotten the job.
std::map<std::string, size_t> slurm_task_states(const std::string& job_id);

}  // namespace zoo::runner
