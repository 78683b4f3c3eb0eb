// SPDX-License-Identifier: GPL-2.0
/* sslsniff: capture TLS plaintext at OpenSSL / GnuTLS call boundaries. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sslsniff.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGSTOP_NR 19

/* configuration, set by the loader before load */
const volatile __u32 self_tgid = 0;
const volatile bool filter_pid = false;
const volatile bool filter_uid_on = false;
const volatile __u32 filter_uid = 0;
const volatile __u32 filter_ncomm = 0;
const volatile char filter_comm[SSLSNIFF_MAX_COMMS][SSLSNIFF_COMM_LEN] = {};
const volatile __u64 max_payload = 16ull << 20;
const volatile bool follow_exec = true;
const volatile bool follow_open = true;
const volatile bool stop_new = true;
const volatile bool match_gnutls = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* resized by the loader */
} rb SEC(".maps");

/* Data records wake the reader only once a batch is pending: a wakeup per TLS call costs more than
 * the capture itself. The loader polls at least every DATA_POLL_MS, which bounds the latency. */
#define DATA_WAKEUP_BYTES (256 * 1024)

static __always_inline long data_wakeup_flags(void)
{
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= DATA_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP :
										 BPF_RB_NO_WAKEUP;
}

/* control events (exec/open): separate ring so data floods never drop them */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} ctl_rb SEC(".maps");

/* tgids traced under --pid (root + descendants) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/* processes sent SIGSTOP and not yet resumed by the loader; read by its guardian if it dies */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} stopped SEC(".maps");

/* files (dev, inode) userspace has already inspected / attached */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, __u8);
} known_inodes SEC(".maps");

/* The call in flight on a thread, per kind (read, write, handshake): saved at entry, used by the
 * return probe. Task storage: one cached lookup per probe, freed with the thread. */
struct call_slot {
	__u64 conn;
	__u64 buf;
	__u64 outp;
	__u64 ts;
	__u64 sp;      /* stack pointer at entry: tells a nested call from a stale slot */
	__u32 func;
	__u32 depth;   /* nested calls of the same kind inside this one */
	__u32 busy;
	__u32 pad;
};

#define N_KINDS 3

struct task_calls {
	struct call_slot s[N_KINDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_calls);
} active SEC(".maps");

/* SSL* / gnutls_session_t -> socket fd and peer address */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn_info);
} conn_fd SEC(".maps");

struct scratch {
	struct data_event ev;
	__u8 data[SSLSNIFF_SCRATCH];
};

/* one scratch slot per CPU for partial chunks (plain array indexed by CPU id: per-CPU maps are
 * limited to 32 KiB values); max_entries is set to the CPU count by the loader */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* a full chunk is read straight into its ring buffer record */
struct full_chunk {
	struct data_event ev;
	__u8 data[SSLSNIFF_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sslsniff_stats);
} stats SEC(".maps");

struct path_buf {
	char p[2 * SSLSNIFF_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_buf);
} path_scratch SEC(".maps");

/* openat in flight that matched a TLS library name */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct path_buf);
} open_pending SEC(".maps");

/* per-CPU call counter for kernel call ids */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} call_ctr SEC(".maps");

static __always_inline struct sslsniff_stats *get_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline bool proc_allowed(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_pid && !bpf_map_lookup_elem(&traced, &tgid))
		return false;
	if (filter_uid_on && (__u32)bpf_get_current_uid_gid() != filter_uid)
		return false;
	if (filter_ncomm) {
		char comm[SSLSNIFF_COMM_LEN] = {};
		bool any = false;
		bpf_get_current_comm(comm, sizeof(comm));
		for (int j = 0; j < SSLSNIFF_MAX_COMMS && !any; j++) {
			if (j >= filter_ncomm)
				break;
			bool eq = true;
			for (int i = 0; i < SSLSNIFF_COMM_LEN; i++) {
				if (comm[i] != filter_comm[j][i]) {
					eq = false;
					break;
				}
				if (comm[i] == 0)
					break;
			}
			any = eq;
		}
		if (!any)
			return false;
	}
	return true;
}

