// SPDX-License-Identifier: GPL-2.0
/*
 * sslsniff: capture TLS plaintext (OpenSSL 1.1/3.x, optionally GnuTLS) with
 * uprobes, emit one JSON object per line on stdout.  See docs/TOOL-SSLSNIFF.md.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <ctype.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "output.h"
#include "runtime.h"
#include "sslsniff.h"
#include "sslsniff.skel.h"

#define SSLSNIFF_VERSION "0.1.0"
#define MAX_LIBS 64

const char *argp_program_version = "sslsniff " SSLSNIFF_VERSION;

/* ------------------------------------------------------------------ */
/* options */

static struct env {
	pid_t pid;
	bool uid_on;
	uid_t uid;
	char comm[SSLSNIFF_MAX_COMMS][SSLSNIFF_COMM_LEN];
	int ncomm;
	const char *libs[MAX_LIBS];
	int nlibs;
	const char *bins[MAX_LIBS];
	int nbins;
	unsigned long long max_payload;
	unsigned long long ringbuf_bytes;
	bool handshake;
	bool gnutls;
	bool no_system;
	bool no_follow;
	int stop_mode; /* -1 default, 0 no, 1 yes */
	bool verbose;
} env = {
	.max_payload = 16ull << 20,
	.ringbuf_bytes = 64ull << 20,
	.stop_mode = -1,
};

enum {
	OPT_MAX_PAYLOAD = 1000,
	OPT_HANDSHAKE,
	OPT_GNUTLS,
	OPT_NO_SYSTEM,
	OPT_NO_FOLLOW,
	OPT_STOP,
	OPT_NO_STOP,
	OPT_RINGBUF,
};

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Trace only PID and all its descendants (incl. ones started later)", 0 },
	{ "uid", 'u', "UID", 0, "Trace only processes of this uid", 0 },
	{ "comm", 'c', "NAMES", 0, "Trace only processes whose comm (15 chars max) is one of the comma-separated NAMES (up to 8; repeatable)", 0 },
	{ "lib", 'l', "PATH", 0, "Also attach to this TLS library (repeatable)", 0 },
	{ "binary", 'b', "PATH", 0, "Also attach to this executable exporting SSL_* (statically linked OpenSSL, e.g. node) (repeatable)", 0 },
	{ "max-payload", OPT_MAX_PAYLOAD, "BYTES", 0, "Capture at most BYTES per call (default 16777216); the rest is counted in 'truncated'", 0 },
	{ "ringbuf-size", OPT_RINGBUF, "BYTES", 0, "Data ring buffer size (power of 2, default 67108864)", 0 },
	{ "handshake", OPT_HANDSHAKE, NULL, 0, "Report SSL_do_handshake / gnutls_handshake latency", 0 },
	{ "gnutls", OPT_GNUTLS, NULL, 0, "Also trace GnuTLS (gnutls_record_send/recv)", 0 },
	{ "no-system", OPT_NO_SYSTEM, NULL, 0, "Do not attach to the system libssl", 0 },
	{ "no-follow", OPT_NO_FOLLOW, NULL, 0, "Do not follow exec of new binaries / open of new TLS libraries", 0 },
	{ "stop", OPT_STOP, NULL, 0, "SIGSTOP a process that execs/opens an unknown file until attached (default with --pid)", 0 },
	{ "no-stop", OPT_NO_STOP, NULL, 0, "Never SIGSTOP traced processes (attach asynchronously)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf messages on stderr", 0 },
	{},
};

static unsigned long long parse_ull(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "sslsniff: invalid %s: %s\n", what, s);
		exit(64);
	}
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'p':
		env.pid = (pid_t)parse_ull(arg, "pid");
		if (env.pid <= 0) {
			fprintf(stderr, "sslsniff: invalid pid: %s\n", arg);
			exit(64);
		}
		break;
	case 'u':
		env.uid_on = true;
		env.uid = (uid_t)parse_ull(arg, "uid");
		break;
	case 'c': {
		char *save = NULL, *tok;
		for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (env.ncomm >= SSLSNIFF_MAX_COMMS) {
				fprintf(stderr, "sslsniff: at most %d --comm names\n", SSLSNIFF_MAX_COMMS);
				exit(64);
			}
			strncpy(env.comm[env.ncomm++], tok, SSLSNIFF_COMM_LEN - 1);
		}
		break;
	}
	case 'l':
		if (env.nlibs >= MAX_LIBS) {
			fprintf(stderr, "sslsniff: too many --lib\n");
			exit(64);
		}
		env.libs[env.nlibs++] = arg;
		break;
	case 'b':
		if (env.nbins >= MAX_LIBS) {
			fprintf(stderr, "sslsniff: too many --binary\n");
			exit(64);
		}
		env.bins[env.nbins++] = arg;
		break;
	case OPT_MAX_PAYLOAD:
		env.max_payload = parse_ull(arg, "--max-payload");
		break;
	case OPT_RINGBUF:
		env.ringbuf_bytes = parse_ull(arg, "--ringbuf-size");
		if (env.ringbuf_bytes < 4096 || (env.ringbuf_bytes & (env.ringbuf_bytes - 1))) {
			fprintf(stderr, "sslsniff: --ringbuf-size must be a power of 2 >= 4096\n");
			exit(64);
		}
		break;
	case OPT_HANDSHAKE:
		env.handshake = true;
		break;
	case OPT_GNUTLS:
		env.gnutls = true;
		break;
	case OPT_NO_SYSTEM:
		env.no_system = true;
		break;
	case OPT_NO_FOLLOW:
		env.no_follow = true;
		break;
	case OPT_STOP:
		env.stop_mode = 1;
		break;
	case OPT_NO_STOP:
		env.stop_mode = 0;
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

/* ------------------------------------------------------------------ */
/* output */

/* stdout: common/output.h buffered writer; write errors (EPIPE) are sticky */
static struct out O;
#define exiting rt_exiting

static void out_check(void)
{
	if (O.err)
		exiting = 1;
}

static void flush_out(void)
{
	if (out_flush(&O))
		exiting = 1;
}

static void json_str(const char *s, size_t maxlen)
{
	out_json_str(&O, s, strnlen(s, maxlen));
}

static unsigned long long now_boot_ns(void)
{
	return rt_boot_ns();
}

/* no printf on the data path (one line per TLS call): out_key + out_u64 */
static void common_out(const char *type, const struct ev_common *c)
{
	out_raw(&O, "{\"type\":\"", 9);
	out_str(&O, type);
	out_char(&O, '"');
	out_key(&O, "ts_ns", false);
	out_u64(&O, c->ts_ns);
	out_key(&O, "pid", false);
	out_u64(&O, c->pid);
	out_key(&O, "tid", false);
	out_u64(&O, c->tid);
	out_key(&O, "uid", false);
	out_u64(&O, c->uid);
	out_key(&O, "comm", false);
	json_str(c->comm, sizeof(c->comm));
}

