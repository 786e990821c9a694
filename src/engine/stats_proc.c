// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/stats_proc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SEPS " \t\r\n"

/*
 * Settings and gauges that sit among the counters in /proc/net/snmp. nstat
 * leaves them out, and a difference of two readings means nothing for them.
 */
static const char *const not_counters[] = {
	"IpForwarding", "IpDefaultTTL", "TcpRtoAlgorithm", "TcpRtoMin",
	"TcpRtoMax",	"TcpMaxConn",	"TcpCurrEstab",
};

static bool is_counter(const char *name)
{
	for (size_t i = 0; i < sizeof(not_counters) / sizeof(*not_counters); i++)
		if (!strcmp(name, not_counters[i]))
			return false;
	return true;
}

static bool is_blank(const char *s)
{
	return s[strspn(s, SEPS)] == '\0';
}

/* A whole unsigned decimal number: 0, -ERANGE if negative, or -EBADMSG. */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s == '-')
		return -ERANGE;
	if (!isdigit((unsigned char)*s))
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*out = v;
	return 0;
}

/*
 * Adds one counter. Only settings print negative (TcpMaxConn is -1), and a
 * name too long to be the kernel's is not worth failing for: skip both.
 */
static int add_counter(struct ct_counters *out, const char *name,
		       const char *val)
{
	uint64_t v;
	int err;

	err = parse_u64(val, &v);
	if (err == -ERANGE)
		return 0;
	if (err)
		return err;
	err = ct_counters_add(out, name, v);
	return err == -ENAMETOOLONG ? 0 : err;
}

/* Splits off the "Tcp:" that starts both lines of a pair into prefix. */
static int pair_prefix(char *hdr, char *vals, char **hs, char **vs,
		       char **prefix)
{
	char *h = strtok_r(hdr, SEPS, hs);
	char *v = strtok_r(vals, SEPS, vs);
	size_t len;

	if (!h || !v || strcmp(h, v))
		return -EBADMSG;
	len = strlen(h);
	if (len < 2 || h[len - 1] != ':')
		return -EBADMSG;
	h[len - 1] = '\0';
	*prefix = h;
	return 0;
}

static int parse_pair(char *hdr, char *vals, struct ct_counters *out)
{
	char *hs, *vs, *prefix, *field, *val;
	char name[CT_STAT_NAME_MAX * 2];
	int err;

	err = pair_prefix(hdr, vals, &hs, &vs, &prefix);
	if (err)
		return err;
	for (;;) {
		field = strtok_r(NULL, SEPS, &hs);
		val = strtok_r(NULL, SEPS, &vs);
		if (!field && !val)
			return 0;
		if (!field || !val)
			return -EBADMSG;
		snprintf(name, sizeof(name), "%s%s", prefix, field);
		if (!is_counter(name))
			continue;
		err = add_counter(out, name, val);
		if (err)
			return err;
	}
}

/* getline(3) stops on error as on end of file; tell them apart. */
static int read_status(FILE *f)
{
	return ferror(f) || !feof(f) ? -EIO : 0;
}

int ct_parse_snmp(FILE *f, struct ct_counters *out, int *line)
{
	char *hdr = NULL, *vals = NULL;
	size_t hcap = 0, vcap = 0;
	int err = 0;

	*line = 0;
	while (!err && getline(&hdr, &hcap, f) >= 0) {
		++*line;
		if (is_blank(hdr))
			continue;
		if (getline(&vals, &vcap, f) < 0) {
			err = read_status(f);
			if (!err)	/* names but no values */
				err = -EBADMSG;
			break;
		}
		++*line;
		err = parse_pair(hdr, vals, out);
	}
	if (!err)
		err = read_status(f);
	free(hdr);
	free(vals);
	return err;
}

static int parse_snmp6_line(char *s, struct ct_counters *out)
{
	char *sp, *name, *val;

	name = strtok_r(s, SEPS, &sp);
	if (!name)
		return 0;
	val = strtok_r(NULL, SEPS, &sp);
	if (!val || strtok_r(NULL, SEPS, &sp))
		return -EBADMSG;
	return add_counter(out, name, val);
}