static __always_inline void fill_common(struct ev_common *c, __u32 type, __u64 ts_ns)
{
	__u64 pt = bpf_get_current_pid_tgid();
	c->type = type;
	c->pid = pt >> 32;
	c->tid = (__u32)pt;
	c->uid = (__u32)bpf_get_current_uid_gid();
	c->ts_ns = ts_ns;
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

/* Saves a call at entry. A slot still busy from a call at the same or an outer stack depth is
 * stale (its return was never seen) and is replaced; a deeper one is a nested call. */
static __always_inline void call_enter(struct pt_regs *ctx, __u32 kind, __u32 func, __u64 conn,
				       __u64 buf, __u64 outp)
{
	struct task_calls *tc = bpf_task_storage_get(&active, bpf_get_current_task_btf(), 0,
						     BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tc || kind >= N_KINDS)
		return;
	struct call_slot *s = &tc->s[kind];
	__u64 sp = PT_REGS_SP(ctx);
	if (s->busy && sp < s->sp) {
		s->depth++;
		return;
	}
	s->conn = conn;
	s->buf = buf;
	s->outp = outp;
	s->ts = bpf_ktime_get_boot_ns();
	s->sp = sp;
	s->func = func;
	s->depth = 0;
	s->busy = 1;
}

/* At return: copies out and frees the outermost call's slot; false for nested or unknown calls. */
static __always_inline bool call_exit(__u32 kind, struct call_slot *out)
{
	struct task_calls *tc = bpf_task_storage_get(&active, bpf_get_current_task_btf(), 0, 0);
	if (!tc || kind >= N_KINDS)
		return false;
	struct call_slot *s = &tc->s[kind];
	if (!s->busy)
		return false;
	if (s->depth) {
		s->depth--;
		return false;
	}
	*out = *s;
	s->busy = 0;
	return true;
}

static __always_inline __u32 func_kind(__u32 func)
{
	switch (func) {
	case F_SSL_WRITE:
	case F_SSL_WRITE_EX:
	case F_GNUTLS_SEND:
		return DIR_WRITE;
	case F_SSL_DO_HANDSHAKE:
	case F_GNUTLS_HANDSHAKE:
		return 2;
	default:
		return DIR_READ;
	}
}

/* ------------------------------------------------------------------ */
/* data path: SSL_read/SSL_write/SSL_read_ex/SSL_write_ex/gnutls_record_* */

#define S_IFMT   00170000
#define S_IFSOCK 0140000
#define AF_INET  2
#define AF_INET6 10

/* The peer address of the current process's socket fd, if it is a connected INET socket. */
static __always_inline void peer_of_fd(__s32 fd, struct peer_addr *p)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(p->addr, &a, 4);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&p->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return;
	}
	if (!port)
		return; /* not connected yet */
	p->family = family;
	p->port = port;
}

SEC("uprobe")
int BPF_KPROBE(ssl_data_enter, void *conn, void *buf, __u64 num, void *outp)
{
	__u32 func = (__u32)bpf_get_attach_cookie(ctx);

	if (!proc_allowed(bpf_get_current_pid_tgid() >> 32))
		return 0;
	call_enter(ctx, func_kind(func), func, (__u64)conn, (__u64)buf,
		   (func == F_SSL_READ_EX || func == F_SSL_WRITE_EX) ? (__u64)outp : 0);
	return 0;
}

struct loop_ctx {
	struct data_event tmpl;
	__u64 buf;
	__u64 capture;
	__u32 nchunks;
	__u32 pad;
};

/* Fills a chunk's header from the call's template. */
static __always_inline void chunk_header(struct data_event *ev, const struct loop_ctx *lc, __u32 i,
					 __u64 off, __u64 n)
{
	__builtin_memcpy(ev, &lc->tmpl, sizeof(*ev));
	ev->seq = i;
	ev->offset = off;
	ev->chunk_len = n;
	ev->last = (i + 1 >= lc->nchunks);
	ev->truncated = ev->last ? lc->tmpl.truncated : 0;
	ev->read_err = 0;
}

