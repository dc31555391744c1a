/* bench/timer: runs a command and writes "<wall seconds> <peak RSS KB>" to a file.
 *
 * Usage: timer OUTFILE COMMAND [ARGS...]
 *
 * The clock starts right before fork and stops when wait4 returns, so the time
 * is the command's own start, run and exit, without the runner's (Python's)
 * process start-up around it. The peak RSS is wait4's ru_maxrss: the command's,
 * measured from this small process (a child keeps its parent's high-water mark
 * across exec, so a big parent would inflate it). The exit status is the
 * command's (128 + signal number if a signal ended it).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: timer OUTFILE COMMAND [ARGS...]\n");
    return 125;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("timer: fork");
    return 125;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror("timer: exec");
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("timer: wait4");
    return 125;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  FILE *f = fopen(argv[1], "w");
  if (f == NULL) {
    perror("timer: output file");
    return 125;
  }
  fprintf(f, "%.9f %ld\n", secs, ru.ru_maxrss);
  fclose(f);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
