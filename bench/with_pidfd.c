/*
 * Run argv[1] with argv[1..] as a core_pattern helper with %F is run: fd 3 a pidfd (not
 * close-on-exec), here of itself, since exec keeps the pid; each argument that is exactly
 * "%p" becomes that pid. For measurement 2: the notifier's cost with %F.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PIDFD_OPEN 434 /* __NR_pidfd_open, x86-64 and arm64 alike */

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: with_pidfd PROGRAM [ARG|%%p]...\n");
    return 64;
  }
  int fd = (int)syscall(PIDFD_OPEN, getpid(), 0);
  if (fd < 0) {
    perror("pidfd_open");
    return 70;
  }
  if (fd != 3) {
    if (dup2(fd, 3) < 0) {
      perror("dup2");
      return 70;
    }
    close(fd);
  } else if (fcntl(3, F_SETFD, 0) < 0) {
    perror("fcntl");
    return 70;
  }
  char pid[24];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "%p") == 0) argv[i] = pid;
  }
  execv(argv[1], argv + 1);
  perror("execv");
  return 70;
}
