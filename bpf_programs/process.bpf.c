// SPDX-License-Identifier: GPL-2.0
/* process: exec / exit / fork / file-open tracer (tracepoints only). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "process.h"

#define SIGNAL_GROUP_EXIT 0x00000004

char LICENSE[] SEC("license") = "GPL";

/* configuration, set by the loader before load */
const volatile __u32 self_tgid = 0;
const volatile bool filtered = false;     /* --mode filtered */
const volatile bool filter_pid = false;   /* use traced_tgids */
const volatile bool filter_uid = false;
const volatile __u32 target_uid = 0;
const volatile __u32 n_comms = 0;
const volatile char comms[PROC_MAX_COMMS][PROC_COMM_LEN] = {};
const volatile __u64 dedup_window_ns = 1000000000ull; /* 0: no dedup */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} proc_events SEC(".maps");

/* per-CPU ring-buffer reserve/output failures */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} proc_lost SEC(".maps");

/* tgids followed with --pid (seeded from /proc, grown on fork) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} proc_traced SEC(".maps");

struct open_args {
	__u64 fname;
	__u64 flags;
	__s32 dirfd;
	__u32 _pad;
};

/* sys_enter_open* -> sys_exit_open*, keyed by pid_tgid */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct open_args);
} proc_open_args SEC(".maps");

/* file-open dedup counters */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct proc_dedup_key);
	__type(value, struct proc_dedup_val);
} proc_dedup SEC(".maps");

/* scratch for large events */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_exec_ev);
} proc_exec_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_open_ev);
} proc_open_buf SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&proc_lost, &zero);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

/*
 * Waking the reader costs an irq_work (a self-IPI, expensive in VMs) per
 * event when the reader keeps up, and a context switch of the reader and of
 * the consumer behind it. Only wake the reader once a batch has accumulated;
 * it also reads what is pending every 50 ms.
 */
