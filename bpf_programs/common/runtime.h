/* SPDX-License-Identifier: MIT */
/*
 * Shared runtime helpers for the collector BPF tools.
 *
 *   rt_setup_signals()   SIGINT/SIGTERM/SIGHUP set rt_exiting (no SA_RESTART,
 *                        so blocking calls return EINTR); SIGPIPE is ignored
 *                        so a closed stdout shows up as EPIPE on write.
 *   rt_die_with_parent() prctl(PR_SET_PDEATHSIG, SIGTERM) + getppid() check
 *                        for the race where the parent already died.
 *   rt_libbpf_logging()  route libbpf messages through a callback: with
 *                        verbose everything goes to stderr, otherwise nothing
 *                        (the tool prints its own one-line diagnosis).
 *   rt_bump_memlock()    try to raise RLIMIT_MEMLOCK, ignore failure.
 *   rt_ensure_tracefs()  make sure /sys/kernel/tracing is a mounted tracefs
 *                        (mounts it if missing). 0 or -errno.
 *   rt_check_btf()       0 if /sys/kernel/btf/vmlinux is readable, else -errno.
 *   rt_explain()         print ONE sentence on stderr explaining why a
 *                        load/attach step failed and what to do.
 */
#ifndef COLLECTOR_COMMON_RUNTIME_H
#define COLLECTOR_COMMON_RUNTIME_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

extern volatile sig_atomic_t rt_exiting;

int rt_setup_signals(void);
/* Returns 0, or -1 if the parent is already gone (caller should exit). */
int rt_die_with_parent(void);
void rt_libbpf_logging(bool verbose);
void rt_bump_memlock(void);
int rt_ensure_tracefs(void);
int rt_check_btf(void);

enum rt_stage { RT_OPEN, RT_LOAD, RT_ATTACH };
/* tool: tool name for the message prefix; err: negative errno or libbpf error. */
void rt_explain(const char *tool, enum rt_stage stage, int err, const char *what);

/* CLOCK_BOOTTIME in ns (same clock as bpf_ktime_get_boot_ns()). */
uint64_t rt_boot_ns(void);
/* CLOCK_MONOTONIC in ns. */
uint64_t rt_mono_ns(void);

#endif
