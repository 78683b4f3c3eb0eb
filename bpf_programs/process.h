/* SPDX-License-Identifier: MIT */
/* Shared between process.bpf.c and process.c. */
#ifndef COLLECTOR_PROCESS_H
#define COLLECTOR_PROCESS_H

#define PROC_COMM_LEN    16
#define PROC_PATH_MAX    4096   /* bytes incl. NUL, file paths and exec filename */
#define PROC_ARGS_MAX    4096   /* bytes of argv copied from the new mm */
#define PROC_MAX_ARGS    64     /* argv entries reported */
#define PROC_MAX_COMMS   8      /* --comm names */
#define PROC_AT_FDCWD    (-100)

enum proc_ev_type {
	PROC_EV_EXEC = 1,
	PROC_EV_EXIT = 2,
	PROC_EV_FORK = 3,
	PROC_EV_OPEN = 4,
};

struct proc_hdr {
	__u32 type;
	__u32 pid;      /* tgid */
	__u32 tid;
	__u32 ppid;     /* tgid of real_parent */
	__u32 uid;
	__u32 _pad;
	__u64 ts_ns;    /* bpf_ktime_get_boot_ns() */
	char comm[PROC_COMM_LEN];
};

struct proc_exec_ev {
	struct proc_hdr h;
	__u32 filename_len;   /* incl. NUL, 0 if unreadable */
	__u32 args_len;       /* bytes of argv area copied */
	__u32 args_truncated; /* argv area was larger than PROC_ARGS_MAX */
	__u32 _pad;
	char data[PROC_PATH_MAX + PROC_ARGS_MAX]; /* filename, then argv area */
};

struct proc_exit_ev {
	struct proc_hdr h;
	__u32 exit_code_raw;  /* wait(2) status: (code << 8) | core(0x80) | signal */
	__u32 _pad;
	__u64 start_ns;       /* group leader start_boottime */
	__u64 duration_ns;
};

struct proc_fork_ev {
	struct proc_hdr h;
	__u32 child_pid;
	__u32 child_tid;
	__u64 child_start_ns;
};

struct proc_dedup_key {
	__u32 tgid;
	__u32 epoch;          /* ts / window */
	__u64 pstart;         /* process start_boottime (pid reuse safety) */
	__u64 hash;           /* path (+dirfd when relative) hash */
	__u32 flags;
	__s32 ret_class;      /* 0 = success, else -errno */
};

struct proc_dedup_val {
	__u64 count;          /* repeats after the first open */
	__u64 first_ts;
	__u64 last_ts;
	__s32 first_ret;
	__u32 first_tid;
};

struct proc_open_ev {
	struct proc_hdr h;
	__s32 dirfd;
	__s32 ret;
	__u64 flags;
	struct proc_dedup_key key;
	__u32 keyed;          /* a dedup entry was created for key */
	__u32 path_len;       /* incl. NUL, 0 if unreadable */
	char path[PROC_PATH_MAX];
};

#endif