int ct_parse_snmp6(FILE *f, struct ct_counters *out, int *line)
{
	char *s = NULL;
	size_t cap = 0;
	int err = 0;

	*line = 0;
	while (!err && getline(&s, &cap, f) >= 0) {
		++*line;
		err = parse_snmp6_line(s, out);
	}
	if (!err)
		err = read_status(f);
	free(s);
	return err;
}

/* The numbers after "name:"; the kernel may leave no space after ':'. */
static int parse_dev_values(const char *p, struct ct_iface *i)
{
	unsigned long long v;
	char *end;

	for (int f = 0; f < CT_IF_NFIELDS; f++) {
		p += strspn(p, SEPS);
		if (!isdigit((unsigned char)*p))
			return -EBADMSG;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || (*end && !strchr(SEPS, *end)))
			return -EBADMSG;
		i->f[f] = v;
		p = end;
	}
	return is_blank(p) ? 0 : -EBADMSG;
}

static int parse_dev_line(char *s, struct ct_ifaces *out)
{
	char *colon = strchr(s, ':'), *name;
	struct ct_iface *i;
	size_t len;

	if (!colon)
		return -EBADMSG;
	*colon = '\0';
	name = s + strspn(s, SEPS);
	len = strlen(name);
	if (!len || len >= CT_IFNAME_MAX || strcspn(name, SEPS) != len)
		return -EBADMSG;
	i = ct_ifaces_add(out, name);
	if (!i)
		return -ENOMEM;
	return parse_dev_values(colon + 1, i);
}

int ct_parse_netdev(FILE *f, struct ct_ifaces *out, int *line)
{
	char *s = NULL;
	size_t cap = 0;
	int err = 0;

	*line = 0;
	while (!err && getline(&s, &cap, f) >= 0) {
		++*line;
		/* Two title lines, their columns split by '|'. */
		if (strchr(s, '|') || is_blank(s))
			continue;
		err = parse_dev_line(s, out);
	}
	if (!err)
		err = read_status(f);
	free(s);
	return err;
}

int ct_read_mtu(const char *sysnet, const char *ifname)
{
	char path[PATH_MAX], buf[32], *end;
	long mtu;
	FILE *f;
	int n;

	/* Interface names cannot hold '/', but the path is built from input. */
	if (strchr(ifname, '/') || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return -1;
	n = snprintf(path, sizeof(path), "%s/%s/mtu", sysnet, ifname);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	errno = 0;
	mtu = strtol(buf, &end, 10);
	if (errno || end == buf || !is_blank(end) || mtu < 0 || mtu > INT_MAX)
		return -1;
	return (int)mtu;
}

typedef int (*parse_fn)(FILE *f, void *out, int *line);

static int snmp_cb(FILE *f, void *out, int *line)
{
	return ct_parse_snmp(f, out, line);
}

static int snmp6_cb(FILE *f, void *out, int *line)
{
	return ct_parse_snmp6(f, out, line);
}

static int netdev_cb(FILE *f, void *out, int *line)
{
	return ct_parse_netdev(f, out, line);
}

/* Parses dir/file into out; a file that does not exist is not an error. */
static int read_one(const char *dir, const char *file, parse_fn fn, void *out,
		    char *err, size_t errlen)
{
	char path[PATH_MAX];
	int n, line, rc;
	FILE *f;

	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", dir, file);
		return -ENAMETOOLONG;
	}
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		if (rc == -ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = fn(f, out, &line);
	fclose(f);
	if (rc == -EBADMSG)
		snprintf(err, errlen, "%s: line %d: unexpected format", path, line);
	else if (rc)
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
	return rc;
}

int ct_read_counters(const char *procnet, struct ct_counters *out, char *err,
		     size_t errlen)
{
	static const struct {
		const char *file;
		parse_fn fn;
	} files[] = {
		{ "snmp", snmp_cb }, { "snmp6", snmp6_cb }, { "netstat", snmp_cb },
	};
	int rc;

	out->n = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		rc = read_one(procnet, files[i].file, files[i].fn, out, err,
			      errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int ct_read_ifaces(const char *procnet, const char *sysnet,
		   struct ct_ifaces *out, char *err, size_t errlen)
{
	int rc;

	out->n = 0;
	rc = read_one(procnet, "dev", netdev_cb, out, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < out->n; i++)
		out->v[i].mtu = ct_read_mtu(sysnet, out->v[i].name);
	return 0;
}
