// SPDX-License-Identifier: MIT
/*
 * process: trace exec / exit / fork / file opens of processes with
 * tracepoints and print one JSON object per line on stdout.
 * See docs/TOOL-PROCESS.md for the output contract.
 */
#include <argp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "process.h"
#include "process.skel.h"
#include "output.h"
#include "runtime.h"

#define TOOL "process"
#define PROCESS_VERSION "0.1.0"
#define GRACE_NS (50ull * 1000 * 1000)       /* epoch closed this long before flushing */
#define SCAN_INTERVAL_NS (200ull * 1000 * 1000)
#define EXIT_SCAN_INTERVAL_NS (50ull * 1000 * 1000)
#define LOST_INTERVAL_NS (1000ull * 1000 * 1000)

/* ---------------- options ---------------- */

static struct env {
	long pid;               /* -1: none */
	char comms[PROC_MAX_COMMS][PROC_COMM_LEN];
	int n_comms;
	long uid;               /* -1: none */
	int mode;               /* -1 default, 0 all, 1 filtered */
	double dedup_window;    /* seconds */
	unsigned long ringbuf_size;
	bool verbose;
} env = {
	.pid = -1,
	.uid = -1,
	.mode = -1,
	.dedup_window = 1.0,
	.ringbuf_size = 32ul << 20,
};

const char *argp_program_version = TOOL " " PROCESS_VERSION;
static const char doc[] =
	"process: trace exec/exit/fork/file-open of processes (eBPF tracepoints).\n"
	"Prints one JSON object per line on stdout; diagnostics on stderr.\n"
	"\v"
	"Filters combine with AND. --pid follows PID and all its descendants.\n"
	"Examples:\n"
	"  process                      # every process\n"
	"  process --pid 1234           # 1234 and its descendants\n"
	"  process --comm python3,node  # processes named python3 or node\n";

enum { OPT_MODE = 1000, OPT_DEDUP, OPT_RINGBUF };

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Trace PID and all its descendants", 0 },
	{ "comm", 'c', "NAMES", 0, "Trace processes whose comm is one of NAMES (comma separated, up to 8)", 0 },
	{ "uid", 'u', "UID", 0, "Trace processes of this real uid", 0 },
	{ "mode", OPT_MODE, "MODE", 0, "all|filtered (default: filtered if a filter is given, else all)", 0 },
	{ "dedup-window", OPT_DEDUP, "SECONDS", 0, "Aggregate repeated opens of a path within this window (default 1.0; 0 disables)", 0 },
	{ "ringbuf-size", OPT_RINGBUF, "BYTES", 0, "Ring buffer size, rounded up to a power of two (default 32 MiB)", 0 },
	{ "verbose", 'v', NULL, 0, "Print libbpf debug output on stderr", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case 'p':
		errno = 0;
		env.pid = strtol(arg, &end, 10);
		if (errno || *end || env.pid <= 0 || env.pid > INT_MAX)
			argp_error(state, "invalid --pid: %s", arg);
		break;
	case 'u':
		errno = 0;
		env.uid = strtol(arg, &end, 10);
		if (errno || *end || env.uid < 0 || env.uid > UINT32_MAX - 1)
			argp_error(state, "invalid --uid: %s", arg);
		break;
	case 'c': {
		char *s = strdup(arg), *save = NULL, *tok;

		for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!*tok)
				continue;
			if (env.n_comms >= PROC_MAX_COMMS)
				argp_error(state, "--comm: at most %d names", PROC_MAX_COMMS);
			if (strlen(tok) >= PROC_COMM_LEN)
				fprintf(stderr, "%s: warning: comm '%s' is longer than 15 bytes; the kernel truncates comm, matching its first 15 bytes\n",
					TOOL, tok);
			memset(env.comms[env.n_comms], 0, PROC_COMM_LEN);
			strncpy(env.comms[env.n_comms], tok, PROC_COMM_LEN - 1);
			env.n_comms++;
		}
		free(s);
		if (!env.n_comms)
			argp_error(state, "--comm: no names given");
		break;
	}
	case OPT_MODE:
		if (!strcmp(arg, "all"))
			env.mode = 0;
		else if (!strcmp(arg, "filtered"))
			env.mode = 1;
		else
			argp_error(state, "invalid --mode: %s (all|filtered)", arg);
		break;
	case OPT_DEDUP:
		errno = 0;
		env.dedup_window = strtod(arg, &end);
		if (errno || *end || !(env.dedup_window >= 0) || env.dedup_window > 3600)
			argp_error(state, "invalid --dedup-window: %s (seconds, 0..3600)", arg);
		if (env.dedup_window > 0 && env.dedup_window < 0.001)
			argp_error(state, "--dedup-window must be 0 or >= 0.001");
		break;
	case OPT_RINGBUF:
		errno = 0;
		env.ringbuf_size = strtoul(arg, &end, 0);
		if (errno || *end || env.ringbuf_size < 4096 || env.ringbuf_size > (1ul << 30))
			argp_error(state, "invalid --ringbuf-size: %s (4096..1073741824)", arg);
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_usage(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---------------- state ---------------- */

static struct out out;
static struct process_bpf *skel;
static uint64_t window_ns;

enum { T_EXEC, T_EXIT, T_FORK, T_OPEN, T_LOST, T_MAX };
static const char *tnames[T_MAX] = { "EXEC", "EXIT", "FORK", "FILE_OPEN", "LOST" };
static uint64_t by_type[T_MAX];
static uint64_t n_events, n_opens, lost_total;

/* ---- userspace side of the open dedup: key -> first-open info ---- */

struct node {
	struct proc_dedup_key key;
	struct node *hnext;     /* hash chain */
	struct node *qnext;     /* FIFO (insertion order) */
	uint32_t ppid, uid;
	int32_t dirfd;
	bool relative;
	char comm[PROC_COMM_LEN];
	char *path;             /* resolved (or raw) path, NUL-terminated */
	size_t path_len;
};

static struct node **htab;
static size_t hsize, hcount;
static struct node *qhead, *qtail;

struct exited { uint32_t tgid; uint64_t pstart; };
static struct exited *exited;
static size_t n_exited, cap_exited;

static uint64_t key_hash(const struct proc_dedup_key *k)
{
	uint64_t h = k->hash ^ ((uint64_t)k->tgid << 32 | k->epoch);

	h ^= k->pstart * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)k->flags << 32 | (uint32_t)k->ret_class) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static bool key_eq(const struct proc_dedup_key *a, const struct proc_dedup_key *b)
{
	return a->tgid == b->tgid && a->epoch == b->epoch && a->pstart == b->pstart &&
	       a->hash == b->hash && a->flags == b->flags && a->ret_class == b->ret_class;
}

