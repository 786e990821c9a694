// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/recread.h"
#include "engine/recwrite.h"

struct tmp {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/ct-recfile.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/rec", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char name[256];

	for (unsigned k = 0; k < 16; k++) {
		ct_rec_ring_name(t->path, k, name, sizeof(name));
		unlink(name);
	}
	rmdir(t->dir);
	free(t);
	return 0;
}

static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

/* A record whose bytes say which it is, so a mix-up shows. */
struct test_rec {
	uint64_t seq;
	uint64_t noise[6];
};

static void make_rec(struct test_rec *r, uint64_t seq)
{
	r->seq = seq;
	for (int i = 0; i < 6; i++)
		r->noise[i] = seq * 2654435761u + (uint64_t)i;
}

static void write_n(const char *path, uint64_t n, uint64_t max_size,
		    unsigned rotate, struct ct_rec_writer *w)
{
	struct ct_rec_writer_opts o = {
		.path = path, .max_size = max_size, .rotate = rotate,
		.header = "hostname=h1\nkernel=6.18\n",
	};
	char err[256];
	struct test_rec r;

	assert_int_equal(ct_rec_writer_open(w, &o, err, sizeof(err)), 0);
	for (uint64_t i = 0; i < n; i++) {
		make_rec(&r, i);
		assert_int_equal(ct_rec_put(w, 7, &r, sizeof(r), 1000 + i), 0);
	}
}

/* Reads every record with type 7; returns how many, checking their order. */
static uint64_t read_all(const unsigned char *buf, size_t size, uint64_t first,
			 struct ct_rec_reader *r, int *last_rc)
{
	struct ct_rec rec;
	struct test_rec tr, want;
	uint64_t n = 0;
	int rc;

	assert_int_equal(ct_rec_reader_open(r, buf, size), 0);
	while ((rc = ct_rec_next(r, &rec)) > 0) {
		if (rec.type != 7)
			continue;
		assert_int_equal(rec.len, sizeof(tr));
		memcpy(&tr, rec.data, sizeof(tr));
		make_rec(&want, first + n);
		assert_memory_equal(&tr, &want, sizeof(tr));
		n++;
	}
	*last_rc = rc;
	return n;
}

static void test_roundtrip(void **state)
{
	struct tmp *t = *state;
	struct ct_rec_writer w;
	struct ct_rec_reader r;
	unsigned char *buf;
	char host[32];
	size_t size;
	int rc;

	write_n(t->path, 50000, 0, 0, &w);
	assert_int_equal(ct_rec_writer_close(&w), 0);
	buf = slurp(t->path, &size);
	assert_int_equal(read_all(buf, size, 0, &r, &rc), 50000);
	assert_int_equal(rc, 0);
	assert_true(r.ended);
	assert_false(r.truncated);
	assert_int_equal(r.good_end, size);
	assert_true(ct_rec_header(&r, "hostname", host, sizeof(host)));
	assert_string_equal(host, "h1");
	assert_true(ct_rec_header(&r, "file_index", host, sizeof(host)));
	assert_string_equal(host, "0");
	assert_false(ct_rec_header(&r, "host", host, sizeof(host)));
	ct_rec_reader_free(&r);
	free(buf);
}

/*
 * Cut anywhere (kill -9 mid-write): every record of the complete blocks,
 * in order, and no error; the end is where the last whole block ends.
 */
static void test_truncated_anywhere(void **state)
{
	struct tmp *t = *state;
	struct ct_rec_writer w;
	struct ct_rec_reader r;
	unsigned char *buf;
	uint64_t prev = 0, n;
	size_t size;
	int rc;

	write_n(t->path, 8000, 0, 0, &w);
	assert_int_equal(ct_rec_writer_close(&w), 0);
	buf = slurp(t->path, &size);
	for (size_t cut = 0, step = 0; step <= size / 97 + 1; step++) {
		struct ct_rec_reader h;

		cut = step * 97 < size ? step * 97 : size;
		if (ct_rec_reader_open(&h, buf, cut)) {
			/* Only a cut inside the header can fail to open. */
			assert_true(cut < 200);
			continue;
		}
		n = read_all(buf, cut, 0, &r, &rc);
		assert_int_equal(rc, 0);
		assert_true(n >= prev);
		assert_true(r.good_end <= cut);
		assert_int_equal(r.truncated, r.good_end != cut);
		prev = n;
		ct_rec_reader_free(&r);
	}
	assert_int_equal(prev, 8000);
	free(buf);
}

static void test_corrupt_block_is_error(void **state)
{
	struct tmp *t = *state;
	struct ct_rec_writer w;
	struct ct_rec_reader r;
	unsigned char *buf;
	size_t size;
	int rc;

	write_n(t->path, 8000, 0, 0, &w);
	assert_int_equal(ct_rec_writer_close(&w), 0);
	assert_true(w.blocks > 2);
	buf = slurp(t->path, &size);
	buf[size / 2] ^= 0x40;
	read_all(buf, size, 0, &r, &rc);
	assert_int_equal(rc, -EBADMSG);
	assert_non_null(strstr(r.err, "at byte"));
	ct_rec_reader_free(&r);
	free(buf);
}

