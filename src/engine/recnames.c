// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/recnames.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/recfile.h"

/* "key=NAME,,NAME\n": an empty item where a value has no name. */
static int put_list(const char *key, char **names, size_t n, char *buf,
		    size_t len)
{
	size_t off = strlen(buf);
	size_t need = strlen(key) + 2;

	for (size_t i = 0; i < n; i++)
		need += (names[i] ? strlen(names[i]) : 0) + 1;
	if (off + need >= len)
		return -E2BIG;
	off += (size_t)sprintf(buf + off, "%s=", key);
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(buf + off, "%s%s", i ? "," : "",
				       names[i] ? names[i] : "");
	strcpy(buf + off, "\n");
	return 0;
}

int ct_recnames_put(const struct ct_tcpev *t, char *buf, size_t len)
{
	int rc = put_list(CT_REC_DROP_KEY, t->drop_names, t->ndrop, buf, len);

	return rc ? rc : put_list(CT_REC_RESET_KEY, t->rst_names, t->nrst,
				  buf, len);
}

/* The header's list under key into *names, *n; none: NULL and 0. */
static int get_list(const struct ct_rec_reader *rd, const char *key,
		    char ***names, size_t *n)
{
	char *v = malloc(CT_REC_MAX_HEADER + 1), *p;
	size_t count = 1;

	*names = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	if (!ct_rec_header(rd, key, v, CT_REC_MAX_HEADER + 1) || !*v) {
		free(v);
		return 0;
	}
	for (p = v; *p; p++)
		count += *p == ',';
	*names = calloc(count, sizeof(**names));
	if (!*names) {
		free(v);
		return -ENOMEM;
	}
	*n = count;
	p = v;
	for (size_t i = 0; i < count; i++) {
		size_t l = strcspn(p, ",");

		if (l && !((*names)[i] = strndup(p, l))) {
			free(v);
			return -ENOMEM;
		}
		p += l + (p[l] == ',');
	}
	free(v);
	return 0;
}

int ct_recnames_get(const struct ct_rec_reader *rd, struct ct_tcpev *t)
{
	int rc;

	ct_kernel_enum_free(t->drop_names, t->ndrop);
	ct_kernel_enum_free(t->rst_names, t->nrst);
	/* Never this kernel's names: they may mean other reasons. */
	t->drop_tried = t->rst_tried = true;
	rc = get_list(rd, CT_REC_DROP_KEY, &t->drop_names, &t->ndrop);
	return rc ? rc : get_list(rd, CT_REC_RESET_KEY, &t->rst_names, &t->nrst);
}
