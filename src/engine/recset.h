/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * A recording as a replay sees it: FILE and the older files of its ring
 * (FILE.N-1 ... FILE.1), read oldest first as one stream of records.
 */
#ifndef CT_RECSET_H
#define CT_RECSET_H

#include <stddef.h>
#include <stdint.h>

#include "engine/recread.h"

struct ct_recfile {
	char *path;
	void *map;
	size_t size;
	struct ct_rec_reader rd;
	bool opened;
};

struct ct_recset {
	struct ct_recfile *f;	/* oldest first */
	size_t n, cur;
	char err[512];		/* one line, naming the file */
};

/*
 * Maps path and the older files of its ring, and checks every header.
 * 0, or -errno with one line in err.
 */
int ct_recset_open(struct ct_recset *s, const char *path, char *err,
		   size_t errlen);

/* The next record of the stream: 1, 0 at the end, or < 0 with s->err set. */
int ct_recset_next(struct ct_recset *s, struct ct_rec *out);

/* The file the last record came from. */
const struct ct_recfile *ct_recset_file(const struct ct_recset *s);

void ct_recset_close(struct ct_recset *s);

#endif