static void htab_grow(void)
{
	size_t nsize = hsize ? hsize * 2 : 4096;
	struct node **nt = calloc(nsize, sizeof(*nt));

	if (!nt)
		return;
	for (size_t i = 0; i < hsize; i++) {
		struct node *n = htab[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			size_t b = key_hash(&n->key) & (nsize - 1);
			n->hnext = nt[b];
			nt[b] = n;
		}
	}
	free(htab);
	htab = nt;
	hsize = nsize;
}

static struct node *htab_find(const struct proc_dedup_key *k)
{
	if (!hsize)
		return NULL;
	for (struct node *n = htab[key_hash(k) & (hsize - 1)]; n; n = n->hnext)
		if (key_eq(&n->key, k))
			return n;
	return NULL;
}

static void htab_remove(struct node *x)
{
	struct node **pp = &htab[key_hash(&x->key) & (hsize - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == x) {
			*pp = x->hnext;
			hcount--;
			return;
		}
	}
}

static void node_add(const struct proc_open_ev *e, const char *path, size_t plen, bool relative)
{
	struct node *n;

	if (htab_find(&e->key))
		return; /* two threads raced on the first open: keep the first */
	if (hcount >= hsize)
		htab_grow();
	if (!hsize)
		return;
	n = calloc(1, sizeof(*n));
	if (!n)
		return;
	n->path = malloc(plen + 1);
	if (!n->path) {
		free(n);
		return;
	}
	memcpy(n->path, path, plen);
	n->path[plen] = 0;
	n->path_len = plen;
	n->key = e->key;
	n->ppid = e->h.ppid;
	n->uid = e->h.uid;
	n->dirfd = e->dirfd;
	n->relative = relative;
	memcpy(n->comm, e->h.comm, PROC_COMM_LEN);
	size_t b = key_hash(&n->key) & (hsize - 1);
	n->hnext = htab[b];
	htab[b] = n;
	hcount++;
	if (qtail)
		qtail->qnext = n;
	else
		qhead = n;
	qtail = n;
}

