/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The recording file format of `conntrace record` (docs/recording-format.md
 * is the reference for other readers): a header, then zlib-compressed
 * blocks, each with its length and a CRC-32, so that a reader stops
 * cleanly at the last complete block of a file cut short.
 * All integers are little-endian.
 */
#ifndef CT_RECFILE_H
#define CT_RECFILE_H

#include <stdint.h>

#include "conntrace.h"

#define CT_REC_MAGIC "CTREC\r\n\032"	/* 8 bytes; CR LF ^Z catch text mangling */
#define CT_REC_MAGIC_LEN 8
#define CT_REC_VERSION 1
#define CT_REC_BLOCK_MAGIC 0x4b4c4243u	/* "CBLK" */
/* Bounds a reader enforces, so that a corrupt length cannot ask for gigabytes. */
#define CT_REC_MAX_HEADER (64 * 1024)
#define CT_REC_BLOCK_RAW (64 * 1024)	/* a writer's block before compression */
#define CT_REC_MAX_BLOCK_RAW (1024 * 1024)

/* The file header: magic, then this, then text_len bytes of text, then a CRC. */
struct ct_rec_filehdr {
	char magic[CT_REC_MAGIC_LEN];
	uint32_t version;
	uint32_t text_len;	/* "key=value\n" lines */
};

/* Before each block's compressed bytes; a CRC-32 of both follows them. */
struct ct_rec_blockhdr {
	uint32_t magic;		/* CT_REC_BLOCK_MAGIC */
	uint32_t clen;		/* compressed bytes that follow */
	uint32_t rlen;		/* bytes once inflated */
	uint32_t nrecs;
	uint64_t first_ns;	/* CLOCK_MONOTONIC of the host that recorded */
	uint64_t last_ns;
};

/* Each record in an inflated block: this, then len bytes. */
struct ct_rec_rechdr {
	uint16_t type;
	uint16_t len;
};

/*
 * Record types. Below CT_REC_FILE_TYPES: a kernel ring-buffer record
 * (enum ct_msg_type) carried verbatim, whether this reader knows it or not.
 */
#define CT_REC_FILE_TYPES 0x100
enum ct_rec_type {
	CT_REC_LINE = 0x100,	/* struct ct_rec_line: a resolved transition */
	CT_REC_SNAP,		/* struct ct_rec_snap, then its CT_REC_SOCKs */
	CT_REC_SOCK,		/* struct ct_tcp_rec, owner resolved */
	CT_REC_LOSS,		/* struct ct_rec_loss, running totals */
	CT_REC_END,		/* struct ct_rec_end: the file ends here */
	CT_REC_TEV,		/* struct ct_rec_tev: an event, owner resolved */
};

/*
 * A transition as `watch` prints it: the event with the owner resolved.
 * The event comes last, so that fields include/conntrace.h adds to it
 * later only make the record longer.
 */
struct ct_rec_line {
	uint64_t ts_ns;
	uint64_t delta_ns;
	uint32_t listener_pid;
	uint8_t delta_known;
	uint8_t derived;	/* inferred by user space (TIME_WAIT, its end) */
	uint8_t pad[2];
	char listener_comm[CT_COMM_LEN];
	struct ct_event ev;
};

/*
 * The shortest record of each type a reader takes: version 1's. A longer
 * one comes from a newer writer, and its tail is ignored.
 */
#define CT_REC_LINE_MIN 200
#define CT_REC_SOCK_MIN 128
#define CT_REC_LOSS_MIN 40

enum ct_rec_snap_kind {
	CT_SNAP_OPEN = 0,	/* at a file's start: every socket, owners walked */
	/*
	 * Periodic: the sockets whose counters, state or owner changed since
	 * the file's previous snapshot. A socket leaves with its CLOSE line.
	 */
	CT_SNAP_COUNTERS = 1,
};

struct ct_rec_snap {
	uint64_t ts_ns;
	uint32_t kind;		/* enum ct_rec_snap_kind */
	uint32_t count;		/* CT_REC_SOCK records that follow */
};

struct ct_rec_loss {
	uint64_t ts_ns;
	uint64_t ring_drops;	/* kernel records lost: ring buffer full */
	uint64_t sock_map_full;	/* sockets the kernel side could not track */
	uint64_t listen_map_full;
	uint64_t walk_errors;	/* snapshots that failed */
	/* Since version 1's first writer (40 bytes): a shorter record lacks them. */
	uint64_t accept_ring_drops;	/* accept records lost: ring buffer full */
	/* Runs the kernel skipped (another BPF program ran on the CPU). */
	uint64_t missed_transitions;
	uint64_t missed_accepts;
	uint64_t missed_events;		/* retransmits, resets, drops */
	uint64_t untracked_time_wait;	/* hand-offs not followed: room full */
	/* Since events are recorded (88 bytes): events lost, ring buffer full. */
	uint64_t event_ring_drops;
};

/*
 * What goes wrong on a connection, or takes long, as `watch` prints it:
 * the kernel's record (or one made from a listener's drop counter) with
 * the owner resolved. Time first, as in every type of this format; the
 * event last, so that fields include/conntrace.h adds to it only make
 * the record longer.
 */
struct ct_rec_tev {
	uint64_t ts_ns;		/* ev.ts_ns */
	uint32_t listener_pid;	/* not accepted yet: the listener's holder */
	uint32_t pad;
	char listener_comm[CT_COMM_LEN];
	struct ct_tcp_ev ev;
};

#define CT_REC_TEV_MIN 168

enum ct_rec_end_reason { CT_END_STOPPED = 0, CT_END_ROTATED = 1 };

struct ct_rec_end {
	uint64_t ts_ns;
	uint32_t reason;	/* enum ct_rec_end_reason */
	uint32_t pad;
};

_Static_assert(sizeof(struct ct_rec_line) >= CT_REC_LINE_MIN, "line record shrank");
_Static_assert(sizeof(struct ct_tcp_rec) >= CT_REC_SOCK_MIN, "socket record shrank");
_Static_assert(sizeof(struct ct_rec_tev) >= CT_REC_TEV_MIN, "event record shrank");
_Static_assert(sizeof(struct ct_rec_blockhdr) == 32, "block header changed");

#endif
