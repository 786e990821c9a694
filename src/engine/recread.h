/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Reads a recording (recfile.h) held in memory, record by record. A file
 * cut short (kill -9, a full disk, a power cut) reads up to its last
 * complete block and is then marked truncated; damage inside a block that
 * claims to be complete is an error, with the offset where it lies.
 */
#ifndef CT_RECREAD_H
#define CT_RECREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/recfile.h"

struct ct_rec {
	uint16_t type;
	uint16_t len;
	const void *data;	/* valid until the next call */
	uint64_t block_off;	/* file offset of the block it came in */
};

struct ct_rec_reader {
	const unsigned char *buf;
	size_t size;
	uint32_t version;
	const char *text;	/* the header's key=value lines, not terminated */
	size_t text_len;
	size_t off;		/* the next block */
	unsigned char *raw;	/* the inflated block */
	size_t raw_cap, raw_len, raw_pos;
	uint64_t block_off;
	/* Where the file ends: the end of its last complete block. */
	uint64_t good_end;
	bool truncated;		/* bytes follow good_end that make no whole block */
	bool ended;		/* a CT_REC_END record was read */
	uint64_t blocks, records;
	char err[160];		/* set when a call returns < 0 */
	void *zs;		/* zlib's z_stream, made at the first block */
};

/*
 * Checks the header of size bytes at buf (kept, not copied). 0, or
 * -EBADMSG / -EPROTONOSUPPORT with one line in r->err.
 */
int ct_rec_reader_open(struct ct_rec_reader *r, const void *buf, size_t size);
void ct_rec_reader_free(struct ct_rec_reader *r);

/*
 * The next record: 1, or 0 at the end (see r->truncated), or -EBADMSG /
 * -ENOMEM with one line in r->err.
 */
int ct_rec_next(struct ct_rec_reader *r, struct ct_rec *out);

/* A header value into buf ("" if absent); false if absent. */
bool ct_rec_header(const struct ct_rec_reader *r, const char *key, char *buf,
		   size_t len);

/*
 * Copies a record's payload into a struct of size bytes: false if it is
 * shorter than min; a shorter struct takes its head, a longer one is
 * zero-filled past it.
 */
bool ct_rec_copy(const struct ct_rec *rec, void *dst, size_t size, size_t min);

#endif