static const char *func_names[F__COUNT] = {
	[F_SSL_READ] = "SSL_read",
	[F_SSL_WRITE] = "SSL_write",
	[F_SSL_READ_EX] = "SSL_read_ex",
	[F_SSL_WRITE_EX] = "SSL_write_ex",
	[F_GNUTLS_RECV] = "gnutls_record_recv",
	[F_GNUTLS_SEND] = "gnutls_record_send",
	[F_SSL_DO_HANDSHAKE] = "SSL_do_handshake",
	[F_GNUTLS_HANDSHAKE] = "gnutls_handshake",
	[F_SSL_SHUTDOWN] = "SSL_shutdown",
	[F_SSL_FREE] = "SSL_free",
	[F_GNUTLS_BYE] = "gnutls_bye",
	[F_GNUTLS_DEINIT] = "gnutls_deinit",
	[F_SSL_SET_FD] = "SSL_set_fd",
	[F_GNUTLS_SET_INT2] = "gnutls_transport_set_int2",
};

static const char *func_name(unsigned f)
{
	return f < F__COUNT && func_names[f] ? func_names[f] : "?";
}

/* ------------------------------------------------------------------ */
/* state */

static struct sslsniff_bpf *skel;
/* uprobe links: either libbpf perf-event links (one per symbol, program and
 * file) or raw uprobe_multi link fds (one per program and file) */
struct ulink {
	struct bpf_link *bl;
	int fd;
};
static struct ulink *links;
static size_t nlinks, links_cap;
static bool use_multi; /* the uprobe programs are loaded for uprobe_multi links */
static int ncpus;
static unsigned long long *cur_kid, *cur_call;
static unsigned long long call_seq;
static unsigned long long n_events, n_attached_files;

struct known_file {
	dev_t dev;
	ino_t ino;
	bool attached;
};
static struct known_file *known;
static size_t nknown, known_cap;

enum sym_kind { K_DATA, K_HS, K_CLOSE, K_SETFD };

static const struct {
	const char *name;
	int func;
	enum sym_kind kind;
	bool gnutls;
} syms[] = {
	{ "SSL_read", F_SSL_READ, K_DATA, false },
	{ "SSL_write", F_SSL_WRITE, K_DATA, false },
	{ "SSL_read_ex", F_SSL_READ_EX, K_DATA, false },
	{ "SSL_write_ex", F_SSL_WRITE_EX, K_DATA, false },
	{ "SSL_do_handshake", F_SSL_DO_HANDSHAKE, K_HS, false },
	{ "SSL_shutdown", F_SSL_SHUTDOWN, K_CLOSE, false },
	{ "SSL_free", F_SSL_FREE, K_CLOSE, false },
	{ "SSL_set_fd", F_SSL_SET_FD, K_SETFD, false },
	{ "gnutls_record_recv", F_GNUTLS_RECV, K_DATA, true },
	{ "gnutls_record_send", F_GNUTLS_SEND, K_DATA, true },
	{ "gnutls_handshake", F_GNUTLS_HANDSHAKE, K_HS, true },
	{ "gnutls_bye", F_GNUTLS_BYE, K_CLOSE, true },
	{ "gnutls_deinit", F_GNUTLS_DEINIT, K_CLOSE, true },
	{ "gnutls_transport_set_int2", F_GNUTLS_SET_INT2, K_SETFD, true },
};
#define NSYMS (sizeof(syms) / sizeof(syms[0]))

static __u64 kdev_of(dev_t d)
{
	return ((__u64)major(d) << 20) | minor(d);
}

static struct known_file *known_find(dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < nknown; i++)
		if (known[i].dev == dev && known[i].ino == ino)
			return &known[i];
	return NULL;
}

static void known_mark_kernel(__u64 kdev, __u64 ino)
{
	struct inode_key k = { .dev = kdev, .ino = ino };
	__u8 one = 1;
	bpf_map__update_elem(skel->maps.known_inodes, &k, sizeof(k), &one, sizeof(one), BPF_ANY);
}

static struct known_file *known_add(dev_t dev, ino_t ino)
{
	if (nknown == known_cap) {
		known_cap = known_cap ? known_cap * 2 : 64;
		known = realloc(known, known_cap * sizeof(*known));
		if (!known) {
			fprintf(stderr, "sslsniff: out of memory\n");
			exit(1);
		}
	}
	known[nknown] = (struct known_file){ .dev = dev, .ino = ino };
	known_mark_kernel(kdev_of(dev), ino);
	return &known[nknown++];
}

static void link_add(struct bpf_link *l, int fd)
{
	if (nlinks == links_cap) {
		links_cap = links_cap ? links_cap * 2 : 64;
		links = realloc(links, links_cap * sizeof(*links));
		if (!links) {
			fprintf(stderr, "sslsniff: out of memory\n");
			exit(1);
		}
	}
	links[nlinks++] = (struct ulink){ .bl = l, .fd = fd };
}

static void link_close(struct ulink *l)
{
	if (l->bl)
		bpf_link__destroy(l->bl);
	else if (l->fd >= 0)
		close(l->fd);
	l->bl = NULL;
	l->fd = -1;
}

static struct ulink *closing;
static size_t nclosing, next_close;

static void *close_worker(void *arg)
{
	size_t i;
	while ((i = __atomic_fetch_add(&next_close, 1, __ATOMIC_RELAXED)) < nclosing)
		link_close(&closing[i]);
	return NULL;
}

/*
 * Detach the links in first[] (libbpf links, set to NULL) and all uprobe
 * links, and return when all are gone.  Releasing a link waits in the kernel
 * for RCU grace periods (uprobe_unregister_sync for uprobes,
 * tracepoint_synchronize_unregister for perf-event tracepoints: 70-100 ms
 * each here).  The links are closed from up to MAX_CLOSERS threads so these
 * waits overlap: fully for uprobe_multi links, partly for perf-event links
 * (tracepoints, per-probe uprobes), whose teardown holds the kernel's
 * event_mutex while it waits.  first[] are started first: they are the slow
 * serialized ones.
 */
