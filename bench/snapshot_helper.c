/* A core_pattern helper that takes an LTTng snapshot itself, through liblttng-ctl's
 * lttng_snapshot_record(), with no runtime and no lttng process: the benchmark's floor
 * for "snapshot at the core dump".
 *
 *   core_pattern: |/path/snapshot_helper SESSION LOG %p %e
 *
 * The snapshot goes to the session's snapshot output, named core-<exec>-<pid> (as
 * lttng-trig names it). The dump is held while the snapshot is taken since the helper
 * does not read the core: the kernel blocks once the pipe is full, and the crashed
 * process is released when the helper exits. One line per run is appended to LOG:
 *   pid=PID ret=RET snapshot_ns=NS start_ns=T0
 * where RET is lttng_snapshot_record()'s return (0, or a negative LTTng error code) and
 * T0 the CLOCK_MONOTONIC time the snapshot began.
 *
 * Build: gcc -O2 -o snapshot_helper snapshot_helper.c -llttng-ctl */
#include <fcntl.h>
#include <lttng/lttng.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  const char *session = argv[1], *log = argv[2], *pid = argv[3], *exec = argv[4];
  /* The exec name is untrusted: keep [A-Za-z0-9._+-], as lttng-trig does. */
  char name[256];
  snprintf(name, sizeof name, "core-%s-%s", exec, pid);
  for (char *c = name; *c != '\0'; c++) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          strchr("._+-", *c) != NULL)) {
      *c = '_';
    }
  }
  long long t0 = now_ns();
  int ret = -1;
  struct lttng_snapshot_output *out = lttng_snapshot_output_create();
  if (out != NULL && lttng_snapshot_output_set_name(name, out) == 0) {
    ret = lttng_snapshot_record(session, out, 1);
  }
  lttng_snapshot_output_destroy(out);
  long long t1 = now_ns();
  int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    char line[160];
    int n = snprintf(line, sizeof line, "pid=%s ret=%d snapshot_ns=%lld start_ns=%lld\n", pid, ret,
                     t1 - t0, t0);
    if (write(fd, line, (size_t)n) != n) ret = -1;
    close(fd);
  }
  return ret < 0 ? 1 : 0;
}