/* Copies a chunk's bytes from the process; a failure is flagged on the chunk and counted. */
static __always_inline void read_chunk(struct data_event *ev, void *dst, __u64 n, __u64 src,
				       struct sslsniff_stats *st)
{
	if (bpf_probe_read_user(dst, n, (void *)src)) {
		ev->read_err = 1;
		__sync_fetch_and_add(&st->read_errors, 1);
	}
}

static __always_inline void count_lost(struct sslsniff_stats *st, __u64 n)
{
	st->lost++;
	st->lost_bytes += n;
}

/* Emits chunk i of a call: a full chunk is read straight into its ring buffer record (one copy);
 * a shorter one goes through the per-CPU scratch buffer so that its record is sized to it. */
static long emit_chunk(__u32 i, struct loop_ctx *lc)
{
	struct sslsniff_stats *st = get_stats();
	__u64 off = (__u64)i * SSLSNIFF_CHUNK;
	__u64 n;

	if (!st || off > lc->capture)
		return 1;
	n = lc->capture - off;
	if (n >= SSLSNIFF_CHUNK) {
		struct full_chunk *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
		if (!r) {
			count_lost(st, SSLSNIFF_CHUNK);
			return 0;
		}
		chunk_header(&r->ev, lc, i, off, SSLSNIFF_CHUNK);
		read_chunk(&r->ev, r->data, SSLSNIFF_CHUNK, lc->buf + off, st);
		bpf_ringbuf_submit(r, data_wakeup_flags());
		return 0;
	}

	__u32 cpu = bpf_get_smp_processor_id();
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return 1;
	/* make the bound visible to the verifier on the very register used */
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(SSLSNIFF_SCRATCH_MASK));
	chunk_header(&s->ev, lc, i, off, n);
	if (n > 0)
		read_chunk(&s->ev, s->data, n, lc->buf + off, st);
	if (bpf_ringbuf_output(&rb, s, sizeof(s->ev) + n, data_wakeup_flags()))
		count_lost(st, n);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_data_exit, long ret)
{
	__u32 func = (__u32)bpf_get_attach_cookie(ctx);
	struct call_slot v;
	__u64 len = 0;

	if (!call_exit(func_kind(func), &v))
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	struct sslsniff_stats *st = get_stats();
	if (!st)
		return 0;

	if (v.func == F_SSL_READ_EX || v.func == F_SSL_WRITE_EX) {
		if ((int)ret != 1) {
			st->failed_calls++;
			return 0;
		}
		if (!v.outp || bpf_probe_read_user(&len, sizeof(len), (void *)v.outp)) {
			st->failed_calls++;
			return 0;
		}
	} else if (v.func == F_GNUTLS_RECV || v.func == F_GNUTLS_SEND) {
		if (ret <= 0) {
			st->failed_calls++;
			return 0;
		}
		len = ret;
	} else {
		if ((int)ret <= 0) {
			st->failed_calls++;
			return 0;
		}
		len = (__u32)(int)ret;
	}
	st->calls++;

	struct loop_ctx lc = {};
	__u32 zero = 0;
	__u64 *ctr = bpf_map_lookup_elem(&call_ctr, &zero);
	__u64 id = 0;
	if (ctr) {
		id = *ctr;
		*ctr = id + 1;
	}
	fill_common(&lc.tmpl.c, EV_DATA, now);
	lc.tmpl.conn = v.conn;
	lc.tmpl.kid = (id << 12) | (bpf_get_smp_processor_id() & 0xfff);
	lc.tmpl.latency_ns = now - v.ts;
	lc.tmpl.len = len;
	lc.tmpl.func = v.func;
	lc.tmpl.dir = func_kind(v.func);
	struct conn_info *ci = bpf_map_lookup_elem(&conn_fd, &v.conn);
	if (ci) {
		if (!ci->peer.family && !ci->pad) {
			/* the socket may have connected after SSL_set_fd: look once more */
			ci->pad = 1;
			peer_of_fd(ci->fd, &ci->peer);
		}
		lc.tmpl.fd = ci->fd;
		lc.tmpl.peer = ci->peer;
	} else {
		lc.tmpl.fd = -1;
	}

	__u64 capture = len < max_payload ? len : max_payload;
	lc.tmpl.truncated = len - capture;
	lc.buf = v.buf;
	lc.capture = capture;
	__u64 nchunks = (capture + SSLSNIFF_CHUNK - 1) / SSLSNIFF_CHUNK;
	if (nchunks == 0)
		nchunks = 1;
	if (nchunks > SSLSNIFF_MAX_CHUNKS) {
		nchunks = SSLSNIFF_MAX_CHUNKS;
		lc.capture = nchunks * SSLSNIFF_CHUNK;
		lc.tmpl.truncated = len - lc.capture;
	}
	lc.nchunks = nchunks;
	if (nchunks == 1)
		emit_chunk(0, &lc); /* the usual case: no bpf_loop round trip */
	else
		bpf_loop(lc.nchunks, emit_chunk, &lc, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* handshake latency */

SEC("uprobe")
int BPF_KPROBE(ssl_hs_enter, void *conn)
{
	__u32 func = (__u32)bpf_get_attach_cookie(ctx);

	if (!proc_allowed(bpf_get_current_pid_tgid() >> 32))
		return 0;
	call_enter(ctx, 2, func, (__u64)conn, 0, 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_hs_exit, long ret)
{
	struct call_slot v;

	if (!call_exit(2, &v))
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();

	struct hs_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		struct sslsniff_stats *st = get_stats();
		if (st)
			st->lost++;
		return 0;
	}
	fill_common(&e->c, EV_HANDSHAKE, now);
	e->conn = v.conn;
	e->latency_ns = now - v.ts;
	e->ret = (int)ret;
	e->func = v.func;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* connection end and fd association */

SEC("uprobe")
int BPF_KPROBE(ssl_close_enter, void *conn)
{
	__u32 func = (__u32)bpf_get_attach_cookie(ctx);
	__u64 c = (__u64)conn;

	if (!c)
		return 0;
	if (func == F_SSL_FREE || func == F_GNUTLS_DEINIT)
		bpf_map_delete_elem(&conn_fd, &c);
	if (!proc_allowed(bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct close_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		struct sslsniff_stats *st = get_stats();
		if (st)
			st->lost++;
		return 0;
	}
	fill_common(&e->c, EV_CLOSE, bpf_ktime_get_boot_ns());
	e->conn = c;
	e->func = func;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_setfd_enter, void *conn, long fd, long fd2)
{
	__u32 func = (__u32)bpf_get_attach_cookie(ctx);
	__u64 c = (__u64)conn;
	/* gnutls_transport_set_int2(session, recv_fd, send_fd): use send_fd */
	struct conn_info ci = { .fd = (func == F_GNUTLS_SET_INT2) ? (__s32)fd2 : (__s32)fd };

	if (!proc_allowed(bpf_get_current_pid_tgid() >> 32))
		return 0;
	peer_of_fd(ci.fd, &ci.peer);
	bpf_map_update_elem(&conn_fd, &c, &ci, BPF_ANY);
	return 0;
}

/* ------------------------------------------------------------------ */
/* process tracking (--pid) */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ssl_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!filter_pid)
		return 0;
	__u32 ptgid = parent->tgid;
	__u32 ctgid = child->tgid;
	__u8 one = 1;

	if (ptgid == ctgid)
		return 0;
	if (bpf_map_lookup_elem(&traced, &ptgid))
		bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ssl_exit)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tgid = pt >> 32;

	if ((__u32)pt != tgid)
		return 0;
	bpf_map_delete_elem(&stopped, &tgid);
	if (filter_pid)
		bpf_map_delete_elem(&traced, &tgid);
	return 0;
}

/* ------------------------------------------------------------------ */
/* following new TLS code: exec of a new binary, open of a TLS library */

static __always_inline int notify_file(__u32 type, struct file *f, __s32 fd, const char *path)
{
	struct inode_key key = {};
	struct sslsniff_stats *st;

	key.ino = BPF_CORE_READ(f, f_inode, i_ino);
	key.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	if (bpf_map_lookup_elem(&known_inodes, &key))
		return 0;

	struct file_event *e = bpf_ringbuf_reserve(&ctl_rb, sizeof(*e), 0);
	if (!e) {
		st = get_stats();
		if (st)
			st->ctl_lost++;
		return 0;
	}
	fill_common(&e->c, type, bpf_ktime_get_boot_ns());
	e->dev = key.dev;
	e->ino = key.ino;
	e->fd = fd;
	e->stopped = 0;
	if (path)
		bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	else
		e->path[0] = 0;
	/* stop the process before it returns to user space; the loader
	 * attaches to the file and then sends SIGCONT */
	if (stop_new && bpf_send_signal(SIGSTOP_NR) == 0) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		__u8 one = 1;
		e->stopped = 1;
		bpf_map_update_elem(&stopped, &tgid, &one, BPF_ANY);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ssl_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!follow_exec)
		return 0;
	if (!proc_allowed(bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct file *f = BPF_CORE_READ(bprm, file);
	if (!f)
		return 0;
	return notify_file(EV_EXEC, f, -1, NULL);
}

static __always_inline bool has_prefix(const char *p, __u32 base, const char *pre, int n)
{
	for (int i = 0; i < n; i++) {
		if (p[(base + i) & (2 * SSLSNIFF_PATH_LEN - 1)] != pre[i])
			return false;
	}
	return true;
}

struct scan_ctx {
	__s32 end;  /* index of the terminating NUL */
	__s32 base; /* start of the basename, -1 if not found yet */
};

/* walk back from the end of the path to the last '/' (at most 32 bytes:
 * TLS library basenames are short, longer ones cannot match) */
static long scan_cb(__u32 i, struct scan_ctx *sc)
{
	__u32 zero = 0;
	struct path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
	__s32 idx = sc->end - 1 - (__s32)i;

	if (!pb)
		return 1;
	if (idx < 0) {
		sc->base = 0;
		return 1;
	}
	if (pb->p[idx & (SSLSNIFF_PATH_LEN - 1)] == '/') {
		sc->base = idx + 1;
		return 1;
	}
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int ssl_open_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 zero = 0;

	if (!follow_open)
		return 0;
	if (!proc_allowed(pt >> 32))
		return 0;
	struct path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!pb)
		return 0;
	long n = bpf_probe_read_user_str(pb->p, SSLSNIFF_PATH_LEN, (void *)ctx->args[1]);
	if (n <= 0)
		return 0;
	if (n < 7) /* shorter than "libssl" + NUL */
		return 0;
	struct scan_ctx sc = { .end = (__s32)n - 1, .base = -1 };
	bpf_loop(33, scan_cb, &sc, 0);
	if (sc.base < 0)
		return 0;
	__u32 base = sc.base & (SSLSNIFF_PATH_LEN - 1);
	if (!has_prefix(pb->p, base, "libssl", 6) && !(match_gnutls && has_prefix(pb->p, base, "libgnutls", 9)))
		return 0;
	bpf_map_update_elem(&open_pending, &pt, pb, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int ssl_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pt = bpf_get_current_pid_tgid();
	struct path_buf *pb = bpf_map_lookup_elem(&open_pending, &pt);
	long fd = ctx->ret;

	if (!pb)
		return 0;
	if (fd < 0 || fd > 0xfffff) {
		bpf_map_delete_elem(&open_pending, &pt);
		return 0;
	}
	struct task_struct *t = bpf_get_current_task_btf();
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (f)
		notify_file(EV_OPEN, f, fd, pb->p);
	bpf_map_delete_elem(&open_pending, &pt);
	return 0;
}