#define MAX_CLOSERS 32
static void links_close_all(struct bpf_link **first[], size_t nfirst)
{
	pthread_t th[MAX_CLOSERS];
	size_t n = nfirst + nlinks, started = 0;

	closing = calloc(n ? n : 1, sizeof(*closing));
	if (!closing) {
		for (size_t i = 0; i < nfirst; i++) {
			bpf_link__destroy(*first[i]);
			*first[i] = NULL;
		}
		for (size_t i = 0; i < nlinks; i++)
			link_close(&links[i]);
		nlinks = 0;
		return;
	}
	for (size_t i = 0; i < nfirst; i++) {
		closing[i] = (struct ulink){ .bl = *first[i], .fd = -1 };
		*first[i] = NULL;
	}
	memcpy(closing + nfirst, links, nlinks * sizeof(*links));
	nlinks = 0;
	nclosing = n;
	next_close = 0;
	if (n > 1) {
		sigset_t all, old;
		sigfillset(&all);
		/* signals stay with the main thread */
		pthread_sigmask(SIG_SETMASK, &all, &old);
		while (started + 1 < (n < MAX_CLOSERS ? n : MAX_CLOSERS) &&
		       !pthread_create(&th[started], NULL, close_worker, NULL))
			started++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	close_worker(NULL);
	for (size_t t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	free(closing);
	closing = NULL;
	nclosing = 0;
}

/* Which of our symbols does this ELF file define (as functions)? Returns a
 * bitmask over syms[]; -errno on failure to read the file. */
static long elf_tls_syms(const char *path, bool want_symtab, size_t *offs)
{
	long mask = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(fd);
		return -ENOEXEC;
	}
	for (int pass = 0; pass < 2; pass++) {
		Elf_Scn *scn = NULL;
		int want = pass == 0 ? SHT_DYNSYM : SHT_SYMTAB;
		if (pass == 1 && (!want_symtab || mask))
			break;
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (unsigned)want || !sh.sh_entsize)
				continue;
			Elf_Data *data = elf_getdata(scn, NULL);
			if (!data)
				continue;
			size_t n = sh.sh_size / sh.sh_entsize;
			for (size_t i = 0; i < n; i++) {
				GElf_Sym s;
				if (!gelf_getsym(data, i, &s))
					continue;
				if (s.st_shndx == SHN_UNDEF || !s.st_value)
					continue;
				if (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC)
					continue;
				const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
				if (!nm || (nm[0] != 'S' && nm[0] != 'g'))
					continue;
				for (size_t j = 0; j < NSYMS; j++) {
					size_t l = strlen(syms[j].name);
					if (strncmp(nm, syms[j].name, l) || (nm[l] != 0 && nm[l] != '@'))
						continue;
					if (mask & (1L << j))
						continue;
					/* file offset of the function (what the uprobe
					 * needs): resolved here once, so libbpf does not
					 * re-parse a big binary (node: ~100 MB) per symbol */
					Elf_Scn *ts = elf_getscn(e, s.st_shndx);
					GElf_Shdr tsh;
					if (!ts || !gelf_getshdr(ts, &tsh) || s.st_value < tsh.sh_addr)
						continue;
					offs[j] = s.st_value - tsh.sh_addr + tsh.sh_offset;
					mask |= 1L << j;
				}
			}
		}
	}
	elf_end(e);
	close(fd);
	return mask;
}

static struct bpf_link *attach_one(struct bpf_program *prog, const char *path, size_t off,
				   bool ret, int func)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = func);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, -1, path, off, &uo);
	if (!l)
		return NULL;
	link_add(l, -1);
	return l;
}

/*
 * uprobe_multi links (kernel >= 6.6): all probes of one program in one file
 * in one link, registered in one bpf() call and unregistered with a single
 * RCU wait when the link is closed.  libbpf 1.1.2 cannot create them, so the
 * link is made with the raw BPF_LINK_CREATE command.  The struct mirrors
 * union bpf_attr.link_create of the kernel uapi (include/uapi/linux/bpf.h,
 * >= 6.6; the installed linux/bpf.h may predate the uprobe_multi member).
 */
#define SSLSNIFF_BPF_TRACE_UPROBE_MULTI 48 /* enum bpf_attach_type, uapi >= 6.6 */
#define SSLSNIFF_BPF_F_UPROBE_MULTI_RETURN 1u
struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;              /* link_create.flags: must be 0 */
	__u64 path;               /* const char *: file to probe */
	__u64 offsets;            /* const __u64 *: file offsets */
	__u64 ref_ctr_offsets;    /* optional */
	__u64 cookies;            /* const __u64 *: bpf_get_attach_cookie() values */
	__u32 cnt;
	__u32 um_flags;           /* BPF_F_UPROBE_MULTI_RETURN for uretprobes */
	__u32 pid;                /* 0: every process */
};
_Static_assert(offsetof(struct uprobe_multi_attr, attach_type) == 8, "link_create.attach_type");
_Static_assert(offsetof(struct uprobe_multi_attr, path) == 16, "link_create.uprobe_multi.path");
_Static_assert(offsetof(struct uprobe_multi_attr, cookies) == 40, "link_create.uprobe_multi.cookies");
_Static_assert(offsetof(struct uprobe_multi_attr, cnt) == 48, "link_create.uprobe_multi.cnt");
_Static_assert(offsetof(struct uprobe_multi_attr, pid) == 56, "link_create.uprobe_multi.pid");

/* returns a link fd or -errno */
static int uprobe_multi_create(int prog_fd, const char *path, const __u64 *offs, const __u64 *cookies,
			       __u32 cnt, bool ret)
{
	struct uprobe_multi_attr a;

	memset(&a, 0, sizeof(a)); /* padding too: the kernel wants unused bytes zero */
	a.prog_fd = prog_fd;
	a.attach_type = SSLSNIFF_BPF_TRACE_UPROBE_MULTI;
	a.path = (__u64)(uintptr_t)path;
	a.offsets = (__u64)(uintptr_t)offs;
	a.cookies = (__u64)(uintptr_t)cookies;
	a.cnt = cnt;
	a.um_flags = ret ? SSLSNIFF_BPF_F_UPROBE_MULTI_RETURN : 0;
	long fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	if (fd < 0)
		return -errno;
	/* a leaked link keeps probes after exit: no fd inheritance */
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}

/*
 * Does the kernel create uprobe_multi links?  Same test as newer libbpf:
 * load a trivial program with expected_attach_type uprobe_multi and ask for
 * a link on "/" (not a regular file): a kernel that knows the link type
 * fails with EBADF after validating everything else; older kernels fail
 * earlier (EINVAL: unknown attach type).  SSLSNIFF_UPROBE_MULTI=0 in the
 * environment forces the per-probe perf-event links.
 */
