/* The floor for "one process per file" on this machine: JOBS threads, each
 * posix_spawnp + waitpid of the per-file command, nothing else (no logs, no
 * state, no temporary files). A reference row of the benchmark, not a
 * competitor: the closer a tool gets to it, the less it adds per task.
 *
 * Usage: spawn_floor JOBS wc|true FILE...   (run in the work dir)
 *   wc:   `wc -l FILE` with stdout into out/wc/BASENAME
 *   true: `true`
 */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static int n_files, jobs, wc;
static char **files;

static void *worker(void *arg)
{
    long t = (long)arg;
    char out[4096];
    for (int i = t; i < n_files; i += jobs) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        char *argv_wc[] = {"wc", "-l", files[i], NULL};
        char *argv_true[] = {"true", NULL};
        if (wc) {
            const char *base = strrchr(files[i], '/');
            snprintf(out, sizeof out, "out/wc/%s", base ? base + 1 : files[i]);
            posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        }
        char **argv = wc ? argv_wc : argv_true;
        pid_t pid;
        int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        if (err) {
            fprintf(stderr, "spawn_floor: %s: %s\n", argv[0], strerror(err));
            exit(1);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_floor: %s failed\n", argv[0]);
            exit(1);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spawn_floor JOBS wc|true FILE...\n");
        return 2;
    }
    jobs = atoi(argv[1]);
    if (jobs < 1 || jobs > 256) {
        fprintf(stderr, "spawn_floor: JOBS must be 1..256\n");
        return 2;
    }
    wc = strcmp(argv[2], "wc") == 0;
    n_files = argc - 3;
    files = argv + 3;
    pthread_t threads[256];
    for (long t = 0; t < jobs; t++)
        pthread_create(&threads[t], NULL, worker, (void *)t);
    for (int t = 0; t < jobs; t++)
        pthread_join(threads[t], NULL);
    return 0;
}