#define OPEN_WAKEUP_BYTES (64 * 1024)
static __always_inline __u64 wakeup_flags(void)
{
	return bpf_ringbuf_query(&proc_events, BPF_RB_AVAIL_DATA) >= OPEN_WAKEUP_BYTES ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline bool comm_match(const char *comm)
{
	const __u64 *c = (const __u64 *)comm;
	__u64 c0 = c[0], c1 = c[1];

#pragma unroll
	for (int i = 0; i < PROC_MAX_COMMS; i++) {
		if (i >= n_comms)
			break;
		const volatile __u64 *f = (const volatile __u64 *)comms[i];
		if (f[0] == c0 && f[1] == c1)
			return true;
	}
	return false;
}

/* Does the current task pass the filters? comm must be filled in. */
static __always_inline bool pass(__u32 tgid, __u32 uid, const char *comm)
{
	if (tgid == self_tgid)
		return false;
	if (!filtered)
		return true;
	if (filter_pid && !bpf_map_lookup_elem(&proc_traced, &tgid))
		return false;
	if (filter_uid && uid != target_uid)
		return false;
	if (n_comms && !comm_match(comm))
		return false;
	return true;
}

/* Cheap pre-check before reading comm (for the hot open path). */
static __always_inline bool pass_current(__u32 tgid)
{
	char comm[PROC_COMM_LEN] = {};

	if (tgid == self_tgid)
		return false;
	if (!filtered)
		return true;
	if (filter_pid && !bpf_map_lookup_elem(&proc_traced, &tgid))
		return false;
	if (filter_uid && (__u32)bpf_get_current_uid_gid() != target_uid)
		return false;
	if (n_comms) {
		bpf_get_current_comm(comm, sizeof(comm));
		if (!comm_match(comm))
			return false;
	}
	return true;
}

static __always_inline void fill_hdr(struct proc_hdr *h, __u32 type, struct task_struct *task)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->_pad = 0;
	h->ts_ns = bpf_ktime_get_boot_ns();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 zero = 0, fnlen, off;
	__u64 astart, aend, alen, size;
	struct proc_exec_ev *e;
	long n;

	e = bpf_map_lookup_elem(&proc_exec_buf, &zero);
	if (!e)
		return 0;
	fill_hdr(&e->h, PROC_EV_EXEC, task);
	if (!pass(e->h.pid, e->h.uid, e->h.comm))
		return 0;

	n = bpf_probe_read_kernel_str(e->data, PROC_PATH_MAX, BPF_CORE_READ(bprm, filename));
	fnlen = n > 0 ? (__u32)n : 0;
	if (fnlen > PROC_PATH_MAX)
		fnlen = PROC_PATH_MAX;
	e->filename_len = fnlen;

	astart = BPF_CORE_READ(task, mm, arg_start);
	aend = BPF_CORE_READ(task, mm, arg_end);
	alen = aend > astart ? aend - astart : 0;
	e->args_truncated = 0;
	if (alen > PROC_ARGS_MAX) {
		alen = PROC_ARGS_MAX;
		e->args_truncated = 1;
	}
	off = fnlen;
	asm volatile("" : "+r"(off));
	if (off > PROC_PATH_MAX)
		off = PROC_PATH_MAX;
	asm volatile("" : "+r"(alen));
	if (alen > PROC_ARGS_MAX)
		alen = PROC_ARGS_MAX;
	if (alen && bpf_probe_read_user(e->data + off, alen, (void *)astart) != 0)
		alen = 0;
	e->args_len = (__u32)alen;

	size = offsetof(struct proc_exec_ev, data) + (__u64)off + alen;
	asm volatile("" : "+r"(size));
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&proc_events, e, size, wakeup_flags()))
		count_lost();
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p, bool group_dead)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *leader;
	struct proc_exit_ev *e;
	__u32 tgid, code, sflags;
	bool ok;

	if (!group_dead)
		return 0; /* a thread exited, the process lives on */
	tgid = bpf_get_current_pid_tgid() >> 32;
	ok = pass_current(tgid);
	if (filter_pid)
		bpf_map_delete_elem(&proc_traced, &tgid); /* stop following it */
	if (!ok)
		return 0;
	e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	fill_hdr(&e->h, PROC_EV_EXIT, task);
	leader = BPF_CORE_READ(task, group_leader);
	sflags = BPF_CORE_READ(task, signal, flags);
	if (sflags & SIGNAL_GROUP_EXIT)
		code = BPF_CORE_READ(task, signal, group_exit_code);
	else
		code = BPF_CORE_READ(leader, exit_code);
	e->exit_code_raw = code;
	e->_pad = 0;
	e->start_ns = BPF_CORE_READ(leader, start_boottime);
	e->duration_ns = e->h.ts_ns > e->start_ns ? e->h.ts_ns - e->start_ns : 0;
	bpf_ringbuf_submit(e, wakeup_flags());
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 cpid = BPF_CORE_READ(child, pid);
	__u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	struct proc_fork_ev *e;

	if (ctgid != cpid || ctgid == ptgid)
		return 0; /* new thread, not a new process */
	if (filter_pid && bpf_map_lookup_elem(&proc_traced, &ptgid)) {
		__u8 one = 1;
		if (bpf_map_update_elem(&proc_traced, &ctgid, &one, BPF_ANY))
			count_lost(); /* table full: this child will not be followed */
	}
	if (!pass_current(ptgid))
		return 0;
	e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	fill_hdr(&e->h, PROC_EV_FORK, task);
	e->child_pid = ctgid;
	e->child_tid = cpid;
	e->child_start_ns = BPF_CORE_READ(child, start_boottime);
	bpf_ringbuf_submit(e, wakeup_flags());
	return 0;
}

/* ---- file opens ---- */

static __always_inline int enter_open(__s32 dirfd, __u64 fname, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct open_args a = {};

	if (!pass_current(id >> 32))
		return 0;
	a.fname = fname;
	a.flags = flags;
	a.dirfd = dirfd;
	if (bpf_map_update_elem(&proc_open_args, &id, &a, BPF_ANY))
		count_lost(); /* cannot follow this open: never silently */
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int proc_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enter_open((__s32)ctx->args[0], ctx->args[1], (__u32)ctx->args[2]);
}

SEC("tp/syscalls/sys_enter_open")
int proc_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return enter_open(PROC_AT_FDCWD, ctx->args[0], (__u32)ctx->args[1]);
}