/* ---------------- output helpers ---------------- */

static size_t comm_len(const char *c)
{
	size_t n = 0;

	while (n < PROC_COMM_LEN && c[n])
		n++;
	return n;
}

static void begin(const char *type, uint64_t ts)
{
	out_str(&out, "{\"type\":\"");
	out_str(&out, type);
	out_str(&out, "\",\"ts_ns\":");
	out_u64(&out, ts);
}

static void common(const struct proc_hdr *h)
{
	out_str(&out, ",\"pid\":");
	out_u64(&out, h->pid);
	out_str(&out, ",\"tid\":");
	out_u64(&out, h->tid);
	out_str(&out, ",\"ppid\":");
	out_u64(&out, h->ppid);
	out_str(&out, ",\"uid\":");
	out_u64(&out, h->uid);
	out_str(&out, ",\"comm\":");
	out_json_str(&out, h->comm, comm_len(h->comm));
}

static void end_line(int t)
{
	out_str(&out, "}\n");
	by_type[t]++;
	n_events++;
}

/* ---------------- event handlers ---------------- */

static void on_exec(const struct proc_exec_ev *e, size_t sz)
{
	size_t fnlen = e->filename_len, alen = e->args_len, off, i, start;
	int nargs = 0;
	bool trunc = e->args_truncated;

	if (sz < offsetof(struct proc_exec_ev, data))
		return;
	if (fnlen > PROC_PATH_MAX)
		fnlen = PROC_PATH_MAX;
	off = fnlen;
	if (alen > PROC_ARGS_MAX)
		alen = PROC_ARGS_MAX;
	if (offsetof(struct proc_exec_ev, data) + off + alen > sz)
		alen = 0; /* malformed */
	begin("EXEC", e->h.ts_ns);
	common(&e->h);
	out_str(&out, ",\"filename\":");
	out_json_str(&out, e->data, fnlen ? strnlen(e->data, fnlen) : 0);
	out_str(&out, ",\"argv\":[");
	const char *a = e->data + off;
	for (i = 0, start = 0; i <= alen; i++) {
		if (i < alen && a[i])
			continue;
		if (i == alen && i == start)
			break; /* no trailing piece */
		if (nargs >= PROC_MAX_ARGS) {
			trunc = true;
			break;
		}
		if (nargs)
			out_char(&out, ',');
		out_json_str(&out, a + start, i - start);
		nargs++;
		start = i + 1;
	}
	out_str(&out, "],\"argv_truncated\":");
	out_bool(&out, trunc);
	end_line(T_EXEC);
}

static void add_exited(uint32_t tgid, uint64_t pstart)
{
	if (!window_ns)
		return;
	if (n_exited == cap_exited) {
		size_t nc = cap_exited ? cap_exited * 2 : 256;
		struct exited *x = realloc(exited, nc * sizeof(*x));
		if (!x)
			return;
		exited = x;
		cap_exited = nc;
	}
	exited[n_exited].tgid = tgid;
	exited[n_exited].pstart = pstart;
	n_exited++;
}

static void on_exit_ev(const struct proc_exit_ev *e)
{
	uint32_t raw = e->exit_code_raw;

	begin("EXIT", e->h.ts_ns);
	common(&e->h);
	out_str(&out, ",\"exit_code\":");
	out_u64(&out, (raw >> 8) & 0xff);
	out_str(&out, ",\"signal\":");
	out_u64(&out, raw & 0x7f);
	out_str(&out, ",\"core_dumped\":");
	out_bool(&out, raw & 0x80);
	out_str(&out, ",\"duration_ns\":");
	out_u64(&out, e->duration_ns);
	end_line(T_EXIT);
	add_exited(e->h.pid, e->start_ns);
}

static void on_fork(const struct proc_fork_ev *e)
{
	begin("FORK", e->h.ts_ns);
	common(&e->h);
	out_str(&out, ",\"child_pid\":");
	out_u64(&out, e->child_pid);
	out_str(&out, ",\"child_tid\":");
	out_u64(&out, e->child_tid);
	end_line(T_FORK);
}

