/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Types shared by the BPF programs in bpf/ and the loader in src/.
 * Both sides compile this file, so it uses only fixed-width kernel types.
 */
#ifndef CONNTRACE_H
#define CONNTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CT_COMM_LEN 16
#define CT_ADDR_LEN 16

/* Sizes of the kernel maps; user space may resize them before load. */
#define CT_MAX_SOCKS 65536
#define CT_MAX_LISTENERS 4096
#define CT_MAX_CONNS 65536
#define CT_RINGBUF_MIB 1
/*
 * The kernel side wakes user space only once this much waits in the ring
 * (about 370 transitions); user space reads on a clock of its own anyway
 * (watch and record every 100 ms at most, export 20 ms, top at each
 * refresh). Waking it for every record cost a context switch a record at
 * rates it could otherwise read in batches.
 */
#define CT_RB_WAKEUP_BYTES (64 << 10)
/* Past the mark by less than a record or two: the records that cross it. */
#define CT_RB_WAKEUP_SLACK 512
#define CT_RINGBUF_BYTES (CT_RINGBUF_MIB << 20)

/*
 * Where the owner recorded for a socket came from. The order matters only
 * for display; user space trusts every source except CT_OWNER_NONE, and
 * re-resolves CT_OWNER_LISTENER once the socket has been accepted.
 */
enum ct_owner_src {
	CT_OWNER_NONE = 0,	/* never seen in a process context we trust */
	CT_OWNER_CONNECT,	/* the task that called connect() */
	CT_OWNER_LISTEN,	/* the task that called listen() */
	CT_OWNER_LISTENER,	/* inherited from the listener of an accepted socket */
	CT_OWNER_IO,		/* the last task that sent or received on it */
	CT_OWNER_CLOSE,		/* the task that called close() or shutdown() */
	CT_OWNER_SEED,		/* a task holding its descriptor when we started */
	CT_OWNER_RESOLVED,	/* found by user space from the socket's inode */
	CT_OWNER_ACCEPT,	/* the task that accept()ed it */
	CT_OWNER_SRC_MAX,
};

enum ct_origin { CT_ORIGIN_UNKNOWN = 0, CT_ORIGIN_CONNECT, CT_ORIGIN_ACCEPT };

/* ct_event.flags */
#define CT_EV_DELTA_KNOWN	(1 << 0) /* delta_ns is meaningful */
#define CT_EV_PEER_FIN		(1 << 1) /* the peer's FIN was received */
#define CT_EV_SK_ERROR		(1 << 2) /* sk_err was set: reset or timeout */
#define CT_EV_HAS_FILE		(1 << 3) /* the socket has a file (accepted) */
#define CT_EV_PASSIVE		(1 << 4) /* opened by a listener, not connect() */
/*
 * total_retrans holds the kernel's count: unset in records of writers
 * older than the field (a recording), where it reads as 0.
 */
#define CT_EV_TOTAL_RETRANS	(1 << 5)

/* Every ring-buffer record starts with its type. */
enum ct_msg_type {
	CT_MSG_STATE = 1,
	CT_MSG_CONN_END = 2,
	CT_MSG_ACCEPT = 3,
	CT_MSG_TCP_EV = 4,	/* struct ct_tcp_ev: what went wrong, or took long */
	CT_MSG_MAX,		/* new types go above this line */
};

/*
 * A TCP socket's own counters, as ss -ti shows them, with the sequence
 * numbers that say what was written but not acked and read but not taken.
 * The close record and the counter walk both carry it.
 */
struct ct_tcp_seqs {
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 write_seq;
	__u32 snd_una;
	__u32 copied_seq;
	__u32 rcv_nxt;
};

