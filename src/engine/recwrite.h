/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Writes a recording (recfile.h): records go into a block, which is
 * compressed and written whole once full or when flushed. With a size
 * bound, the file becomes a ring of files: FILE is the newest, FILE.1 the
 * one before, and so on up to FILE.(N-1); the oldest is dropped.
 */
#ifndef CT_RECWRITE_H
#define CT_RECWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CT_REC_MAX_FILES 1000

struct ct_rec_writer;
/* Called with a new file just opened (not the first): puts its snapshot. */
typedef int (*ct_rec_newfile_fn)(struct ct_rec_writer *w, void *ctx);

struct ct_rec_writer_opts {
	const char *path;
	uint64_t max_size;	/* all files together; 0: no bound */
	unsigned rotate;	/* files in the ring; 1 with max_size: one file */
	const char *header;	/* "key=value\n" lines, without file_index */
	ct_rec_newfile_fn newfile;
	void *ctx;
};

struct ct_rec_writer {
	struct ct_rec_writer_opts o;
	int fd;
	uint64_t per_file;	/* bound of one file; 0: none */
	uint64_t off;		/* size of the current file */
	uint64_t file_index;	/* files opened so far, less one */
	unsigned char *raw;	/* the block being filled */
	size_t rawlen;
	unsigned char *zbuf;
	size_t zcap;
	uint32_t nrecs;
	uint64_t first_ns, last_ns;
	bool no_rotate;		/* while a file is ended or its snapshot put */
	uint64_t file_blocks;	/* blocks in the current file */
	uint64_t snap_blocks;	/* of which its opening snapshot's */
	/* What was written, for the report and the benchmark. */
	uint64_t records, blocks, bytes, raw_bytes, files;
};

/* The smallest per-file bound: room for a header and a few blocks. */
uint64_t ct_rec_min_file_size(void);

/* Creates (truncates) the first file. 0, or -errno with one line in err. */
int ct_rec_writer_open(struct ct_rec_writer *w,
		       const struct ct_rec_writer_opts *o, char *err,
		       size_t errlen);

/* Adds one record of time ts_ns; writes a block once one is full. 0 or -errno. */
int ct_rec_put(struct ct_rec_writer *w, uint16_t type, const void *data,
	       uint16_t len, uint64_t ts_ns);

/* Writes the block in hand, if any. 0 or -errno. */
int ct_rec_flush(struct ct_rec_writer *w);

/* Flushes, closes, frees. 0 or the first -errno. */
int ct_rec_writer_close(struct ct_rec_writer *w);

/* The name of file k of the ring (0: the newest) into buf. */
void ct_rec_ring_name(const char *path, unsigned k, char *buf, size_t len);

#endif
