/* SPDX-License-Identifier: GPL-2.0 */
/* sslsniff: types shared by sslsniff.bpf.c (kernel) and sslsniff.c (loader). */
#ifndef SSLSNIFF_H
#define SSLSNIFF_H

/*
 * Chunk size: 16 KiB = the largest TLS plaintext record (RFC 8446 5.1), so
 * every SSL_read (which returns at most one record) fits in a single chunk,
 * and a 5 MB SSL_write becomes 320 records, each carrying < 0.5% header
 * overhead.  The per-CPU scratch buffer is twice as large so the verifier
 * accepts a masked length (len & SSLSNIFF_SCRATCH_MASK) without an exact
 * upper-bound proof.
 */
#define SSLSNIFF_CHUNK        16384u
/* Longest a captured call waits in the ring buffer before the loader reads it (ms). */
#define DATA_POLL_MS          20
#define SSLSNIFF_SCRATCH      (2 * SSLSNIFF_CHUNK)
#define SSLSNIFF_SCRATCH_MASK (SSLSNIFF_SCRATCH - 1)
#define SSLSNIFF_COMM_LEN     16
#define SSLSNIFF_PATH_LEN     256
#define SSLSNIFF_MAX_COMMS    8
/* bpf_loop iterations per call: 16 MiB max payload / 16 KiB = 1024; allow up to 1 GiB */
#define SSLSNIFF_MAX_CHUNKS   65536u

enum sslsniff_ev_type {
	EV_DATA = 1,
	EV_HANDSHAKE = 2,
	EV_CLOSE = 3,
	EV_EXEC = 4,
	EV_OPEN = 5,
};

/* function ids; used as uprobe bpf_cookie */
enum sslsniff_func {
	F_SSL_READ = 0,
	F_SSL_WRITE,
	F_SSL_READ_EX,
	F_SSL_WRITE_EX,
	F_GNUTLS_RECV,
	F_GNUTLS_SEND,
	F_SSL_DO_HANDSHAKE,
	F_GNUTLS_HANDSHAKE,
	F_SSL_SHUTDOWN,
	F_SSL_FREE,
	F_GNUTLS_BYE,
	F_GNUTLS_DEINIT,
	F_SSL_SET_FD,
	F_GNUTLS_SET_INT2,
	F__COUNT,
};

#define DIR_READ  0
#define DIR_WRITE 1

struct ev_common {
	__u32 type;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u64 ts_ns;
	char comm[SSLSNIFF_COMM_LEN];
};

/* remote end of a connection's socket; family 0 when unknown */
struct peer_addr {
	__u16 family;     /* AF_INET or AF_INET6 */
	__u16 port;       /* host byte order */
	__u8 addr[16];    /* IPv4 in the first 4 bytes */
};

/* what is known of a connection (SSL* / gnutls_session_t) */
struct conn_info {
	__s32 fd;
	__u32 pad;        /* 1 once the peer was looked up again at a data call */
	struct peer_addr peer;
};

/* one chunk of one SSL_read/SSL_write call; chunk_len data bytes follow */
struct data_event {
	struct ev_common c;
	__u64 conn;
	__u64 kid;        /* kernel call id: (per-CPU counter << 12) | cpu */
	__u64 latency_ns;
	__u64 len;        /* total bytes of the call */
	__u64 offset;     /* offset of this chunk within the call */
	__u64 truncated;  /* bytes not captured (last chunk only) */
	__s32 fd;
	__u32 seq;
	__u32 chunk_len;
	__u8 func;
	__u8 dir;
	__u8 last;
	__u8 read_err;    /* bpf_probe_read_user failed for this chunk */
	struct peer_addr peer;
};

struct hs_event {
	struct ev_common c;
	__u64 conn;
	__u64 latency_ns;
	__s32 ret;
	__u32 func;
};

struct close_event {
	struct ev_common c;
	__u64 conn;
	__u32 func;
	__u32 pad;
};

/* a traced process exec'd or opened a file not yet inspected by userspace */
struct file_event {
	struct ev_common c;
	__u64 dev;        /* kernel dev_t encoding (major << 20 | minor) */
	__u64 ino;
	__s32 fd;         /* EV_OPEN: fd returned by openat */
	__u32 stopped;    /* 1 if the process was sent SIGSTOP */
	char path[SSLSNIFF_PATH_LEN];
};

struct inode_key {
	__u64 dev;        /* kernel dev_t encoding */
	__u64 ino;
};

/* per-CPU counters */
struct sslsniff_stats {
	__u64 lost;           /* data records dropped: ring buffer full */
	__u64 lost_bytes;     /* payload bytes in dropped records */
	__u64 failed_calls;   /* SSL_* calls that returned an error */
	__u64 read_errors;    /* bpf_probe_read_user failures */
	__u64 ctl_lost;       /* exec/open notifications dropped */
	__u64 calls;          /* successful data calls */
};

#endif /* SSLSNIFF_H */
