// SPDX-License-Identifier: MIT
#include "runtime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef DEBUGFS_MAGIC
#define DEBUGFS_MAGIC 0x64626720
#endif

volatile sig_atomic_t rt_exiting;

static void on_signal(int sig)
{
	(void)sig;
	rt_exiting = 1;
}

int rt_setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: let poll()/read() return EINTR */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int rt_die_with_parent(void)
{
	pid_t parent = getppid();

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		return 0; /* not fatal */
	/* The parent may have died before prctl(): we were reparented. */
	if (getppid() != parent || parent == 1) {
		if (parent == 1)
			return 0; /* started directly by init/pid 1: nothing to follow */
		return -1;
	}
	return 0;
}

static bool rt_verbose;

static int libbpf_cb(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!rt_verbose)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, args);
}

void rt_libbpf_logging(bool verbose)
{
	rt_verbose = verbose;
	libbpf_set_print(libbpf_cb);
}

void rt_bump_memlock(void)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

	if (setrlimit(RLIMIT_MEMLOCK, &r) == 0)
		return;
	/* Cannot raise it: fine on kernels >= 5.11 (memcg accounting). Try
	 * at least to raise the soft limit to the hard limit. */
	if (getrlimit(RLIMIT_MEMLOCK, &r) == 0) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &r);
	}
}

static bool is_tracefs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st) != 0)
		return false;
	return st.f_type == TRACEFS_MAGIC;
}

int rt_ensure_tracefs(void)
{
	const char *p = "/sys/kernel/tracing";

	if (is_tracefs(p))
		return 0;
	/* libbpf also looks at /sys/kernel/debug/tracing */
	if (is_tracefs("/sys/kernel/debug/tracing"))
		return 0;
	if (access(p, F_OK) != 0)
		mkdir(p, 0700); /* usually fails on sysfs; mount will tell */
	if (mount("nodev", p, "tracefs", 0, NULL) != 0) {
		int e = errno;
		if (e == EBUSY && is_tracefs(p))
			return 0;
		return -e;
	}
	return is_tracefs(p) ? 0 : -ENODEV;
}

int rt_check_btf(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return -errno;
	return 0;
}

void rt_explain(const char *tool, enum rt_stage stage, int err, const char *what)
{
	const char *st = stage == RT_OPEN ? "opening" : stage == RT_LOAD ? "loading" : "attaching";
	int e = err < 0 ? -err : err;

	if (!what)
		what = "BPF programs";
	switch (e) {
	case EPERM:
	case EACCES:
		if (geteuid() != 0)
			fprintf(stderr, "%s: permission denied %s %s: run as root or grant CAP_BPF and CAP_PERFMON (and CAP_SYS_ADMIN for tracefs).\n",
				tool, st, what);
		else
			fprintf(stderr, "%s: permission denied %s %s even as root: the kernel (lockdown, seccomp or container policy) forbids this BPF program type; rerun with --verbose for the verifier/libbpf log.\n",
				tool, st, what);
		break;
	case ENOENT:
		if (stage == RT_ATTACH)
			fprintf(stderr, "%s: tracepoint or function for %s not found: this kernel lacks it, or tracefs is not mounted at /sys/kernel/tracing (mount -t tracefs nodev /sys/kernel/tracing).\n",
				tool, what);
		else
			fprintf(stderr, "%s: kernel BTF or a required kernel type is missing %s %s: this tool needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (/sys/kernel/btf/vmlinux).\n",
				tool, st, what);
		break;
	case EINVAL:
		fprintf(stderr, "%s: the kernel rejected %s (%s): it is probably too old or misses a feature (ring buffer needs >= 5.8); rerun with --verbose for details.\n",
			tool, what, st);
		break;
	case E2BIG:
		fprintf(stderr, "%s: the kernel verifier rejected %s as too large or too complex; rerun with --verbose for the verifier log.\n",
			tool, what);
		break;
	case ENOMEM:
		fprintf(stderr, "%s: out of memory %s %s: lower --ringbuf-size or free memory (memory cgroup limit?).\n",
			tool, st, what);
		break;
	case ENOSYS:
		fprintf(stderr, "%s: the bpf() system call is not available: the kernel lacks CONFIG_BPF_SYSCALL or it is blocked by seccomp.\n",
			tool);
		break;
	default:
		fprintf(stderr, "%s: failed %s %s: %s; rerun with --verbose for details.\n",
			tool, st, what, strerror(e));
		break;
	}
}

uint64_t rt_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t rt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
