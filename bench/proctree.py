"""Runs a command and measures it: wall seconds and the peak memory of its
whole process tree (the command and every process under it), sampled from
/proc while it runs. Shared by bench/plot and bench/python.

The sampler must cost the measured job next to nothing: on 2 cores a
sampler that lists all of /proc and reads every process's `status` every
10 ms took about 4 ms a sample, and stretched runner's 0.7 s job to 0.9-1.1
s. So the tree is walked through the `children` files of its own tasks
(about 0.1 ms), and the resident memory read from `statm` (0.05 ms a
process). PSS (`smaps_rollup`, which counts pages shared between processes
once) walks a process's page tables under its memory lock: 8 ms for a 200
MB process, so it is only read when asked, in a run whose time is not used.
"""
import os
import subprocess
import threading
import time

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def descendants(root):
    """`root` and every process under it (children of any of its threads)."""
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    stack.extend(int(child) for child in f.read().split())
            except OSError:
                continue
    return out


def rss_kb(pid):
    """The resident memory of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def pss_kb(pid):
    """The proportional set size of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


def measure(argv, cwd=None, env=None, every=0.01, pss=False):
    """Runs argv to its end. Returns (wall seconds, peak summed RSS in MB,
    peak summed PSS in MB or None, stderr text, exit code)."""
    peak = {"rss": 0, "pss": 0}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = descendants(proc.pid)
            peak["rss"] = max(peak["rss"], sum(rss_kb(pid) for pid in pids))
            if pss:
                peak["pss"] = max(peak["pss"], sum(pss_kb(pid) for pid in pids))
            done.wait(every)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return (seconds, peak["rss"] / 1024, peak["pss"] / 1024 if pss else None,
            err.decode(errors="replace"), proc.returncode)