static bool probe_uprobe_multi(void)
{
	const char *e = getenv("SSLSNIFF_UPROBE_MULTI");
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, lo,
		    .expected_attach_type = (enum bpf_attach_type)SSLSNIFF_BPF_TRACE_UPROBE_MULTI);
	__u64 off = 0;
	int pfd, fd;

	if (e && !strcmp(e, "0"))
		return false;
	pfd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &lo);
	if (pfd < 0) {
		if (env.verbose)
			fprintf(stderr, "sslsniff: uprobe_multi program not loadable (%s): using per-probe links\n",
				strerror(errno));
		return false;
	}
	fd = uprobe_multi_create(pfd, "/", &off, NULL, 1, false);
	close(pfd);
	if (fd >= 0)
		close(fd);
	if (fd != -EBADF) {
		if (env.verbose)
			fprintf(stderr, "sslsniff: no uprobe_multi links (probe: %s): using per-probe links\n",
				fd >= 0 ? "unexpected success" : strerror(-fd));
		return false;
	}
	return true;
}

/* the uprobe programs, in the order their links are created: each return
 * probe before its entry probe, so that no entry is recorded for a call
 * whose return would not be seen */
enum { P_DATA_RET, P_DATA, P_HS_RET, P_HS, P_CLOSE, P_SETFD, P__N };

static struct bpf_program *uprobe_prog(int p)
{
	switch (p) {
	case P_DATA_RET: return skel->progs.ssl_data_exit;
	case P_DATA: return skel->progs.ssl_data_enter;
	case P_HS_RET: return skel->progs.ssl_hs_exit;
	case P_HS: return skel->progs.ssl_hs_enter;
	case P_CLOSE: return skel->progs.ssl_close_enter;
	default: return skel->progs.ssl_setfd_enter;
	}
}

static bool sym_uses_prog(size_t j, int p)
{
	switch (syms[j].kind) {
	case K_DATA: return p == P_DATA || p == P_DATA_RET;
	case K_HS: return env.handshake && (p == P_HS || p == P_HS_RET);
	case K_CLOSE: return p == P_CLOSE;
	case K_SETFD: return p == P_SETFD;
	}
	return false;
}

static void report_attach_error(const char *path, size_t j, int err)
{
	fprintf(stderr, "sslsniff: %s: attaching uprobe to %s failed: %s%s\n", path, syms[j].name, strerror(err),
		err == EPERM || err == EACCES ? " (need root / CAP_BPF+CAP_PERFMON)" : "");
}

/*
 * Attach the symbols in mask with one uprobe_multi link per program.  If a
 * link for several symbols fails, each symbol is retried alone so the others
 * still get attached and the failing one is named (like per-probe links).
 * A symbol counts as attached when all its programs are; returns how many.
 */
static int attach_multi(const char *attach_path, const char *path, long mask, const size_t *offs,
			const char **attached)
{
	int err[NSYMS] = {};
	__u64 o[NSYMS], c[NSYMS];
	size_t idx[NSYMS];
	int nat = 0;

	for (int p = 0; p < P__N; p++) {
		__u32 n = 0;
		for (size_t j = 0; j < NSYMS; j++) {
			if (!(mask & (1L << j)) || (syms[j].gnutls && !env.gnutls) || err[j] || !sym_uses_prog(j, p))
				continue;
			o[n] = offs[j];
			c[n] = syms[j].func;
			idx[n++] = j;
		}
		if (!n)
			continue;
		int pfd = bpf_program__fd(uprobe_prog(p));
		bool ret = p == P_DATA_RET || p == P_HS_RET;
		int fd = uprobe_multi_create(pfd, attach_path, o, c, n, ret);
		if (fd >= 0) {
			link_add(NULL, fd);
			continue;
		}
		for (__u32 k = 0; k < n; k++) {
			fd = n == 1 ? fd : uprobe_multi_create(pfd, attach_path, &o[k], &c[k], 1, ret);
			if (fd >= 0)
				link_add(NULL, fd);
			else
				err[idx[k]] = -fd;
		}
	}
	for (size_t j = 0; j < NSYMS; j++) {
		if (!(mask & (1L << j)) || (syms[j].gnutls && !env.gnutls))
			continue;
		if (syms[j].kind == K_HS && !env.handshake)
			continue;
		if (err[j]) {
			report_attach_error(path, j, err[j]);
			continue;
		}
		attached[nat++] = syms[j].name;
	}
	return nat;
}

/* fallback without uprobe_multi: one perf-event link per symbol and program */
static int attach_per_probe(const char *attach_path, const char *path, long mask, const size_t *offs,
			    const char **attached)
{
	int nat = 0;

	for (size_t j = 0; j < NSYMS; j++) {
		if (!(mask & (1L << j)))
			continue;
		if (syms[j].gnutls && !env.gnutls)
			continue;
		bool ok = true;
		switch (syms[j].kind) {
		case K_DATA:
			ok = attach_one(skel->progs.ssl_data_enter, attach_path, offs[j], false, syms[j].func) &&
			     attach_one(skel->progs.ssl_data_exit, attach_path, offs[j], true, syms[j].func);
			break;
		case K_HS:
			if (!env.handshake)
				continue;
			ok = attach_one(skel->progs.ssl_hs_enter, attach_path, offs[j], false, syms[j].func) &&
			     attach_one(skel->progs.ssl_hs_exit, attach_path, offs[j], true, syms[j].func);
			break;
		case K_CLOSE:
			ok = attach_one(skel->progs.ssl_close_enter, attach_path, offs[j], false, syms[j].func);
			break;
		case K_SETFD:
			ok = attach_one(skel->progs.ssl_setfd_enter, attach_path, offs[j], false, syms[j].func);
			break;
		}
		if (!ok) {
			report_attach_error(path, j, errno);
			continue;
		}
		attached[nat++] = syms[j].name;
	}
	return nat;
}

/*
 * Inspect a file and attach all our probes to it (once per dev+inode).
 * attach_path is what the kernel opens (may be /proc/PID/exe); path is shown.
 * Returns number of symbols attached (0 if the file has none or was known),
 * -errno on error.
 */