/* Resolve a relative path against /proc/TID/cwd or /proc/TID/fd/DIRFD. */
static bool resolve(uint32_t pid, uint32_t tid, int32_t dirfd, const char *p, size_t plen,
		    char *dst, size_t dstsz, size_t *outlen)
{
	char link[64], base[PATH_MAX];
	ssize_t n = -1;
	uint32_t ids[2] = { tid, pid };

	for (int i = 0; i < 2 && n < 0; i++) {
		if (dirfd == PROC_AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%u/cwd", ids[i]);
		else
			snprintf(link, sizeof(link), "/proc/%u/fd/%d", ids[i], dirfd);
		n = readlink(link, base, sizeof(base) - 1);
	}
	if (n <= 0 || base[0] != '/')
		return false; /* gone, or "anon_inode:..." etc. */
	/* strip leading "./" components of the relative part */
	while (plen >= 2 && p[0] == '.' && p[1] == '/') {
		p += 2;
		plen -= 2;
		while (plen && *p == '/') {
			p++;
			plen--;
		}
	}
	if (plen == 1 && p[0] == '.')
		plen = 0;
	if ((size_t)n + 1 + plen + 1 > dstsz)
		return false;
	memcpy(dst, base, (size_t)n);
	if (plen) {
		if (n > 1)
			dst[n++] = '/';
		memcpy(dst + n, p, plen);
	}
	*outlen = (size_t)n + plen;
	dst[*outlen] = 0;
	return true;
}

static void emit_open(const struct proc_hdr *h, const char *path, size_t plen, bool relative,
		      int32_t dirfd, uint64_t flags, int64_t ret, uint64_t count, bool aggregate,
		      uint64_t first_ts)
{
	begin("FILE_OPEN", h->ts_ns);
	common(h);
	out_str(&out, ",\"path\":");
	out_json_str(&out, path, plen);
	out_str(&out, ",\"relative\":");
	out_bool(&out, relative);
	out_str(&out, ",\"dirfd\":");
	out_i64(&out, dirfd);
	out_str(&out, ",\"flags\":");
	out_u64(&out, flags);
	out_str(&out, ",\"ret\":");
	out_i64(&out, ret);
	out_str(&out, ",\"count\":");
	out_u64(&out, count);
	out_str(&out, ",\"aggregate\":");
	out_bool(&out, aggregate);
	if (aggregate) {
		out_str(&out, ",\"first_ts_ns\":");
		out_u64(&out, first_ts);
	}
	end_line(T_OPEN);
	n_opens += count;
}

static char rbuf[PATH_MAX + PROC_PATH_MAX + 2];

static void on_open(const struct proc_open_ev *e, size_t sz)
{
	size_t plen = e->path_len, rlen;
	const char *p = e->path;
	bool relative = false;

	if (sz < offsetof(struct proc_open_ev, path))
		return;
	if (plen > PROC_PATH_MAX)
		plen = PROC_PATH_MAX;
	if (offsetof(struct proc_open_ev, path) + plen > sz)
		plen = 0;
	plen = plen ? strnlen(p, plen) : 0;
	if (plen && p[0] != '/') {
		if (resolve(e->h.pid, e->h.tid, e->dirfd, p, plen, rbuf, sizeof(rbuf), &rlen)) {
			p = rbuf;
			plen = rlen;
		} else {
			relative = true;
		}
	}
	emit_open(&e->h, p, plen, relative, e->dirfd, e->flags, e->ret, 1, false, 0);
	if (e->keyed)
		node_add(e, p, plen, relative);
}

static int handle_event(void *ctx, void *data, size_t sz)
{
	const struct proc_hdr *h = data;

	if (sz < sizeof(*h))
		return 0;
	switch (h->type) {
	case PROC_EV_EXEC:
		on_exec(data, sz);
		break;
	case PROC_EV_EXIT:
		if (sz >= sizeof(struct proc_exit_ev))
			on_exit_ev(data);
		break;
	case PROC_EV_FORK:
		if (sz >= sizeof(struct proc_fork_ev))
			on_fork(data);
		break;
	case PROC_EV_OPEN:
		on_open(data, sz);
		break;
	}
	return out.err ? -EPIPE : 0;
}

/* ---------------- dedup flushing ---------------- */

static int cmp_exited(const void *a, const void *b)
{
	const struct exited *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->pstart != y->pstart)
		return x->pstart < y->pstart ? -1 : 1;
	return 0;
}

