/* A pod process that only its threads make alive, for the liveness and
 * placement tests (tests/it/common/threads.rs compiles it with gcc).
 *
 *   threads exit-leader CPU          the main thread calls pthread_exit; a
 *                                    worker runs on as SCHED_FIFO 10 on CPU
 *   threads setns-thread CPU NSPATH  a worker setns(2)s into the network
 *                                    namespace at NSPATH (SCHED_FIFO 10 on
 *                                    CPU); the main thread stays outside
 *
 * The worker prints "ready TID" once placed, then waits for stdin to close
 * and ends the whole process. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ns_path;
static int cpu;

static void die(const char *what, int code) {
  perror(what);
  exit(code);
}

static void *worker(void *arg) {
  (void)arg;
  if (ns_path) {
    int fd = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open namespace", 2);
    if (setns(fd, CLONE_NEWNET)) die("setns", 2);
    close(fd);
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set)) die("sched_setaffinity", 3);
  struct sched_param sp = {.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO, &sp)) die("sched_setscheduler SCHED_FIFO", 4);
  printf("ready %ld\n", (long)syscall(SYS_gettid));
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  exit(0);
}

int main(int argc, char **argv) {
  if (argc < 3 || (!strcmp(argv[1], "setns-thread") && argc < 4)) {
    fprintf(stderr, "usage: threads exit-leader CPU | setns-thread CPU NSPATH\n");
    return 1;
  }
  cpu = atoi(argv[2]);
  if (!strcmp(argv[1], "setns-thread")) ns_path = argv[3];
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL)) return 5;
  if (!strcmp(argv[1], "exit-leader")) pthread_exit(NULL);
  pthread_join(t, NULL);
  return 0;
}
