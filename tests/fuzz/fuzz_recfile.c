// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * libFuzzer target for the reader of recordings and the replay's socket
 * model. Besides not crashing, it checks what a replay relies on: a
 * documented error with its message, or the end; every record inside its
 * block; the end of the last complete block never past the input; a
 * truncated file never also an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/recmodel.h"
#include "engine/recread.h"

static void must(int cond, const char *what)
{
	if (cond)
		return;
	fprintf(stderr, "fuzz_recfile: %s\n", what);
	abort();
}

static int count_sock(const struct ct_tcp_rec *t, void *ctx)
{
	must(t->state != 0, "a gone socket listed");
	(*(size_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ct_rec_reader r;
	struct ct_recmodel m;
	struct ct_rec rec;
	size_t n = 0;
	int rc;

	rc = ct_rec_reader_open(&r, data, size);
	if (rc) {
		must(rc == -EBADMSG || rc == -EPROTONOSUPPORT, "undocumented open error");
		must(r.err[0] != '\0', "open error without a message");
		return 0;
	}
	must(ct_recmodel_init(&m) == 0, "out of memory");
	while ((rc = ct_rec_next(&r, &rec)) > 0) {
		const unsigned char *p = rec.data;

		must(p >= r.raw && p + rec.len <= r.raw + r.raw_len,
		     "record outside its block");
		must(rec.block_off < size, "block offset past the input");
		must(ct_recmodel_apply(&m, &rec) == 0, "model failed");
	}
	must(rc == 0 || rc == -EBADMSG || rc == -ENOMEM, "undocumented read error");
	must(rc == 0 || r.err[0], "read error without a message");
	must(r.good_end <= size, "the end past the input");
	must(!(rc < 0 && r.truncated), "both truncated and damaged");
	ct_recmodel_each(&m, count_sock, &n);
	ct_recmodel_free(&m);
	ct_rec_reader_free(&r);
	return 0;
}