SEC("tp/syscalls/sys_enter_openat2")
int proc_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;

	/* struct open_how { __u64 flags; __u64 mode; __u64 resolve; } */
	bpf_probe_read_user(&flags, sizeof(flags), (void *)ctx->args[2]);
	return enter_open((__s32)ctx->args[0], ctx->args[1], flags);
}

struct hash_ctx {
	const char *path;
	__u64 h;
	__u32 nw;
	__u32 rem;
};

static long hash_word(__u64 i, void *data)
{
	struct hash_ctx *c = data;
	__u64 w;

	if (i >= PROC_PATH_MAX / 8 || i >= c->nw)
		return 1;
	w = *(const __u64 *)(c->path + i * 8);
	if (i == c->nw - 1 && c->rem)
		w &= (1ull << (c->rem * 8)) - 1;
	c->h = (c->h ^ w) * 0x100000001b3ull;
	c->h ^= c->h >> 29;
	return 0;
}

/* 64-bit FNV-style hash of the path bytes (incl. NUL), plus dirfd if relative */
static __always_inline __u64 path_hash(const char *path, __u32 len, __s32 dirfd)
{
	struct hash_ctx c = {
		.path = path,
		.h = 0xcbf29ce484222325ull,
		.nw = (len + 7) / 8,
		.rem = len & 7,
	};

	if (len && path[0] != '/')
		c.h ^= (__u64)(__u32)dirfd * 0x9e3779b97f4a7c15ull;
	bpf_loop(PROC_PATH_MAX / 8, hash_word, &c, 0);
	return c.h;
}

static __always_inline int exit_open(long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	struct proc_dedup_val *v, zv = {};
	struct open_args *a;
	struct proc_open_ev *e;
	__u32 zero = 0, plen;
	__u64 size;
	long n;

	a = bpf_map_lookup_elem(&proc_open_args, &id);
	if (!a)
		return 0;
	e = bpf_map_lookup_elem(&proc_open_buf, &zero);
	if (!e) {
		bpf_map_delete_elem(&proc_open_args, &id);
		return 0;
	}
	fill_hdr(&e->h, PROC_EV_OPEN, task);
	e->dirfd = a->dirfd;
	e->flags = a->flags;
	e->ret = (__s32)ret;
	n = bpf_probe_read_user_str(e->path, PROC_PATH_MAX, (void *)a->fname);
	bpf_map_delete_elem(&proc_open_args, &id);
	plen = n > 0 ? (__u32)n : 0;
	if (plen > PROC_PATH_MAX)
		plen = PROC_PATH_MAX;
	e->path_len = plen;
	e->keyed = 0;

	if (dedup_window_ns) {
		__u64 now = e->h.ts_ns;

		e->key.tgid = e->h.pid;
		e->key.epoch = (__u32)(now / dedup_window_ns);
		e->key.pstart = BPF_CORE_READ(task, group_leader, start_boottime);
		e->key.hash = path_hash(e->path, plen, e->dirfd);
		e->key.flags = (__u32)e->flags;
		e->key.ret_class = ret >= 0 ? 0 : (__s32)ret;
		v = bpf_map_lookup_elem(&proc_dedup, &e->key);
		if (v) {
			__sync_fetch_and_add(&v->count, 1);
			if (!v->first_ts) {
				v->first_ts = now;
				v->first_ret = (__s32)ret;
				v->first_tid = e->h.tid;
			}
			v->last_ts = now;
			return 0;
		}
		e->keyed = 1;
	}

	size = offsetof(struct proc_open_ev, path) + (__u64)plen;
	asm volatile("" : "+r"(size));
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&proc_events, e, size, wakeup_flags())) {
		count_lost();
		return 0;
	}
	/* only after the first event made it into the ring buffer */
	if (dedup_window_ns)
		bpf_map_update_elem(&proc_dedup, &e->key, &zv, BPF_NOEXIST);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int proc_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

SEC("tp/syscalls/sys_exit_open")
int proc_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

SEC("tp/syscalls/sys_exit_openat2")
int proc_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}
