// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/recwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "engine/recfile.h"

/*
 * Level 1: a block a few times smaller for a fraction of level 6's CPU,
 * which is what a recorder left running for days should spend.
 */
#define ZLEVEL 1

static uint64_t block_bound(void)
{
	return sizeof(struct ct_rec_blockhdr) + compressBound(CT_REC_BLOCK_RAW) +
	       sizeof(uint32_t);
}

uint64_t ct_rec_min_file_size(void)
{
	return CT_REC_MAX_HEADER + 4 * block_bound();
}

void ct_rec_ring_name(const char *path, unsigned k, char *buf, size_t len)
{
	if (k)
		snprintf(buf, len, "%s.%u", path, k);
	else
		snprintf(buf, len, "%s", path);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_header(struct ct_rec_writer *w)
{
	char text[CT_REC_MAX_HEADER];
	struct ct_rec_filehdr h = { .version = CT_REC_VERSION };
	uint32_t crc;
	int n, rc;

	n = snprintf(text, sizeof(text), "%sfile_index=%llu\n",
		     w->o.header ? w->o.header : "",
		     (unsigned long long)w->file_index);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -E2BIG;
	memcpy(h.magic, CT_REC_MAGIC, CT_REC_MAGIC_LEN);
	h.text_len = (uint32_t)n;
	crc = (uint32_t)crc32(0, (const Bytef *)text, (uInt)n);
	rc = write_all(w->fd, &h, sizeof(h));
	if (!rc)
		rc = write_all(w->fd, text, (size_t)n);
	if (!rc)
		rc = write_all(w->fd, &crc, sizeof(crc));
	if (rc)
		return rc;
	w->off = sizeof(h) + (uint64_t)n + sizeof(crc);
	w->file_blocks = w->snap_blocks = 0;
	w->bytes += w->off;
	w->files++;
	return 0;
}

static int open_file(struct ct_rec_writer *w)
{
	w->fd = open(w->o.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return -errno;
	return write_header(w);
}

int ct_rec_writer_open(struct ct_rec_writer *w,
		       const struct ct_rec_writer_opts *o, char *err,
		       size_t errlen)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->o = *o;
	w->fd = -1;
	if (o->max_size)
		w->per_file = o->max_size / (o->rotate ? o->rotate : 1);
	if (w->per_file && w->per_file < ct_rec_min_file_size()) {
		snprintf(err, errlen,
			 "--max-size over --rotate leaves %llu bytes a file; at least %llu are needed",
			 (unsigned long long)w->per_file,
			 (unsigned long long)ct_rec_min_file_size());
		return -EINVAL;
	}
	w->zcap = compressBound(CT_REC_BLOCK_RAW);
	w->raw = malloc(CT_REC_BLOCK_RAW);
	w->zbuf = malloc(w->zcap);
	if (!w->raw || !w->zbuf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = open_file(w);
	if (rc)
		snprintf(err, errlen, "cannot write %s: %s", o->path,
			 strerror(-rc));
	return rc;
}

/* Moves FILE.k to FILE.k+1, the oldest falling off, and FILE to FILE.1. */
static int shift_ring(struct ct_rec_writer *w)
{
	unsigned n = w->o.rotate ? w->o.rotate : 1;
	char from[4096], to[4096];

	for (unsigned k = n - 1; k > 0; k--) {
		ct_rec_ring_name(w->o.path, k - 1, from, sizeof(from));
		ct_rec_ring_name(w->o.path, k, to, sizeof(to));
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

static int end_file(struct ct_rec_writer *w, uint32_t reason, uint64_t ts)
{
	struct ct_rec_end e = { .ts_ns = ts, .reason = reason };
	int rc = ct_rec_put(w, CT_REC_END, &e, sizeof(e), ts);

	if (!rc)
		rc = ct_rec_flush(w);
	return rc;
}

static int rotate(struct ct_rec_writer *w)
{
	int rc;

	w->no_rotate = true;
	rc = end_file(w, CT_END_ROTATED, w->last_ns);
	w->no_rotate = false;

	if (rc)
		return rc;
	if (close(w->fd))
		return -errno;
	w->fd = -1;
	rc = shift_ring(w);
	if (rc)
		return rc;
	w->file_index++;
	rc = open_file(w);
	if (rc || !w->o.newfile)
		return rc;
	w->no_rotate = true;
	rc = w->o.newfile(w, w->o.ctx);
	if (!rc)
		rc = ct_rec_flush(w);
	w->snap_blocks = w->file_blocks;
	w->no_rotate = false;
	return rc;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

int ct_rec_flush(struct ct_rec_writer *w)
{
	struct ct_rec_blockhdr h = {
		.magic = CT_REC_BLOCK_MAGIC, .rlen = (uint32_t)w->rawlen,
		.nrecs = w->nrecs, .first_ns = w->first_ns, .last_ns = w->last_ns,
	};
	uLongf zlen = w->zcap;
	unsigned char crcb[4];
	uint32_t crc;
	int rc;

	if (!w->rawlen)
		return 0;
	if (compress2(w->zbuf, &zlen, w->raw, w->rawlen, ZLEVEL) != Z_OK)
		return -ENOMEM;
	h.clen = (uint32_t)zlen;
	crc = (uint32_t)crc32(0, (const Bytef *)&h, sizeof(h));
	crc = (uint32_t)crc32(crc, w->zbuf, (uInt)zlen);
	put_le32(crcb, crc);
	/* One write: a reader never sees a header without its bytes for long. */
	rc = write_all(w->fd, &h, sizeof(h));
	if (!rc)
		rc = write_all(w->fd, w->zbuf, zlen);
	if (!rc)
		rc = write_all(w->fd, crcb, sizeof(crcb));
	if (rc)
		return rc;
	w->off += sizeof(h) + zlen + sizeof(crcb);
	w->bytes += sizeof(h) + zlen + sizeof(crcb);
	w->raw_bytes += w->rawlen;
	w->blocks++;
	w->rawlen = 0;
	w->nrecs = 0;
	w->file_blocks++;
	/*
	 * The next block may not fit: the ring turns before it is written;
	 * but not on a file that holds only its snapshot, which would turn
	 * it again and again.
	 */
	if (w->per_file && !w->no_rotate && w->file_blocks > w->snap_blocks &&
	    w->off + block_bound() > w->per_file)
		return rotate(w);
	return 0;
}

int ct_rec_put(struct ct_rec_writer *w, uint16_t type, const void *data,
	       uint16_t len, uint64_t ts_ns)
{
	struct ct_rec_rechdr rh = { .type = type, .len = len };
	size_t need = sizeof(rh) + len;
	int rc;

	if (need > CT_REC_BLOCK_RAW)
		return -E2BIG;
	/* A flush may turn the ring, whose new file's snapshot fills the block. */
	while (w->rawlen + need > CT_REC_BLOCK_RAW) {
		rc = ct_rec_flush(w);
		if (rc)
			return rc;
	}
	if (!w->nrecs)
		w->first_ns = ts_ns;
	if (ts_ns > w->last_ns || !w->nrecs)
		w->last_ns = ts_ns;
	memcpy(w->raw + w->rawlen, &rh, sizeof(rh));
	memcpy(w->raw + w->rawlen + sizeof(rh), data, len);
	w->rawlen += need;
	w->nrecs++;
	w->records++;
	return 0;
}

int ct_rec_writer_close(struct ct_rec_writer *w)
{
	int rc = 0;

	if (w->fd >= 0) {
		w->no_rotate = true;
		rc = end_file(w, CT_END_STOPPED, w->last_ns);
		if (close(w->fd) && !rc)
			rc = -errno;
	}
	w->fd = -1;
	free(w->raw);
	free(w->zbuf);
	w->raw = w->zbuf = NULL;
	return rc;
}