static void emit_aggregate(const struct proc_dedup_key *k, const struct proc_dedup_val *v)
{
	struct node *n = htab_find(k);
	struct proc_hdr h = {};

	h.pid = k->tgid;
	h.tid = v->first_tid;
	h.ts_ns = v->last_ts ? v->last_ts : v->first_ts;
	if (n) {
		h.ppid = n->ppid;
		h.uid = n->uid;
		memcpy(h.comm, n->comm, PROC_COMM_LEN);
		emit_open(&h, n->path, n->path_len, n->relative, n->dirfd, k->flags,
			  v->first_ret, v->count, true, v->first_ts);
	} else {
		/* should not happen: the first open is always read first */
		emit_open(&h, "", 0, true, PROC_AT_FDCWD, k->flags, v->first_ret, v->count,
			  true, v->first_ts);
	}
}

#define BATCH 4096
static struct proc_dedup_key bkeys[BATCH], dkeys[BATCH];
static struct proc_dedup_val bvals[BATCH];

/* Flush closed windows (and exited processes); all = flush everything. */
static void dedup_scan(bool all)
{
	int fd = bpf_map__fd(skel->maps.proc_dedup);
	uint64_t now = rt_boot_ns();
	uint32_t cutoff;
	struct proc_dedup_key in_b, out_b;
	bool first = true, done = false;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, bopts);

	if (!window_ns)
		return;
	cutoff = now > GRACE_NS ? (uint32_t)((now - GRACE_NS) / window_ns) : 0;
	if (n_exited > 1)
		qsort(exited, n_exited, sizeof(*exited), cmp_exited);

	while (!done) {
		__u32 count = BATCH, nd = 0;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in_b, &out_b, bkeys, bvals,
					       &count, &bopts);
		if (err) {
			if (errno != ENOENT) {
				if (errno == ENOSPC) {
					/* a bucket larger than BATCH: fall back below */
				}
				break;
			}
			done = true;
		}
		first = false;
		in_b = out_b;
		for (__u32 i = 0; i < count; i++) {
			const struct proc_dedup_key *k = &bkeys[i];
			bool go = all || k->epoch < cutoff;

			if (!go && n_exited) {
				struct exited x = { k->tgid, k->pstart };
				go = bsearch(&x, exited, n_exited, sizeof(x), cmp_exited) != NULL;
			}
			if (!go)
				continue;
			if (bvals[i].count)
				emit_aggregate(k, &bvals[i]);
			dkeys[nd++] = *k;
		}
		if (nd) {
			__u32 c = nd;
			if (bpf_map_delete_batch(fd, dkeys, &c, &bopts)) {
				for (__u32 i = 0; i < nd; i++)
					bpf_map_delete_elem(fd, &dkeys[i]);
			}
		}
	}
	n_exited = 0;

	/* drop userspace nodes whose window is closed */
	while (qhead && (all || qhead->key.epoch < cutoff)) {
		struct node *n = qhead;
		qhead = n->qnext;
		if (!qhead)
			qtail = NULL;
		htab_remove(n);
		free(n->path);
		free(n);
	}
}

/* ---------------- lost accounting ---------------- */

static uint64_t read_lost(void)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0, *vals;
	__u32 zero = 0;

	if (ncpu <= 0)
		return lost_total;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return lost_total;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.proc_lost), &zero, vals) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

static void check_lost(void)
{
	uint64_t now = read_lost();

	if (now > lost_total) {
		begin("LOST", rt_boot_ns());
		out_str(&out, ",\"count\":");
		out_u64(&out, now - lost_total);
		out_str(&out, ",\"total\":");
		out_u64(&out, now);
		out_str(&out, "}\n");
		by_type[T_LOST]++;
		lost_total = now;
	}
}

/* ---------------- /proc seeding ---------------- */

struct pp { uint32_t pid, ppid; };

static int seed_descendants(uint32_t root)
{
	int fd = bpf_map__fd(skel->maps.proc_traced);
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct pp *v = NULL;
	size_t n = 0, cap = 0;
	uint8_t *in = NULL, one = 1;
	uint32_t maxpid = root;
	bool changed = true;
	int added = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[64], buf[512], *rp;
		uint32_t pid, ppid;
		int f;
		ssize_t r;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%u/stat", pid);
		f = open(path, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			continue;
		r = read(f, buf, sizeof(buf) - 1);
		close(f);
		if (r <= 0)
			continue;
		buf[r] = 0;
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 1, " %*c %u", &ppid) != 1)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			struct pp *nv = realloc(v, cap * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
		}
		v[n].pid = pid;
		v[n].ppid = ppid;
		n++;
		if (pid > maxpid)
			maxpid = pid;
		if (ppid > maxpid)
			maxpid = ppid;
	}
	closedir(d);
	in = calloc((size_t)maxpid + 1, 1);
	if (!in) {
		free(v);
		return -ENOMEM;
	}
	in[root] = 1;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			if (!in[v[i].pid] && in[v[i].ppid]) {
				in[v[i].pid] = 1;
				changed = true;
			}
		}
	}
	for (uint32_t p = 0; p <= maxpid; p++) {
		if (in[p] && bpf_map_update_elem(fd, &p, &one, BPF_ANY) == 0)
			added++;
	}
	free(in);
	free(v);
	return added;
}