struct ct_event {
	__u32 type;		/* CT_MSG_STATE */
	__u32 pad0;
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 skaddr;		/* kernel socket address, an opaque key */
	__u64 delta_ns;		/* time spent in oldstate */
	__u64 ino;		/* socket inode, 0 if the socket has no file */
	__u32 pid;		/* owner tgid, 0 if unknown */
	__u32 netns;		/* network namespace inode number */
	__u16 family;
	__u16 sport;		/* host byte order */
	__u16 dport;		/* host byte order */
	__u8 oldstate;
	__u8 newstate;
	__u8 owner_src;		/* enum ct_owner_src */
	__u8 flags;		/* CT_EV_* */
	__u16 sk_err;
	__u8 saddr[CT_ADDR_LEN];
	__u8 daddr[CT_ADDR_LEN];
	char comm[CT_COMM_LEN];
	__u64 born_ns;		/* when conntrace saw the socket born, or 0 */
	struct ct_tcp_seqs tcp;	/* bytes at every transition, seqs at CLOSE */
	__u64 cookie;		/* the socket's identity (its cookie), 0 if unknown */
	__u64 cgroup;		/* the owner's cgroup v2 id, as recorded with it; 0: unknown */
	/* tcp_sock.total_retrans (tcpi_total_retrans), with CT_EV_TOTAL_RETRANS */
	__u32 total_retrans;
	__u32 pad1;
};

/* A process accepted a TCP socket: it owns the lines held until now. */
struct ct_accept {
	__u32 type;		/* CT_MSG_ACCEPT */
	__u32 pid;
	__u64 ts_ns;
	__u64 skaddr;
	__u64 cookie;		/* as in ct_event; 0 if the cookie is unset */
	__u64 ino;
	char comm[CT_COMM_LEN];
	__u64 cgroup;		/* the acceptor's cgroup v2 id */
};

struct ct_owner {
	__u32 pid;
	__u8 src;		/* enum ct_owner_src */
	__u8 pad[3];
	char comm[CT_COMM_LEN];
	__u64 cgroup;		/* cgroup v2 id, taken with pid; 0: unknown */
};

/*
 * What the state hook keeps per socket, keyed by the kernel's address. An
 * address is reused once a socket is freed, and a CLOSE the kernel skipped
 * would leave its entry behind: the cookie tells the sockets apart.
 */
/* Sharers a socket's entry remembers; more are counted (CT_STAT_SHARERS_FULL). */
#define CT_SHARERS 4

struct ct_sock {
	__u64 born_ns;		/* 0 if the socket predates conntrace */
	__u64 last_ns;		/* time of the last transition, 0 if unknown */
	__u64 cookie;		/* the socket's cookie; 0: not known (not checked) */
	__u64 files;		/* CT_OWNER_ACCEPT: the acceptor's files_struct */
	struct ct_owner owner;
	__u32 fd;		/* CT_OWNER_ACCEPT: the descriptor accept() returned */
	__u16 sport;		/* last local port seen */
	__u8 origin;		/* enum ct_origin */
	__u8 deferred;		/* LISTEN -> SYN_RECV not sent yet (before 6.15) */
	/*
	 * With per-call shares (top --shares): the other processes that did
	 * I/O on the socket, whose shares the CLOSE must end too. Neither the
	 * owner nor the closer is always one of them: an acceptor that passes
	 * the descriptor on and closes its copy is neither.
	 */
	__u32 sharers[CT_SHARERS];
};

struct ct_listen_key {
	__u32 netns;
	__u16 family;
	__u16 port;
	__u8 addr[CT_ADDR_LEN];
};

struct ct_listener {
	__u64 skaddr;		/* the listening socket that made this entry */
	struct ct_owner owner;	/* src is CT_OWNER_NONE when two owners collide */
};

enum ct_dir { CT_TX = 0, CT_RX = 1 };

/* Bytes are counted per socket and per process doing the I/O. */
struct ct_conn_key {
	__u64 skaddr;
	__u32 pid;
	__u32 pad;
};

