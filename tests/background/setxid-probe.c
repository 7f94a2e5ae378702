/* SPDX-License-Identifier: MIT */
/*
 * setxid-probe: run as root under LD_PRELOAD=libspanalloc-malloc.so. Drops
 * privileges the way setpriv(1) does: PR_SET_KEEPCAPS, setresuid() (the
 * kernel clears every thread's effective capabilities), capset() to raise
 * this thread's effective set again, setgroups(), setresgid(). glibc makes
 * each thread repeat a setxid call and aborts when their results differ: the
 * background thread, without CAP_SETGID, would fail setresgid(). First a
 * vfork child drops privileges and execs (it shares our memory: it must not
 * stop or start our thread). Exit 0 when
 * every call worked and the spanalloc-bg thread is back with the new
 * credentials, 1 on failure, 77 (skip) when not run as root.
 */
#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int capget(cap_user_header_t header, cap_user_data_t data);
int capset(cap_user_header_t header, const cap_user_data_t data);

/* Threads named spanalloc-bg whose real, effective, saved and filesystem
 * uid and gid are all 65534; *bg counts every spanalloc-bg thread. */
static int count_bg(int *bg)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int dropped = 0;
	*bg = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], line[256];
		int is_bg = 0, ids = 0;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (strcmp(line, "Name:\tspanalloc-bg\n") == 0)
				is_bg = 1;
			if (strcmp(line, "Uid:\t65534\t65534\t65534\t65534\n") == 0 ||
			    strcmp(line, "Gid:\t65534\t65534\t65534\t65534\n") == 0)
				ids++;
		}
		fclose(f);
		*bg += is_bg;
		dropped += is_bg && ids == 2;
	}
	closedir(d);
	return dropped;
}

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(void)
{
	if (geteuid() != 0) {
		fputs("not root: skipped\n", stderr);
		return 77;
	}
	for (int i = 0; i < 1000; i++)
		free(malloc(100));
	int bg;
	count_bg(&bg);
	if (bg != 1) {
		fprintf(stderr, "before: %d spanalloc-bg threads (want 1)\n", bg);
		return 1;
	}
	/* a vfork child that drops privileges before exec shares our memory:
	 * it must leave our thread alone */
	pid_t child = vfork();
	if (child == 0) {
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		execl("/bin/true", "true", (char *)NULL);
		_exit(4);
	}
	int status;
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "vfork child dropping privileges failed\n");
		return 1;
	}
	count_bg(&bg);
	if (bg != 1) {
		fprintf(stderr, "after the vfork child: %d spanalloc-bg threads (want 1)\n", bg);
		return 1;
	}
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return fail("PR_SET_KEEPCAPS");
	if (capget(&header, caps) != 0)
		return fail("capget");
	if (setresuid(65534, 65534, 65534) != 0)
		return fail("setresuid");
	/* keepcaps kept the permitted set; raise the effective one again */
	caps[0].effective = caps[0].permitted;
	caps[1].effective = caps[1].permitted;
	if (capset(&header, caps) != 0)
		return fail("capset");
	if (setgroups(0, NULL) != 0)
		return fail("setgroups");
	if (setresgid(65534, 65534, 65534) != 0)
		return fail("setresgid");
	for (int i = 0; i < 1000; i++)
		free(malloc(1000));
	int dropped = count_bg(&bg);
	if (bg != 1 || dropped != 1) {
		fprintf(stderr, "after: %d spanalloc-bg threads, %d with uid and gid 65534 (want 1, 1)\n",
			bg, dropped);
		return 1;
	}
	puts("ok");
	return 0;
}
