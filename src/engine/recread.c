// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/recread.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int fail(struct ct_rec_reader *r, int rc, const char *what, uint64_t off)
{
	snprintf(r->err, sizeof(r->err), "%s at byte %llu", what,
		 (unsigned long long)off);
	return rc;
}

int ct_rec_reader_open(struct ct_rec_reader *r, const void *buf, size_t size)
{
	struct ct_rec_filehdr h;
	uint32_t crc;
	size_t end;

	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->size = size;
	if (memcmp(buf, CT_REC_MAGIC, size < CT_REC_MAGIC_LEN ? size : CT_REC_MAGIC_LEN) ||
	    !size) {
		snprintf(r->err, sizeof(r->err), "not a conntrace recording");
		return -EBADMSG;
	}
	if (size < sizeof(h))
		return fail(r, -EBADMSG, "cut short in its header", size);
	memcpy(&h, buf, sizeof(h));
	r->version = h.version;
	if (h.version != CT_REC_VERSION) {
		snprintf(r->err, sizeof(r->err),
			 "recording format version %u; this conntrace reads version %u",
			 h.version, CT_REC_VERSION);
		return -EPROTONOSUPPORT;
	}
	end = sizeof(h) + (size_t)h.text_len + sizeof(crc);
	if (h.text_len > CT_REC_MAX_HEADER)
		return fail(r, -EBADMSG, "header length out of bounds",
			    offsetof(struct ct_rec_filehdr, text_len));
	if (end > size)
		return fail(r, -EBADMSG, "cut short in its header", size);
	memcpy(&crc, r->buf + sizeof(h) + h.text_len, sizeof(crc));
	if (crc != (uint32_t)crc32(0, r->buf + sizeof(h), h.text_len))
		return fail(r, -EBADMSG, "header checksum mismatch", 0);
	r->text = (const char *)r->buf + sizeof(h);
	r->text_len = h.text_len;
	r->off = r->good_end = end;
	return 0;
}

void ct_rec_reader_free(struct ct_rec_reader *r)
{
	free(r->raw);
	r->raw = NULL;
	if (r->zs) {
		inflateEnd(r->zs);
		free(r->zs);
		r->zs = NULL;
	}
}