static int attach_file(const char *attach_path, const char *path, const char *reason, pid_t trig,
		       bool explicit_req)
{
	struct stat st;
	if (stat(attach_path, &st) < 0) {
		int err = -errno;
		if (explicit_req)
			fprintf(stderr, "sslsniff: %s: %s\n", path, strerror(errno));
		return err;
	}
	if (known_find(st.st_dev, st.st_ino))
		return 0;
	struct known_file *kf = known_add(st.st_dev, st.st_ino);
	unsigned long long t0 = now_boot_ns();

	size_t offs[NSYMS] = {};
	long mask = elf_tls_syms(attach_path, explicit_req, offs);
	if (mask < 0) {
		if (explicit_req)
			fprintf(stderr, "sslsniff: %s: cannot read ELF symbols: %s\n", path, strerror((int)-mask));
		return (int)mask;
	}
	const char *attached[NSYMS];
	int nat = 0;
	bool have_data = false;
	for (size_t j = 0; j < NSYMS; j++) {
		if (!(mask & (1L << j)))
			continue;
		if (syms[j].gnutls && !env.gnutls)
			continue;
		if (syms[j].kind == K_DATA)
			have_data = true;
	}
	if (!have_data) {
		if (explicit_req)
			fprintf(stderr, "sslsniff: %s: no %s symbols found\n", path,
				env.gnutls ? "SSL_read/SSL_write or gnutls_record_send/recv" : "SSL_read/SSL_write");
		return 0;
	}
	nat = use_multi ? attach_multi(attach_path, path, mask, offs, attached)
			: attach_per_probe(attach_path, path, mask, offs, attached);
	if (!nat)
		return -EINVAL;
	kf->attached = true;
	n_attached_files++;
	unsigned long long t1 = now_boot_ns();
	out_printf(&O, "{\"type\":\"ATTACH\",\"ts_ns\":%llu,\"path\":", t1);
	json_str(path, PATH_MAX);
	out_printf(&O, ",\"dev\":%llu,\"inode\":%llu,\"symbols\":[", (unsigned long long)st.st_dev,
	       (unsigned long long)st.st_ino);
	for (int i = 0; i < nat; i++)
		out_printf(&O, "%s\"%s\"", i ? "," : "", attached[i]);
	out_printf(&O, "],\"reason\":\"%s\",\"pid\":%d,\"attach_us\":%llu}\n", reason, (int)trig, (t1 - t0) / 1000);
	out_check();
	return nat;
}

/* ------------------------------------------------------------------ */
/* discovery */

static bool basename_is_tls_lib(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	if (!strncmp(b, "libssl", 6) && strstr(b, ".so"))
		return true;
	if (env.gnutls && !strncmp(b, "libgnutls", 9) && strstr(b, ".so"))
		return true;
	return false;
}

static int find_system_lib(const char *soname, char *out, size_t outlen)
{
	FILE *f = popen("/sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null", "r");
	char line[1024];
	int found = 0;
	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			char *p = line;
			while (isspace((unsigned char)*p))
				p++;
			size_t l = strlen(soname);
			if (strncmp(p, soname, l) || !isspace((unsigned char)p[l]))
				continue;
			if (!strstr(p, "x86-64") && !strstr(p, "AArch64") && strstr(p, "libc6,"))
				continue; /* other-arch entry */
			char *arrow = strstr(p, "=> ");
			if (!arrow)
				continue;
			arrow += 3;
			arrow[strcspn(arrow, "\n")] = 0;
			if (access(arrow, R_OK) == 0) {
				snprintf(out, outlen, "%s", arrow);
				found = 1;
			}
		}
		pclose(f);
	}
	if (found)
		return 0;
	static const char *dirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
				      "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib",
				      "/usr/local/lib", "/usr/local/lib64" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, outlen, "%s/%s", dirs[i], soname);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static pid_t read_ppid(pid_t pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *rp = strrchr(buf, ')');
	if (!rp)
		return -1;
	char state;
	int ppid;
	if (sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
		return -1;
	return ppid;
}

/* collect pid + all descendants (by scanning /proc); returns count */
static int collect_tree(pid_t root, pid_t **out)
{
	size_t cap = 256, n = 0;
	pid_t *all = malloc(cap * sizeof(pid_t)), *par = malloc(cap * sizeof(pid_t));
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (n == cap) {
			cap *= 2;
			all = realloc(all, cap * sizeof(pid_t));
			par = realloc(par, cap * sizeof(pid_t));
		}
		all[n] = atoi(de->d_name);
		par[n] = read_ppid(all[n]);
		n++;
	}
	if (d)
		closedir(d);
	pid_t *res = malloc((n + 1) * sizeof(pid_t));
	size_t nr = 0;
	res[nr++] = root;
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < n; j++)
			if (par[j] == res[i] && all[j] != root) {
				bool dup = false;
				for (size_t k = 0; k < nr; k++)
					if (res[k] == all[j])
						dup = true;
				if (!dup)
					res[nr++] = all[j];
			}
	free(all);
	free(par);
	*out = res;
	return (int)nr;
}

/* attach to TLS code mapped by pid: its exe (if it exports SSL_*) and every
 * executable file mapping that does (or, if !deep, only libssl/libgnutls) */
static void scan_maps(pid_t pid, bool deep)
{
	char p[64], line[PATH_MAX + 256];
	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	if (deep) {
		char exe[PATH_MAX], ap[64];
		snprintf(ap, sizeof(ap), "/proc/%d/exe", pid);
		ssize_t l = readlink(ap, exe, sizeof(exe) - 1);
		if (l > 0) {
			exe[l] = 0;
			attach_file(ap, exe, "maps", pid, false);
		}
	}
	while (fgets(line, sizeof(line), f)) {
		char perms[8] = {};
		unsigned long long ino = 0;
		int pos = 0;
		if (sscanf(line, "%*s %7s %*s %*s %llu %n", perms, &ino, &pos) < 2 || !ino || !pos)
			continue;
		if (perms[2] != 'x')
			continue;
		char *path = line + pos;
		path[strcspn(path, "\n")] = 0;
		if (path[0] != '/')
			continue;
		if (!deep && !basename_is_tls_lib(path))
			continue;
		char ap[PATH_MAX + 64];
		/* resolve within the process' mount namespace */
		snprintf(ap, sizeof(ap), "/proc/%d/root%s", pid, path);
		if (access(ap, R_OK) != 0)
			snprintf(ap, sizeof(ap), "%s", path);
		if (!deep || basename_is_tls_lib(path)) {
			attach_file(ap, path, "maps", pid, false);
		} else {
			/* deep scan of other executable mappings: only files that
			 * export SSL_* (static TLS) get attached */
			attach_file(ap, path, "maps", pid, false);
		}
	}
	fclose(f);
}

/* ------------------------------------------------------------------ */
/* ring buffer handlers */

/* "peer":"1.2.3.4:443", or "[2001:db8::1]:443", followed by a comma */
static void peer_out(const struct peer_addr *p)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family == AF_INET6 ? AF_INET6 : AF_INET, p->addr, a, sizeof(a)))
		return;
	if (p->family == AF_INET6)
		out_printf(&O, "\"peer\":\"[%s]:%u\",", a, p->port);
	else
		out_printf(&O, "\"peer\":\"%s:%u\",", a, p->port);
}

