/*
 * Runs a command and prints its peak resident memory (KiB) on stderr, for
 * bench/density.py. A child's ru_maxrss starts from the high-water mark of
 * the process it was forked from, so the measuring parent must itself be
 * smaller than what it measures: a static C program touching a few pages,
 * unlike Python (13 MiB). Built by the benchmark with gcc -static -O2.
 *
 *   peak-rss COMMAND [ARG]...
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: peak-rss COMMAND [ARG]...\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return 126;
	fprintf(stderr, "%ld\n", ru.ru_maxrss);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