/* ---------------- main ---------------- */

static void print_start(bool filtered)
{
	begin("START", rt_boot_ns());
	out_str(&out, ",\"tool\":\"process\",\"version\":\"" PROCESS_VERSION "\",\"tool_pid\":");
	out_u64(&out, (uint64_t)getpid());
	out_str(&out, ",\"filters\":{\"mode\":");
	out_str(&out, filtered ? "\"filtered\"" : "\"all\"");
	out_str(&out, ",\"pid\":");
	if (filtered && env.pid > 0)
		out_u64(&out, (uint64_t)env.pid);
	else
		out_str(&out, "null");
	out_str(&out, ",\"comm\":[");
	for (int i = 0; filtered && i < env.n_comms; i++) {
		if (i)
			out_char(&out, ',');
		out_json_cstr(&out, env.comms[i]);
	}
	out_str(&out, "],\"uid\":");
	if (filtered && env.uid >= 0)
		out_u64(&out, (uint64_t)env.uid);
	else
		out_str(&out, "null");
	out_str(&out, "},\"dedup_window_s\":");
	out_printf(&out, "%g", env.dedup_window);
	out_str(&out, ",\"ringbuf_size\":");
	out_u64(&out, env.ringbuf_size);
	out_str(&out, "}\n");
}

static void print_summary(void)
{
	begin("SUMMARY", rt_boot_ns());
	out_str(&out, ",\"events\":");
	out_u64(&out, n_events);
	out_str(&out, ",\"lost\":");
	out_u64(&out, lost_total);
	out_str(&out, ",\"by_type\":{");
	for (int t = 0; t < T_MAX; t++) {
		if (t)
			out_char(&out, ',');
		out_printf(&out, "\"%s\":%llu", tnames[t], (unsigned long long)by_type[t]);
	}
	out_str(&out, "},\"opens\":");
	out_u64(&out, n_opens);
	out_str(&out, "}\n");
}

/* A pipe whose reader went away reports POLLERR on the write end even when
 * we have nothing to write: notice it while idle. */