static int handle_data(void *ctx, void *data, size_t size)
{
	const struct ev_common *c = data;
	switch (c->type) {
	case EV_DATA: {
		const struct data_event *e = data;
		if (size < sizeof(*e) || size < sizeof(*e) + e->chunk_len)
			return 0;
		unsigned cpu = e->kid & 0xfff;
		unsigned long long call_id;
		if (cpu < (unsigned)ncpus) {
			if (e->seq == 0 || cur_kid[cpu] != e->kid) {
				cur_kid[cpu] = e->kid;
				cur_call[cpu] = ++call_seq;
			}
			call_id = cur_call[cpu];
		} else {
			call_id = ++call_seq;
		}
		common_out("SSL_DATA", c);
		out_key(&O, "dir", false);
		out_str(&O, e->dir == DIR_WRITE ? "\"write\"" : "\"read\"");
		out_key(&O, "func", false);
		out_char(&O, '"');
		out_str(&O, func_name(e->func));
		out_char(&O, '"');
		out_key(&O, "conn", false);
		out_u64(&O, e->conn);
		out_key(&O, "fd", false);
		out_i64(&O, e->fd);
		out_key(&O, "call_id", false);
		out_u64(&O, call_id);
		out_key(&O, "latency_ns", false);
		out_u64(&O, e->latency_ns);
		out_key(&O, "len", false);
		out_u64(&O, e->len);
		out_key(&O, "seq", false);
		out_u64(&O, e->seq);
		out_key(&O, "offset", false);
		out_u64(&O, e->offset);
		out_key(&O, "last", false);
		out_bool(&O, e->last);
		out_key(&O, "truncated", false);
		out_u64(&O, e->truncated);
		out_char(&O, ',');
		if (e->peer.family)
			peer_out(&e->peer);
		if (e->read_err)
			out_str(&O, "\"read_error\":true,");
		out_str(&O, "\"data\":");
		out_base64(&O, (const unsigned char *)data + sizeof(*e), e->chunk_len);
		out_str(&O, "}\n");
		n_events++;
		break;
	}
	case EV_HANDSHAKE: {
		const struct hs_event *e = data;
		common_out("SSL_HANDSHAKE", c);
		out_printf(&O, ",\"func\":\"%s\",\"conn\":%llu,\"latency_ns\":%llu,\"ret\":%d}\n", func_name(e->func),
		       (unsigned long long)e->conn, (unsigned long long)e->latency_ns, e->ret);
		n_events++;
		break;
	}
	case EV_CLOSE: {
		const struct close_event *e = data;
		common_out("SSL_CLOSE", c);
		out_printf(&O, ",\"conn\":%llu,\"func\":\"%s\"}\n", (unsigned long long)e->conn, func_name(e->func));
		n_events++;
		break;
	}
	}
	out_check();
	return 0;
}

static int handle_ctl(void *ctx, void *data, size_t size)
{
	const struct file_event *e = data;
	pid_t pid = e->c.pid;
	char ap[64], path[PATH_MAX];

	if (size < sizeof(*e))
		return 0;
	if (!exiting) {
		if (e->c.type == EV_EXEC)
			snprintf(ap, sizeof(ap), "/proc/%d/exe", pid);
		else
			snprintf(ap, sizeof(ap), "/proc/%d/fd/%d", pid, e->fd);
		ssize_t l = readlink(ap, path, sizeof(path) - 1);
		if (l > 0)
			path[l] = 0;
		else
			snprintf(path, sizeof(path), "%s", e->path[0] ? e->path : ap);
		attach_file(ap, path, e->c.type == EV_EXEC ? "exec" : "open", pid, false);
		/* remember the kernel's view of the file too (may differ from
		 * stat() on overlay filesystems) so it is not reported again */
		known_mark_kernel(e->dev, e->ino);
	}
	if (e->stopped) {
		__u32 tgid = pid;
		kill(pid, SIGCONT);
		bpf_map__delete_elem(skel->maps.stopped, &tgid, sizeof(tgid), 0);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* guardian: resumes the processes we stopped if this loader dies (even by SIGKILL) */

static pid_t guardian_pid = -1;
static int guardian_fd = -1; /* write end: closed by the kernel when the loader dies */

static void guardian_main(int map_fd, int rd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char c;

	/* hold nothing of the loader's: not stdout (the reader must see EOF), not the BPF links
	 * (the probes must go with the loader) */
	if (d) {
		int dfd = dirfd(d);
		while ((de = readdir(d))) {
			int fd = atoi(de->d_name);
			if (de->d_name[0] != '.' && fd != map_fd && fd != rd && fd != dfd)
				close(fd);
		}
		closedir(d);
	}
	setsid(); /* outside the loader's process group: a group SIGKILL must not take us too */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, 0);
	prctl(PR_SET_NAME, "sslsniff-guard");
	while (read(rd, &c, 1) < 0 && errno == EINTR)
		;
	__u32 key, next, *prev = NULL;
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		kill((pid_t)next, SIGCONT);
		key = next;
		prev = &key;
	}
	_exit(0);
}

/* Forks the guardian after load, before any probe can stop a process. 0 or -errno. */
static int guardian_start(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		close(p[1]);
		guardian_main(bpf_map__fd(skel->maps.stopped), p[0]);
	}
	close(p[0]);
	guardian_fd = p[1];
	guardian_pid = pid;
	return 0;
}

/* Normal exit: everything stopped was resumed already; let the guardian check and reap it. */
static void guardian_stop(void)
{
	if (guardian_pid < 0)
		return;
	close(guardian_fd);
	while (waitpid(guardian_pid, NULL, 0) < 0 && errno == EINTR)
		;
	guardian_pid = -1;
}

/* ------------------------------------------------------------------ */
/* losses and summary */

static struct sslsniff_stats sum_stats(void)
{
	struct sslsniff_stats tot = {}, *per = calloc(ncpus, sizeof(*per));
	__u32 zero = 0;
	if (per && !bpf_map__lookup_elem(skel->maps.stats, &zero, sizeof(zero), per, ncpus * sizeof(*per), 0)) {
		for (int i = 0; i < ncpus; i++) {
			tot.lost += per[i].lost;
			tot.lost_bytes += per[i].lost_bytes;
			tot.failed_calls += per[i].failed_calls;
			tot.read_errors += per[i].read_errors;
			tot.ctl_lost += per[i].ctl_lost;
			tot.calls += per[i].calls;
		}
	}
	free(per);
	return tot;
}

static unsigned long long last_lost, last_lost_bytes;

static void report_lost(void)
{
	struct sslsniff_stats s = sum_stats();
	unsigned long long tot = s.lost + s.ctl_lost;
	if (tot == last_lost)
		return;
	out_printf(&O, "{\"type\":\"LOST\",\"ts_ns\":%llu,\"count\":%llu,\"bytes\":%llu,\"total\":%llu}\n", now_boot_ns(),
	       tot - last_lost, s.lost_bytes - last_lost_bytes, tot);
	last_lost = tot;
	last_lost_bytes = s.lost_bytes;
	out_check();
}