struct ct_conn {
	__u64 bytes[2];		/* indexed by enum ct_dir */
	__u64 calls[2];
	__u64 first_ns;
	__u64 last_ns;
	__u32 netns;
	__u16 family;
	__u16 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u16 sport;
	__u16 dport;		/* 0: unconnected UDP, peer varies */
	__u8 saddr[CT_ADDR_LEN];
	__u8 daddr[CT_ADDR_LEN];
	char comm[CT_COMM_LEN];
	__u64 cgroup;		/* cgroup v2 id of the process at its first I/O */
};

/*
 * The counters of a TCP socket's first I/O process, kept with the socket
 * itself (socket-local storage): found without a hash lookup, and freed
 * by the kernel with the socket. Other processes' shares use ct_conns.
 */
struct ct_sk_conn {
	__u32 pid;		/* 0 until a process claims it */
	__u32 pad;
	struct ct_conn conn;
};

/*
 * A TCP socket closed: its last counters, before its entry is dropped.
 * The file-walk of socket storage writes the same records (type 0).
 */
struct ct_conn_end {
	__u32 type;		/* CT_MSG_CONN_END */
	__u32 in_storage;	/* 1: from ct_sk_conns, 0: from ct_conns */
	struct ct_conn_key key;
	struct ct_conn conn;
};

/* Indices of the per-CPU stats array that user space reports on exit. */
enum ct_stat {
	CT_STAT_EVENTS = 0,	/* events handed to the ring buffer */
	CT_STAT_RB_DROPS,	/* ring buffer full: event lost */
	CT_STAT_SOCK_MAP_FULL,	/* socket map update failed */
	CT_STAT_LISTEN_MAP_FULL,/* listener map update failed */
	CT_STAT_CONN_INSERTS,	/* entries added to ct_conns (for eviction counts) */
	CT_STAT_CONN_MAP_FULL,	/* ct_conns insert failed: bytes not counted */
	/* Ring buffer full at accept(): an owner record, not a transition. */
	CT_STAT_ACCEPT_RB_DROPS,
	/* A share no CLOSE will end: too many processes did I/O on a socket. */
	CT_STAT_SHARERS_FULL,
	CT_STAT_RESCUED,	/* transitions the state hook's second program took */
	CT_STAT_MAX,
};

/*
 * One TCP socket as the iter/tcp program sees it at a refresh: the kernel's
 * own counters, and the owner the state hook recorded for it. Listeners
 * come too (no counters), so user space can tell accepted sockets apart.
 */
struct ct_tcp_rec {
	__u64 skaddr;
	__u64 ino;		/* socket inode, 0 if the socket has no file */
	__u64 born_ns;		/* from ct_socks: with skaddr, the socket's identity */
	struct ct_tcp_seqs tcp;
	__u32 netns;
	__u16 family;
	__u16 sport;		/* host byte order */
	__u16 dport;		/* host byte order */
	__u8 state;
	__u8 flags;		/* CT_EV_PEER_FIN, _SK_ERROR, _HAS_FILE, _TOTAL_RETRANS */
	__u8 origin;		/* enum ct_origin, from ct_socks */
	__u8 pad[3];
	struct ct_owner owner;	/* src CT_OWNER_NONE if ct_socks has none */
	__u8 saddr[CT_ADDR_LEN];
	__u8 daddr[CT_ADDR_LEN];
	/*
	 * With CT_EV_TOTAL_RETRANS: tcp_sock.total_retrans, and when it was
	 * read (CLOCK_MONOTONIC, under the socket's lock), which tells the
	 * retransmit events it already counts from those it does not.
	 */
	__u64 read_ns;
	__u32 total_retrans;
	__u32 pad1;
};

/* Seed records written by the task_file iterator, one per socket file. */
struct ct_seed {
	__u64 skaddr;
	__u64 ino;
	__u32 pid;
	__u32 netns;
	__u16 family;
	__u16 sport;
	__u8 state;
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[2];
	__u8 saddr[CT_ADDR_LEN];
	char comm[CT_COMM_LEN];
	__u64 cgroup;		/* the holder's cgroup v2 id */
};