bool ct_rec_header(const struct ct_rec_reader *r, const char *key, char *buf,
		   size_t len)
{
	size_t klen = strlen(key);
	const char *p = r->text, *end = r->text + r->text_len;

	if (len)
		buf[0] = '\0';
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if ((size_t)(le - p) > klen && !memcmp(p, key, klen) &&
		    p[klen] == '=') {
			size_t n = (size_t)(le - p) - klen - 1;

			if (len) {
				n = n < len - 1 ? n : len - 1;
				memcpy(buf, p + klen + 1, n);
				buf[n] = '\0';
			}
			return true;
		}
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* Bytes left from off make no complete block: the file ends at good_end. */
static int cut_short(struct ct_rec_reader *r)
{
	r->truncated = true;
	return 0;
}

/* One inflater for every block, reset between them: no set-up per block. */
static z_stream *inflater(struct ct_rec_reader *r)
{
	z_stream *zs = r->zs;

	if (zs)
		return inflateReset(zs) == Z_OK ? zs : NULL;
	zs = calloc(1, sizeof(*zs));
	if (!zs || inflateInit2(zs, -MAX_WBITS) != Z_OK) {
		free(zs);
		return NULL;
	}
	r->zs = zs;
	return zs;
}

/* RFC 1950's two header bytes: deflate, a 32K window or less, no dictionary. */
static bool zlib_header_ok(const unsigned char *z)
{
	return (z[0] & 0x0f) == Z_DEFLATED && (z[0] >> 4) <= 7 &&
	       !(z[1] & 0x20) && (z[0] << 8 | z[1]) % 31 == 0;
}

/*
 * The zlib stream's deflate data is inflated raw: its Adler-32 trailer is
 * not checked, because the block's CRC-32 already covers every byte of it
 * (and the Adler sum was a third of inflating).
 */
static int inflate_block(struct ct_rec_reader *r, const struct ct_rec_blockhdr *h,
			 const unsigned char *z)
{
	z_stream *zs;
	int rc;

	if (h->rlen > r->raw_cap) {
		unsigned char *p = realloc(r->raw, h->rlen);

		if (!p)
			return fail(r, -ENOMEM, "out of memory for the block", r->off);
		r->raw = p;
		r->raw_cap = h->rlen;
	}
	if (h->clen < 6 || !zlib_header_ok(z))
		return fail(r, -EBADMSG, "block does not inflate", r->off);
	zs = inflater(r);
	if (!zs)
		return fail(r, -ENOMEM, "out of memory for the inflater", r->off);
	zs->next_in = (unsigned char *)z + 2;
	zs->avail_in = h->clen - 6;
	zs->next_out = r->raw;
	zs->avail_out = h->rlen;
	rc = inflate(zs, Z_FINISH);
	if (rc != Z_STREAM_END || zs->avail_out || zs->avail_in)
		return fail(r, -EBADMSG, "block does not inflate", r->off);
	r->raw_len = h->rlen;
	r->raw_pos = 0;
	return 0;
}

/* Loads the block at r->off: 1, 0 at the end, or < 0. */
static int load_block(struct ct_rec_reader *r)
{
	struct ct_rec_blockhdr h;
	size_t left = r->size - r->off, total;
	uint32_t crc, want;
	int rc;

	if (!left)
		return 0;
	if (left < sizeof(h))
		return cut_short(r);
	memcpy(&h, r->buf + r->off, sizeof(h));
	if (h.magic != CT_REC_BLOCK_MAGIC)
		return fail(r, -EBADMSG, "no block header", r->off);
	if (h.rlen > CT_REC_MAX_BLOCK_RAW || h.clen > compressBound(CT_REC_MAX_BLOCK_RAW))
		return fail(r, -EBADMSG, "block length out of bounds", r->off);
	total = sizeof(h) + (size_t)h.clen + sizeof(crc);
	if (left < total)
		return cut_short(r);
	memcpy(&want, r->buf + r->off + sizeof(h) + h.clen, sizeof(want));
	crc = (uint32_t)crc32(0, r->buf + r->off, (uInt)(sizeof(h) + h.clen));
	if (crc != want) {
		/* The last block of a file cut during its write: the end, not damage. */
		if (r->off + total == r->size)
			return cut_short(r);
		return fail(r, -EBADMSG, "block checksum mismatch", r->off);
	}
	rc = inflate_block(r, &h, r->buf + r->off + sizeof(h));
	if (rc)
		return rc;
	r->block_off = r->off;
	r->off += total;
	r->good_end = r->off;
	r->blocks++;
	return 1;
}

int ct_rec_next(struct ct_rec_reader *r, struct ct_rec *out)
{
	struct ct_rec_rechdr rh;
	int rc;

	while (r->raw_pos >= r->raw_len) {
		rc = load_block(r);
		if (rc <= 0)
			return rc;
	}
	if (r->raw_len - r->raw_pos < sizeof(rh))
		return fail(r, -EBADMSG, "record header cut in block", r->block_off);
	memcpy(&rh, r->raw + r->raw_pos, sizeof(rh));
	if (r->raw_len - r->raw_pos - sizeof(rh) < rh.len)
		return fail(r, -EBADMSG, "record longer than its block", r->block_off);
	out->type = rh.type;
	out->len = rh.len;
	out->data = r->raw + r->raw_pos + sizeof(rh);
	out->block_off = r->block_off;
	r->raw_pos += sizeof(rh) + rh.len;
	r->records++;
	if (rh.type == CT_REC_END)
		r->ended = true;
	return 1;
}

bool ct_rec_copy(const struct ct_rec *rec, void *dst, size_t size, size_t min)
{
	size_t n = rec->len < size ? rec->len : size;

	if (rec->len < min)
		return false;
	memcpy(dst, rec->data, n);
	memset((char *)dst + n, 0, size - n);
	return true;
}