static void test_bad_header(void **state)
{
	struct ct_rec_reader r;
	unsigned char buf[64] = "CTREC\r\n\032";
	uint32_t v = 99;

	(void)state;
	assert_int_equal(ct_rec_reader_open(&r, "hello", 5), -EBADMSG);
	assert_string_equal(r.err, "not a conntrace recording");
	memcpy(buf + 8, &v, sizeof(v));
	assert_int_equal(ct_rec_reader_open(&r, buf, sizeof(buf)),
			 -EPROTONOSUPPORT);
	v = CT_REC_VERSION;
	memcpy(buf + 8, &v, sizeof(v));
	v = 1000;
	memcpy(buf + 12, &v, sizeof(v));
	assert_int_equal(ct_rec_reader_open(&r, buf, sizeof(buf)), -EBADMSG);
}

static int snapshots;

static int put_snapshot(struct ct_rec_writer *w, void *ctx)
{
	uint32_t mark = 0x5a5a5a5a;

	(void)ctx;
	snapshots++;
	return ct_rec_put(w, 9, &mark, sizeof(mark), w->last_ns);
}

/* The ring: every file within its share of --max-size, the newest last. */
static void test_rotation_bounded(void **state)
{
	struct tmp *t = *state;
	uint64_t max = 4 * ct_rec_min_file_size(), total = 0, n, newest_first;
	struct ct_rec_writer_opts o = {
		.path = t->path, .max_size = max, .rotate = 4,
		.newfile = put_snapshot,
	};
	struct ct_rec_writer w;
	struct ct_rec_reader r;
	struct ct_rec rec;
	struct test_rec tr;
	char name[256], err[256];
	unsigned char *buf;
	size_t size;
	int rc;

	snapshots = 0;
	assert_int_equal(ct_rec_writer_open(&w, &o, err, sizeof(err)), 0);
	/* Random bytes do not compress: many files' worth. */
	srand(1);
	for (uint64_t i = 0; i < 400000; i++) {
		make_rec(&tr, i);
		tr.noise[0] = (uint64_t)rand() << 32 | (uint64_t)rand();
		tr.noise[1] = (uint64_t)rand() << 32 | (uint64_t)rand();
		assert_int_equal(ct_rec_put(&w, 7, &tr, sizeof(tr), i), 0);
	}
	assert_int_equal(ct_rec_writer_close(&w), 0);
	assert_true(w.files > 4);
	assert_int_equal(snapshots, (int)w.files - 1);
	for (unsigned k = 0; k < 5; k++) {
		struct stat st;

		ct_rec_ring_name(t->path, k, name, sizeof(name));
		if (stat(name, &st)) {
			assert_int_equal(k, 4);
			continue;
		}
		assert_true((uint64_t)st.st_size <= max / 4);
		total += (uint64_t)st.st_size;
	}
	assert_true(total <= max);
	/* The newest file starts with its snapshot, then the records go on. */
	buf = slurp(t->path, &size);
	assert_int_equal(ct_rec_reader_open(&r, buf, size), 0);
	assert_int_equal(ct_rec_next(&r, &rec), 1);
	assert_int_equal(rec.type, 9);
	assert_int_equal(ct_rec_next(&r, &rec), 1);
	assert_int_equal(rec.type, 7);
	memcpy(&tr, rec.data, sizeof(tr));
	newest_first = tr.seq;
	for (n = 1; (rc = ct_rec_next(&r, &rec)) > 0;)
		n += rec.type == 7;
	assert_int_equal(rc, 0);
	assert_true(r.ended);
	assert_int_equal(newest_first + n, 400000);
	ct_rec_reader_free(&r);
	free(buf);
}

/* Random bytes, which zlib cannot make smaller. */
static void put_noise(struct ct_rec_writer *w, size_t bytes, uint16_t type)
{
	struct test_rec r;

	for (size_t n = 0; n < bytes; n += sizeof(r)) {
		for (int i = 0; i < 7; i++)
			((uint64_t *)&r)[i] = (uint64_t)rand() << 32 | (uint64_t)rand();
		assert_int_equal(ct_rec_put(w, type, &r, sizeof(r), 1), 0);
	}
}

static int put_big_snapshot(struct ct_rec_writer *w, void *ctx)
{
	(void)ctx;
	snapshots++;
	put_noise(w, ct_rec_min_file_size() + 100000, 9);
	return 0;
}

/*
 * A snapshot larger than a file's share: the file holds it and one more
 * block, then the ring turns; it does not turn on the snapshot alone.
 */
static void test_rotation_big_snapshot(void **state)
{
	struct tmp *t = *state;
	uint64_t per = ct_rec_min_file_size();
	struct ct_rec_writer_opts o = {
		.path = t->path, .max_size = 2 * per, .rotate = 2,
		.newfile = put_big_snapshot,
	};
	struct ct_rec_writer w;
	char err[256];
	struct stat st;

	snapshots = 0;
	srand(2);
	assert_int_equal(ct_rec_writer_open(&w, &o, err, sizeof(err)), 0);
	put_noise(&w, 4 * per, 7);
	assert_int_equal(ct_rec_writer_close(&w), 0);
	assert_true(snapshots >= 2);
	assert_int_equal(stat(t->path, &st), 0);
	assert_true((uint64_t)st.st_size < 2 * per + 200000);
}

static void test_too_small_max_size(void **state)
{
	struct tmp *t = *state;
	struct ct_rec_writer_opts o = {
		.path = t->path, .max_size = 1000000, .rotate = 100,
	};
	struct ct_rec_writer w;
	char err[256];

	assert_int_equal(ct_rec_writer_open(&w, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--max-size"));
	ct_rec_writer_close(&w);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_roundtrip),
		T(test_truncated_anywhere),
		T(test_corrupt_block_is_error),
		T(test_bad_header),
		T(test_rotation_bounded),
		T(test_rotation_big_snapshot),
		T(test_too_small_max_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
