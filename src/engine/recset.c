// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/recset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/recwrite.h"

static int map_file(struct ct_recfile *f)
{
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;	/* said as "not a regular file" */
	} else if (st.st_size > 0) {
		f->size = (size_t)st.st_size;
		f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f->map == MAP_FAILED) {
			rc = -errno;
			f->map = NULL;
		}
	}
	close(fd);
	return rc;
}

/* The ring's older files that exist: FILE.1 up to the first one missing. */
static unsigned count_older(const char *path)
{
	char name[4096];
	unsigned k = 1;

	for (; k < CT_REC_MAX_FILES; k++) {
		ct_rec_ring_name(path, k, name, sizeof(name));
		if (access(name, F_OK))
			break;
	}
	return k - 1;
}

static int open_one(struct ct_recfile *f, const char *path, char *err,
		    size_t errlen)
{
	int rc;

	f->path = strdup(path);
	if (!f->path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = map_file(f);
	if (rc) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 rc == -EINVAL ? "not a regular file" : strerror(-rc));
		return rc;
	}
	rc = ct_rec_reader_open(&f->rd, f->map ? f->map : "", f->size);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, f->rd.err);
		return rc;
	}
	f->opened = true;
	return 0;
}

int ct_recset_open(struct ct_recset *s, const char *path, char *err,
		   size_t errlen)
{
	unsigned older = count_older(path);
	char name[4096];
	int rc;

	memset(s, 0, sizeof(*s));
	s->f = calloc(older + 1, sizeof(*s->f));
	if (!s->f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->n = older + 1;
	for (unsigned i = 0; i <= older; i++) {
		ct_rec_ring_name(path, older - i, name, sizeof(name));
		rc = open_one(&s->f[i], name, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int ct_recset_next(struct ct_recset *s, struct ct_rec *out)
{
	while (s->cur < s->n) {
		struct ct_recfile *f = &s->f[s->cur];
		int rc = ct_rec_next(&f->rd, out);

		if (rc > 0)
			return rc;
		if (rc < 0) {
			snprintf(s->err, sizeof(s->err), "%s: %s", f->path,
				 f->rd.err);
			return rc;
		}
		if (s->cur + 1 == s->n)
			return 0;
		/* Its buffers, not its counts: a ring may have 1000 files. */
		ct_rec_reader_free(&f->rd);
		s->cur++;
	}
	return 0;
}

const struct ct_recfile *ct_recset_file(const struct ct_recset *s)
{
	return s->n ? &s->f[s->cur < s->n ? s->cur : s->n - 1] : NULL;
}

void ct_recset_close(struct ct_recset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		ct_rec_reader_free(&s->f[i].rd);
		if (s->f[i].map)
			munmap(s->f[i].map, s->f[i].size);
		free(s->f[i].path);
	}
	free(s->f);
	memset(s, 0, sizeof(*s));
}