static void summary(void)
{
	struct sslsniff_stats s = sum_stats();
	struct bpf_program *prog;
	bool first = true;

	out_printf(&O, "{\"type\":\"SUMMARY\",\"ts_ns\":%llu,\"events\":%llu,\"lost\":%llu,\"lost_bytes\":%llu,"
	       "\"failed_calls\":%llu,\"calls\":%llu,\"read_errors\":%llu,\"ctl_lost\":%llu,\"attached_files\":%llu,"
	       "\"probes\":[",
	       now_boot_ns(), n_events, (unsigned long long)(s.lost + s.ctl_lost), (unsigned long long)s.lost_bytes,
	       (unsigned long long)s.failed_calls, (unsigned long long)s.calls, (unsigned long long)s.read_errors,
	       (unsigned long long)s.ctl_lost, n_attached_files);
	bpf_object__for_each_program(prog, skel->obj)
	{
		int fd = bpf_program__fd(prog);
		if (fd < 0)
			continue;
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		out_printf(&O, "%s{\"name\":\"%s\",\"run_cnt\":%llu,\"run_time_ns\":%llu}", first ? "" : ",",
		       bpf_program__name(prog), (unsigned long long)info.run_cnt,
		       (unsigned long long)info.run_time_ns);
		first = false;
	}
	out_printf(&O, "]}\n");
}

/* ------------------------------------------------------------------ */

static int ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events/syscalls", F_OK) == 0)
		return 0;
	if (rt_ensure_tracefs() == 0 && access("/sys/kernel/tracing/events/syscalls", F_OK) == 0)
		return 0;
	return -1;
}

/* open the BPF object, configure it and load it; 0 or -errno (skel is NULL
 * if opening failed) */
