/*
 * The syscall floor of one pod's pin, for bench/density.sh: only what any
 * pinning helper has to ask of the kernel. unshare(2) of the net, IPC and UTS
 * namespaces, one open + write + close per sysctl under /proc/sys, and per
 * namespace one new empty file bind-mounted from /proc/self/ns. No checks,
 * no lock, no undo: a reference line, not a tool.
 *
 *   floor DIR NAME COUNT [key=value]...
 *
 * COUNT 1 pins DIR/<type>ns/NAME; a larger COUNT pins NAME-0 .. NAME-(COUNT-1)
 * from one process (each round unshares anew), which is how the benchmark
 * fills a node with live pods without paying one exec per pod.
 * Built by the benchmark with gcc -static -O2, as CRI-O builds its helper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const kinds[] = {"net", "ipc", "uts"};

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "floor: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

static void write_sysctl(const char *setting)
{
	char path[512] = "/proc/sys/";
	const char *eq = strchr(setting, '=');
	size_t n = eq ? (size_t)(eq - setting) : 0;
	if (!eq || n + 11 > sizeof(path)) {
		errno = EINVAL;
		die("sysctl", setting);
	}
	for (size_t i = 0; i < n; i++)
		path[10 + i] = setting[i] == '.' ? '/' : setting[i];
	path[10 + n] = '\0';
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0)
		die("write", path);
	close(fd);
}

static void pin(const char *dir, const char *name, char **sysctls, int nsysctls)
{
	char path[4096], source[64];
	if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
		die("unshare", name);
	for (int i = 0; i < nsysctls; i++)
		write_sysctl(sysctls[i]);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%sns/%s", dir, kinds[i], name);
		int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
		if (fd < 0)
			die("create", path);
		close(fd);
		snprintf(source, sizeof(source), "/proc/self/ns/%s", kinds[i]);
		if (mount(source, path, NULL, MS_BIND, NULL) != 0)
			die("mount", path);
	}
}

int main(int argc, char **argv)
{
	char path[4096], name[256];
	if (argc < 4) {
		fprintf(stderr, "usage: floor DIR NAME COUNT [key=value]...\n");
		return 2;
	}
	long count = strtol(argv[3], NULL, 10);
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
		die("mkdir", argv[1]);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%sns", argv[1], kinds[i]);
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			die("mkdir", path);
	}
	if (count == 1) {
		pin(argv[1], argv[2], argv + 4, argc - 4);
		return 0;
	}
	for (long n = 0; n < count; n++) {
		snprintf(name, sizeof(name), "%s-%ld", argv[2], n);
		pin(argv[1], name, argv + 4, argc - 4);
	}
	return 0;
}