/* Who holds a socket file, from the lean file walk of `ls -p`. */
struct ct_holder_rec {
	__u64 ino;
	__u32 pid;
	__u32 pad;
	char comm[CT_COMM_LEN];
	__u64 cgroup;		/* the holder's cgroup v2 id */
};

/*
 * What happens to a connection besides its transitions. One record type
 * for all of them: they share the socket and owner, and differ in what
 * value, code and the sequence numbers mean.
 */
enum ct_tev_kind {
	CT_TEV_RETRANS = 0,	/* value: segments; seq..end_seq */
	CT_TEV_SYNACK_RETRANS,	/* a listener sent a SYN-ACK again */
	CT_TEV_RESET_SENT,	/* code: the kernel's reset reason, -1 unknown */
	CT_TEV_RESET_RECV,
	CT_TEV_CONNECT_FAIL,	/* code: errno; value: ns since connect() */
	CT_TEV_DROP,		/* code: enum skb_drop_reason; value: packets */
	CT_TEV_CONNECT_LAT,	/* value: ns from SYN_SENT to ESTABLISHED */
	CT_TEV_ACCEPT_LAT,	/* value: ns from SYN_RECV to accept() */
	CT_TEV_KINDS,
};

/* ct_tcp_ev.flags */
#define CT_TEV_LOSS_TIMEOUT	(1 << 0) /* retransmit: the RTO fired (CA_Loss) */
#define CT_TEV_LOSS_FAST	(1 << 1) /* retransmit: fast recovery */
#define CT_TEV_FROM_COUNTER	(1 << 2) /* drop: a rise of the listener's sk_drops */
#define CT_TEV_SYN		(1 << 3) /* retransmit: of a SYN */

struct ct_tcp_ev {
	__u32 type;		/* CT_MSG_TCP_EV */
	__u8 kind;		/* enum ct_tev_kind */
	__u8 state;		/* the socket's TCP state at the event */
	__u8 owner_src;		/* enum ct_owner_src */
	__u8 flags;		/* CT_TEV_* */
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u64 skaddr;
	__u64 cookie;		/* 0 if unknown */
	__u64 ino;		/* socket inode, 0 if none */
	__u64 value;		/* see enum ct_tev_kind */
	__u32 pid;		/* the socket's recorded owner, 0 if unknown */
	__u32 netns;
	__s32 code;		/* see enum ct_tev_kind */
	__u32 seq;		/* retransmit: first sequence number */
	__u32 end_seq;		/* retransmit: one past the last */
	__u16 family;
	__u16 sport;		/* host byte order */
	__u16 dport;
	__u16 pad;
	__u8 saddr[CT_ADDR_LEN];
	__u8 daddr[CT_ADDR_LEN];
	char comm[CT_COMM_LEN];
	__u64 cgroup;		/* the owner's cgroup v2 id, recorded with it; 0: unknown */
};

/* Per kind: records written, and records lost (ring buffer full). */
struct ct_tev_count {
	__u64 events;
	__u64 lost;
};

/*
 * The owners of the sockets that last went to CLOSE on a CPU: a reset
 * that close() sends comes right after the state hook dropped the entry,
 * and on loopback the peer's own CLOSE can come in between.
 */
#define CT_LAST_CLOSES 4

struct ct_last_close {
	__u64 skaddr;
	__u64 cookie;
	struct ct_owner owner;
};

struct ct_last_closes {
	struct ct_last_close v[CT_LAST_CLOSES];
	__u32 next;		/* the slot the next CLOSE takes */
	__u32 pad;
};

/* Slots of iter/tcp's per-state count of a walk (TCP states are 1 to 12). */
#define CT_WALK_STATES 16

#endif /* CONNTRACE_H */