static int open_and_load(bool follow, bool follow_open, bool stop)
{
	skel = sslsniff_bpf__open();
	if (!skel)
		return -errno;

	skel->rodata->self_tgid = getpid();
	skel->rodata->filter_pid = env.pid != 0;
	skel->rodata->filter_uid_on = env.uid_on;
	skel->rodata->filter_uid = env.uid;
	skel->rodata->filter_ncomm = env.ncomm;
	memcpy((char *)skel->rodata->filter_comm, env.comm, sizeof(env.comm));
	skel->rodata->max_payload = env.max_payload;
	skel->rodata->follow_exec = follow;
	skel->rodata->follow_open = follow_open;
	skel->rodata->stop_new = stop;
	skel->rodata->match_gnutls = env.gnutls;
	bpf_map__set_max_entries(skel->maps.rb, env.ringbuf_bytes);
	bpf_map__set_max_entries(skel->maps.scratch_map, ncpus);
	if (!follow_open) {
		bpf_program__set_autoload(skel->progs.ssl_open_enter, false);
		bpf_program__set_autoload(skel->progs.ssl_open_exit, false);
	}
	if (!follow)
		bpf_program__set_autoload(skel->progs.ssl_exec, false);
	if (!env.pid) {
		bpf_program__set_autoload(skel->progs.ssl_fork, false);
		bpf_program__set_autoload(skel->progs.ssl_exit, false);
	}

	if (use_multi) {
		for (int p = 0; p < P__N; p++)
			bpf_program__set_expected_attach_type(uprobe_prog(p),
							      (enum bpf_attach_type)SSLSNIFF_BPF_TRACE_UPROBE_MULTI);
	}
	return sslsniff_bpf__load(skel);
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = "sslsniff: capture TLS plaintext of OpenSSL/GnuTLS calls as JSON lines.",
	};
	pid_t parent = getppid();
	int err, stats_fd = -1, ret = 0;
	struct ring_buffer *rbm = NULL;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 64;

	if (rt_die_with_parent())
		return 0;
	rt_setup_signals();
	if (out_init(&O, STDOUT_FILENO, 1 << 20)) {
		fprintf(stderr, "sslsniff: out of memory\n");
		return 1;
	}
	rt_libbpf_logging(env.verbose);
	elf_version(EV_CURRENT);

	if (geteuid() != 0) {
		fprintf(stderr, "sslsniff: missing privileges: must run as root (needs CAP_BPF, CAP_PERFMON)\n");
		return 1;
	}
	if (env.pid && kill(env.pid, 0) && errno == ESRCH) {
		fprintf(stderr, "sslsniff: --pid %d: no such process\n", env.pid);
		return 1;
	}

	bool follow = !env.no_follow;
	bool stop = env.stop_mode == -1 ? env.pid != 0 : env.stop_mode == 1;
	bool follow_open = follow;
	if (follow_open && ensure_tracefs() != 0) {
		fprintf(stderr, "sslsniff: warning: tracefs not available, not following openat of TLS libraries\n");
		follow_open = false;
	}

	ncpus = libbpf_num_possible_cpus();
	cur_kid = calloc(ncpus, sizeof(*cur_kid));
	cur_call = calloc(ncpus, sizeof(*cur_call));
	for (int i = 0; i < ncpus; i++)
		cur_kid[i] = ~0ull;

	use_multi = probe_uprobe_multi();
	err = open_and_load(follow, follow_open, stop);
	if (err && use_multi) {
		/* should not happen (the probe loaded a uprobe_multi program):
		 * retry with programs for per-probe links before giving up */
		if (env.verbose)
			fprintf(stderr, "sslsniff: loading for uprobe_multi failed (%s): retrying with per-probe links\n",
				strerror(-err));
		sslsniff_bpf__destroy(skel);
		skel = NULL;
		use_multi = false;
		err = open_and_load(follow, follow_open, stop);
	}
	if (err) {
		if (!skel) {
			fprintf(stderr, "sslsniff: failed to open BPF object: %s\n", strerror(-err));
			return 1;
		}
		fprintf(stderr, "sslsniff: failed to load BPF programs: %s%s\n", strerror(-err),
			err == -EPERM ? " (missing privileges or kernel lockdown)" : " (use --verbose for details)");
		ret = 1;
		goto cleanup;
	}
	if (env.verbose)
		fprintf(stderr, "sslsniff: %s\n", use_multi ? "uprobe_multi links (one per program and file)"
							   : "perf-event uprobe links (one per symbol and program)");

	if (stop && (err = guardian_start())) {
		fprintf(stderr, "sslsniff: cannot start the guardian process: %s\n", strerror(-err));
		ret = 1;
		goto cleanup;
	}

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	/* process tracking and exec/open following first, so nothing started
	 * while we scan /proc is missed */
	if (env.pid) {
		__u8 one = 1;
		__u32 p = env.pid;
		bpf_map__update_elem(skel->maps.traced, &p, sizeof(p), &one, 1, BPF_ANY);
		skel->links.ssl_fork = bpf_program__attach(skel->progs.ssl_fork);
		skel->links.ssl_exit = bpf_program__attach(skel->progs.ssl_exit);
		if (!skel->links.ssl_fork || !skel->links.ssl_exit) {
			fprintf(stderr, "sslsniff: attaching sched_process_fork/exit tracepoints failed: %s\n",
				strerror(errno));
			ret = 1;
			goto cleanup;
		}
	}

	out_printf(&O, "{\"type\":\"START\",\"ts_ns\":%llu,\"tool\":\"sslsniff\",\"version\":\"%s\",\"max_payload\":%llu,"
	       "\"chunk_size\":%u,\"filters\":{\"pid\":",
	       now_boot_ns(), SSLSNIFF_VERSION, env.max_payload, SSLSNIFF_CHUNK);
	if (env.pid)
		out_printf(&O, "%d", env.pid);
	else
		out_printf(&O, "null");
	out_printf(&O, ",\"uid\":");
	if (env.uid_on)
		out_printf(&O, "%u", env.uid);
	else
		out_printf(&O, "null");
	out_printf(&O, ",\"comm\":");
	if (env.ncomm) {
		out_char(&O, '[');
		for (int i = 0; i < env.ncomm; i++) {
			if (i)
				out_char(&O, ',');
			json_str(env.comm[i], SSLSNIFF_COMM_LEN);
		}
		out_char(&O, ']');
	} else {
		out_printf(&O, "null");
	}
	out_printf(&O, "},\"gnutls\":%s,\"handshake\":%s,\"follow_exec\":%s,\"follow_open\":%s,\"stop_new\":%s}\n",
	       env.gnutls ? "true" : "false", env.handshake ? "true" : "false", follow ? "true" : "false",
	       follow_open ? "true" : "false", stop ? "true" : "false");

	rbm = ring_buffer__new(bpf_map__fd(skel->maps.rb), handle_data, NULL, NULL);
	if (!rbm || ring_buffer__add(rbm, bpf_map__fd(skel->maps.ctl_rb), handle_ctl, NULL)) {
		fprintf(stderr, "sslsniff: failed to create ring buffer: %s\n", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	if (follow) {
		skel->links.ssl_exec = bpf_program__attach(skel->progs.ssl_exec);
		if (!skel->links.ssl_exec)
			fprintf(stderr, "sslsniff: warning: attaching sched_process_exec failed: %s\n", strerror(errno));
	}
	if (follow_open) {
		skel->links.ssl_open_enter = bpf_program__attach(skel->progs.ssl_open_enter);
		skel->links.ssl_open_exit = bpf_program__attach(skel->progs.ssl_open_exit);
		if (!skel->links.ssl_open_enter || !skel->links.ssl_open_exit)
			fprintf(stderr, "sslsniff: warning: attaching openat tracepoints failed: %s\n", strerror(errno));
	}

	/* system libraries */
	if (!env.no_system) {
		static const char *sonames[] = { "libssl.so.3", "libssl.so.1.1" };
		bool any = false;
		char path[PATH_MAX];
		for (size_t i = 0; i < 2; i++) {
			if (find_system_lib(sonames[i], path, sizeof(path)) == 0) {
				any = true;
				attach_file(path, path, "system", 0, true);
			}
		}
		if (env.gnutls) {
			if (find_system_lib("libgnutls.so.30", path, sizeof(path)) == 0) {
				any = true;
				attach_file(path, path, "system", 0, true);
			} else {
				fprintf(stderr, "sslsniff: --gnutls: libgnutls.so.30 not found\n");
			}
		}
		if (!any)
			fprintf(stderr, "sslsniff: no system libssl found (libssl.so.3 / libssl.so.1.1); use --lib PATH\n");
	}
	/* explicitly requested files must work */
	for (int i = 0; i < env.nlibs + env.nbins; i++) {
		bool lib = i < env.nlibs;
		const char *p = lib ? env.libs[i] : env.bins[i - env.nlibs];
		struct stat st;
		if (stat(p, &st) == 0 && known_find(st.st_dev, st.st_ino) && known_find(st.st_dev, st.st_ino)->attached)
			continue; /* same file as the system library */
		if (attach_file(p, p, lib ? "lib" : "binary", 0, true) <= 0) {
			ret = 1;
			goto cleanup;
		}
	}

	if (env.pid) {
		pid_t *tree;
		int n = collect_tree(env.pid, &tree);
		__u8 one = 1;
		for (int i = 0; i < n; i++) {
			__u32 p = tree[i];
			bpf_map__update_elem(skel->maps.traced, &p, sizeof(p), &one, 1, BPF_ANY);
		}
		for (int i = 0; i < n; i++)
			scan_maps(tree[i], true);
		free(tree);
	} else {
		/* already running processes using another libssl/libgnutls */
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid_t p = atoi(de->d_name);
			if (p != getpid())
				scan_maps(p, false);
		}
		if (d)
			closedir(d);
	}
	flush_out();

	if (!n_attached_files && !(env.pid && follow)) {
		fprintf(stderr, "sslsniff: nothing attached: no TLS library or binary with SSL_* symbols found\n");
		ret = 1;
		goto cleanup;
	}

	unsigned long long last_check = 0;
	while (!exiting) {
		err = ring_buffer__poll(rbm, DATA_POLL_MS);
		if (err == 0) /* data records don't always wake us: read what is pending */
			err = ring_buffer__consume(rbm);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "sslsniff: ring buffer poll failed: %s\n", strerror(-err));
			ret = 1;
			break;
		}
		unsigned long long now = now_boot_ns();
		if (now - last_check >= 100000000ull) {
			last_check = now;
			report_lost();
			if (getppid() != parent)
				exiting = 1;
			/* reader of stdout gone (pipe closed) even if we print nothing */
			struct pollfd pfd = { .fd = STDOUT_FILENO, .events = 0 };
			if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
				O.err = EPIPE, exiting = 1;
		}
		flush_out();
	}

	/* stop following and detach all probes (concurrently), then drain, so
	 * no process stays stopped and no event is left behind */
	{
		struct bpf_link **follow_links[] = { &skel->links.ssl_open_exit, &skel->links.ssl_open_enter,
						     &skel->links.ssl_exec };
		links_close_all(follow_links, 3);
	}
	if (!O.err) {
		exiting = 1; /* handle_ctl: only SIGCONT */
		ring_buffer__consume(rbm);
		report_lost();
		summary();
		flush_out();
	} else {
		exiting = 1;
		ring_buffer__consume(rbm);
	}

cleanup:
	if (ret == 0)
		flush_out(); /* setup errors: nothing on stdout, one line on stderr */
	ring_buffer__free(rbm);
	links_close_all(NULL, 0);
	sslsniff_bpf__destroy(skel);
	guardian_stop();
	if (stats_fd >= 0)
		close(stats_fd);
	return ret;
}