static bool stdout_closed(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static unsigned long roundup_pow2(unsigned long v)
{
	unsigned long p = 4096;

	while (p < v)
		p <<= 1;
	return p;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	struct ring_buffer *rb = NULL;
	bool filtered, any_filter;
	uint64_t last_scan, last_lost, now;
	int err, rc = 1;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 2;

	any_filter = env.pid > 0 || env.n_comms > 0 || env.uid >= 0;
	filtered = env.mode == -1 ? any_filter : env.mode == 1;
	if (filtered && !any_filter)
		fprintf(stderr, "%s: --mode filtered without --pid/--comm/--uid: tracing every process\n", TOOL);
	window_ns = (uint64_t)(env.dedup_window * 1e9 + 0.5);
	env.ringbuf_size = roundup_pow2(env.ringbuf_size);

	if (rt_setup_signals() < 0) {
		fprintf(stderr, "%s: cannot install signal handlers: %s\n", TOOL, strerror(errno));
		return 1;
	}
	if (rt_die_with_parent() < 0)
		return 0; /* parent already gone */
	rt_libbpf_logging(env.verbose);
	rt_bump_memlock();
	if (out_init(&out, STDOUT_FILENO, 1 << 20)) {
		fprintf(stderr, "%s: out of memory\n", TOOL);
		return 1;
	}

	if (geteuid() != 0 && access("/sys/kernel/btf/vmlinux", R_OK) != 0 && errno == EACCES) {
		fprintf(stderr, "%s: permission denied: run as root or grant CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN.\n", TOOL);
		return 1;
	}
	if (rt_check_btf() < 0) {
		fprintf(stderr, "%s: kernel BTF not found at /sys/kernel/btf/vmlinux: this tool needs a kernel built with CONFIG_DEBUG_INFO_BTF=y.\n", TOOL);
		return 1;
	}
	err = rt_ensure_tracefs();
	if (err < 0) {
		if (err == -EPERM || err == -EACCES)
			fprintf(stderr, "%s: tracefs is not mounted and mounting it was denied: run as root or mount it first (mount -t tracefs nodev /sys/kernel/tracing).\n", TOOL);
		else
			fprintf(stderr, "%s: tracefs is not available at /sys/kernel/tracing (%s): mount it with 'mount -t tracefs nodev /sys/kernel/tracing' (kernel needs CONFIG_TRACING).\n",
				TOOL, strerror(-err));
		return 1;
	}
	if (filtered && env.pid > 0 && kill((pid_t)env.pid, 0) != 0 && errno == ESRCH) {
		fprintf(stderr, "%s: no process with pid %ld.\n", TOOL, env.pid);
		return 1;
	}

	skel = process_bpf__open();
	if (!skel) {
		rt_explain(TOOL, RT_OPEN, -errno, "the BPF object");
		return 1;
	}
	skel->rodata->self_tgid = (uint32_t)getpid();
	skel->rodata->filtered = filtered;
	skel->rodata->filter_pid = filtered && env.pid > 0;
	skel->rodata->filter_uid = filtered && env.uid >= 0;
	skel->rodata->target_uid = env.uid >= 0 ? (uint32_t)env.uid : 0;
	skel->rodata->n_comms = filtered ? (uint32_t)env.n_comms : 0;
	for (int i = 0; i < env.n_comms; i++)
		memcpy((void *)skel->rodata->comms[i], env.comms[i], PROC_COMM_LEN);
	skel->rodata->dedup_window_ns = window_ns;
	bpf_map__set_max_entries(skel->maps.proc_events, (uint32_t)env.ringbuf_size);
	if (!window_ns)
		bpf_map__set_max_entries(skel->maps.proc_dedup, 1);

	err = process_bpf__load(skel);
	if (err) {
		rt_explain(TOOL, RT_LOAD, err, "BPF programs");
		goto cleanup;
	}
	if (skel->rodata->filter_pid) {
		err = seed_descendants((uint32_t)env.pid);
		if (err < 0) {
			fprintf(stderr, "%s: cannot read /proc to find descendants of %ld: %s.\n", TOOL, env.pid, strerror(-err));
			goto cleanup;
		}
	}
	err = process_bpf__attach(skel);
	if (err) {
		rt_explain(TOOL, RT_ATTACH, err, "tracepoints");
		goto cleanup;
	}
	/* catch processes forked between the first walk and attaching */
	if (skel->rodata->filter_pid)
		seed_descendants((uint32_t)env.pid);

	rb = ring_buffer__new(bpf_map__fd(skel->maps.proc_events), handle_event, NULL, NULL);
	if (!rb) {
		rt_explain(TOOL, RT_ATTACH, -errno, "the ring buffer");
		goto cleanup;
	}

	print_start(filtered);
	if (out_flush(&out)) {
		rc = 0;
		goto cleanup;
	}

	last_scan = last_lost = rt_boot_ns();
	rc = 0;
	while (!rt_exiting) {
		err = ring_buffer__poll(rb, 50);
		if (err == 0) /* records don't always wake us: read what is pending */
			err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			if (out.err)
				break; /* stdout closed */
			fprintf(stderr, "%s: ring buffer poll failed: %s\n", TOOL, strerror(-err));
			rc = 1;
			break;
		}
		now = rt_boot_ns();
		if (window_ns && (now - last_scan >= SCAN_INTERVAL_NS ||
				  (n_exited && now - last_scan >= EXIT_SCAN_INTERVAL_NS))) {
			ring_buffer__consume(rb);
			dedup_scan(false);
			last_scan = now;
		}
		if (now - last_lost >= LOST_INTERVAL_NS) {
			check_lost();
			last_lost = now;
		}
		if (out_flush(&out))
			break; /* EPIPE: reader went away */
		if (stdout_closed()) {
			out.err = EPIPE;
			break;
		}
	}

	if (!out.err) {
		/* stop producing, drain, flush every pending aggregate */
		process_bpf__detach(skel);
		ring_buffer__consume(rb);
		dedup_scan(true);
		check_lost();
		print_summary();
		out_flush(&out);
	}

cleanup:
	ring_buffer__free(rb);
	process_bpf__destroy(skel);
	out_free(&out);
	return rc;
}
