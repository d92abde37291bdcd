#!/usr/bin/env bash
# What a static glibc's start-up costs a short process on this machine,
# the reason for the fast pin path (src/fastpin/): spawns and reaps, in
# turn, a static program that exits at its first instruction, the same
# after 20 `cpuid` instructions (glibc's CPU feature probe runs dozens; on
# a VM each traps to the hypervisor), and empty `main`s linked against
# static glibc (static and static-pie, as pinns is). Prints the mean per
# spawn of each, side by side.
#
#   bench/startup.sh [ROUNDS]     (default 2000)
set -euo pipefail
rounds=${1:-2000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat >exit.c <<'C'
void _start(void) { __asm__ volatile("mov $231, %eax; xor %edi, %edi; syscall"); }
C
cat >cpuid.c <<'C'
void _start(void)
{
	for (int i = 0; i < 20; i++) {
		unsigned a = 0, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	__asm__ volatile("mov $231, %eax; xor %edi, %edi; syscall");
}
C
echo 'int main(void) { return 0; }' >empty.c
cat >spawn.c <<'C'
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
extern char **environ;
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
int main(int argc, char **argv)
{
	int rounds = atoi(argv[1]), n = argc - 2;
	double total[8] = {0};
	for (int i = 0; i < rounds; i++)
		for (int b = 0; b < n; b++) {
			char *av[] = {argv[2 + b], NULL};
			pid_t pid;
			int status;
			double t0 = now();
			if (posix_spawn(&pid, argv[2 + b], NULL, NULL, av, environ) != 0)
				return 1;
			waitpid(pid, &status, 0);
			total[b] += now() - t0;
		}
	for (int b = 0; b < n; b++)
		printf("%-34s %7.1f us per spawn and reap\n", argv[2 + b], total[b] / rounds);
	return 0;
}
C
gcc -O2 -static -nostdlib -o exit-at-once exit.c
gcc -O2 -static -nostdlib -o cpuid-20-then-exit cpuid.c
gcc -O2 -static -o empty-main-static-glibc empty.c
gcc -O2 -static-pie -o empty-main-static-pie-glibc empty.c
gcc -O2 -o spawn spawn.c
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds, interleaved"
./spawn "$rounds" ./exit-at-once ./cpuid-20-then-exit ./empty-main-static-glibc ./empty-main-static-pie-glibc
