/* rusage: run a command, then print its wall time and peak RSS (from wait4) on one line.
 *
 *   rusage [--crash] [--timeout=MS] [--] CMD [ARG...]
 *
 * The command runs with stdin and stdout on /dev/null and stderr inherited, in this
 * program's environment and working directory (the caller sets those).
 *
 * --crash: the command is the traced crasher of tests/fixtures/crasher.c (possibly through
 * env(1), which execs it: one pid). Its stdout is a pipe; its line "crashing NS" gives the
 * CLOCK_MONOTONIC instant just before its fault, and CLOCK_MONOTONIC is read again right
 * after wait4 reaps it, so crash_to_reap_ns is the time the core dump held it, read on
 * one clock with no runtime in between.
 *
 * --timeout=MS: SIGKILL the command (by its pid) if it has not ended after MS ms; the
 * line then says timed_out=1. (A process frozen in its core dump dies of SIGKILL too.)
 *
 * Output (stdout, one line of key=value words):
 *   pid= exit= signal= wall_ns= maxrss_kib= timed_out= [crash_ns= reap_ns= crash_to_reap_ns=]
 * Exit status: 0 when the command ran (whatever its own status), 2 on a usage or system
 * error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child = 0;
static volatile sig_atomic_t timed_out = 0;

static void on_alarm(int sig) {
  (void)sig;
  timed_out = 1;
  if (child > 0) kill(child, SIGKILL);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int crash = 0, i = 1;
  long timeout_ms = 0;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--crash") == 0) crash = 1;
    else if (strncmp(argv[i], "--timeout=", 10) == 0) timeout_ms = strtol(argv[i] + 10, NULL, 10);
    else if (strcmp(argv[i], "--") == 0) { i++; break; }
    else break;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: rusage [--crash] [--timeout=MS] [--] CMD [ARG...]\n");
    return 2;
  }
  int pipefd[2] = {-1, -1};
  if (crash && pipe2(pipefd, O_CLOEXEC) != 0) { perror("rusage: pipe"); return 2; }
  long long start = now_ns();
  pid_t pid = fork();
  if (pid < 0) { perror("rusage: fork"); return 2; }
  if (pid > 0 && timeout_ms > 0) {
    child = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* the loops below retry on EINTR; the kill ends them */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {timeout_ms / 1000, (timeout_ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
  }
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null < 0) _exit(127);
    dup2(null, 0);
    dup2(crash ? pipefd[1] : null, 1);
    execvp(argv[i], argv + i);
    fprintf(stderr, "rusage: cannot run %s: %s\n", argv[i], strerror(errno));
    _exit(127);
  }
  long long crash_ns = -1;
  if (crash) {
    close(pipefd[1]);
    /* Read the one line; the process is frozen in its dump after it, so nothing else
     * comes until it is gone (then EOF). */
    char buf[256];
    size_t len = 0;
    while (len < sizeof buf - 1) {
      ssize_t n = read(pipefd[0], buf + len, sizeof buf - 1 - len);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      len += (size_t)n;
      if (memchr(buf, '\n', len) != NULL) break;
    }
    buf[len] = '\0';
    char *p = strstr(buf, "crashing ");
    if (p != NULL) crash_ns = strtoll(p + 9, NULL, 10);
  }
  int status;
  struct rusage ru;
  pid_t r;
  do r = wait4(pid, &status, 0, &ru); while (r < 0 && errno == EINTR);
  long long reap = now_ns();
  if (r < 0) { perror("rusage: wait4"); return 2; }
  if (crash) close(pipefd[0]);
  printf("pid=%d exit=%d signal=%d wall_ns=%lld maxrss_kib=%ld timed_out=%d", (int)pid,
         WIFEXITED(status) ? WEXITSTATUS(status) : -1,
         WIFSIGNALED(status) ? WTERMSIG(status) : 0, reap - start, ru.ru_maxrss,
         (int)timed_out);
  if (crash) {
    printf(" crash_ns=%lld reap_ns=%lld crash_to_reap_ns=%lld", crash_ns, reap,
           crash_ns < 0 ? -1LL : reap - crash_ns);
  }
  printf("\n");
  return 0;
}
