// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * A recursive-descent parser for the ss filter language (see filter.h).
 * All parser state lives on the caller's stack, so it is re-entrant.
 *
 * Nodes live in one array and refer to each other by index, so growing it
 * never leaves a dangling pointer and freeing is a single free(). "and"
 * and "or" nodes are n-ary (a child list through next), so a file with
 * thousands of "or dst PREFIX" lines is a flat list, not a deep tree, and
 * the depth of every recursion is bounded by CTF_MAX_DEPTH.
 *
 * Such a list of plain addresses under one "or" is then turned into a
 * sorted table of address ranges, searched in O(log n) per socket, so a
 * long -F file costs little even across 100,000 sockets.
 */
#include "engine/filter.h"
#include "engine/cgroup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/macros.h"
#include "output/format.h"

/* The kernel's TCP state numbers, as ct_state_parse returns them. */
enum {
	ST_ESTABLISHED = 1,
	ST_SYN_SENT = 2,
	ST_SYN_RECV = 3,
	ST_TIME_WAIT = 6,
	ST_CLOSE = 7,
	ST_LISTEN = 10,
	ST_NEW_SYN_RECV = 12,
};

#define BIT(st) (1u << (st))
#define SET_BUCKET (BIT(ST_SYN_RECV) | BIT(ST_NEW_SYN_RECV) | BIT(ST_TIME_WAIT))
#define SET_CONNECTED (CTF_STATES_ALL & ~(BIT(ST_LISTEN) | BIT(ST_CLOSE)))

/* A filter file longer than this is surely a mistake. */
#define MAX_FILE_BYTES (16 << 20)
/* Longest word quoted in an error message. */
#define QUOTE_MAX 32

enum node_kind { N_AND, N_OR, N_NOT, N_STATE, N_PORT, N_HOST, N_HOSTSET,
		 N_CGROUP, N_CONTAINER };
enum cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

struct node {
	uint8_t kind;
	uint8_t side;		/* N_PORT, N_HOST(SET): enum ctf_side */
	uint8_t cmp;		/* N_PORT */
	uint8_t family;		/* N_HOST: 0 for any address, AF_INET(6) */
	uint8_t plen;		/* N_HOST: prefix length */
	bool has_port;		/* N_HOST: a port was given */
	uint16_t port;
	uint32_t states;	/* N_STATE */
	int set;		/* N_HOSTSET: index in ctf_filter.sets */
	int first;		/* N_AND, N_OR, N_NOT: first child */
	int next;		/* next child of the same parent, or -1 */
	uint8_t addr[16];
	char *word;		/* N_CGROUP: a path; N_CONTAINER: a name or id */
};

/* Address ranges, sorted by lo; hi is the largest hi so far (see in_set). */
struct range4 {
	uint32_t lo, hi;
};

struct range6 {
	uint64_t lo[2], hi[2];	/* most significant half first */
};

struct hostset {
	struct range4 *v4;
	struct range6 *v6;
	size_t n4, n6;
};

struct ctf_filter {
	struct node *nodes;
	int len, cap;
	int root;		/* -1: the empty filter */
	struct hostset *sets;
	int nsets;
};

enum tok_type { T_END, T_WORD, T_LPAREN, T_RPAREN, T_NOT, T_AND, T_OR, T_CMP };

struct tok {
	enum tok_type type;
	enum cmp cmp;		/* T_CMP */
	size_t off, len;
};

struct parser {
	const char *text;
	const char *path;	/* for messages; NULL if not from a file */
	size_t pos;
	struct tok cur, prev;
	struct ctf_filter *f;
	int depth;
	struct ctf_error *err;
};

/* Lexer */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Characters that end a word even without a space, as in "sport=:80". */
static bool is_punct(char c)
{
	return c && strchr("()!&|=<>#", c);
}

static bool tok_is(const struct parser *p, const struct tok *t, const char *kw)
{
	return t->type == T_WORD && t->len == strlen(kw) &&
	       !strncasecmp(p->text + t->off, kw, t->len);
}

/* A keyword or an operator, and the token it makes. */
struct lexeme {
	const char *text;
	enum tok_type type;
	enum cmp cmp;
};

static const struct lexeme keywords[] = {
	{ "and", T_AND, C_EQ }, { "or", T_OR, C_EQ },  { "not", T_NOT, C_EQ },
	{ "eq", T_CMP, C_EQ },	{ "neq", T_CMP, C_NE }, { "ne", T_CMP, C_NE },
	{ "lt", T_CMP, C_LT },	{ "le", T_CMP, C_LE },	{ "gt", T_CMP, C_GT },
	{ "ge", T_CMP, C_GE },
};

static void classify_word(const struct parser *p, struct tok *t)
{
	t->type = T_WORD;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (tok_is(p, t, keywords[i].text)) {
			t->type = keywords[i].type;
			t->cmp = keywords[i].cmp;
			return;
		}
	}
}

/* Operators; a two-character one before its one-character prefix. */
static const struct lexeme operators[] = {
	{ "(", T_LPAREN, C_EQ }, { ")", T_RPAREN, C_EQ }, { "!=", T_CMP, C_NE },
	{ "!", T_NOT, C_EQ },	 { "&&", T_AND, C_EQ },	  { "&", T_AND, C_EQ },
	{ "||", T_OR, C_EQ },	 { "|", T_OR, C_EQ },	  { "==", T_CMP, C_EQ },
	{ "=", T_CMP, C_EQ },	 { "<=", T_CMP, C_LE },	  { "<", T_CMP, C_LT },
	{ ">=", T_CMP, C_GE },	 { ">", T_CMP, C_GT },
};

static bool lex_operator(const char *s, struct tok *t)
{
	for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
		size_t n = strlen(operators[i].text);

		if (!strncmp(s, operators[i].text, n)) {
			t->type = operators[i].type;
			t->cmp = operators[i].cmp;
			t->len = n;
			return true;
		}
	}
	return false;
}

static void lex(struct parser *p, struct tok *t)
{
	const char *s = p->text;
	size_t i = p->pos;

	for (;;) {
		while (is_space(s[i]))
			i++;
		if (s[i] != '#')
			break;
		while (s[i] && s[i] != '\n')
			i++;
	}
	memset(t, 0, sizeof(*t));
	t->off = i;
	if (!s[i]) {
		t->type = T_END;
	} else if (!lex_operator(s + i, t)) {
		while (s[i] && !is_space(s[i]) && !is_punct(s[i]))
			i++;
		t->len = i - t->off;
		classify_word(p, t);
	}
	p->pos = t->off + t->len;
}

static void advance(struct parser *p)
{
	p->prev = p->cur;
	lex(p, &p->cur);
}

/* Errors */

/* Copies a word for a one-line message: printable, and not too long. */
static void quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
	size_t i;

	if (n > size - 4)
		n = size - 4;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[i] = '\0';
	if (n < len)
		strcpy(buf + i, "...");
}

static void position(const char *text, size_t off, int *line, int *col)
{
	size_t start = 0;
	long l = 1;

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			start = i + 1;
		}
	}
	*line = l > INT_MAX ? INT_MAX : (int)l;
	*col = off - start >= INT_MAX ? INT_MAX : (int)(off - start + 1);
}

/*
 * Fills err with "<before>'<word t>'<after>" and its place. -EINVAL. A
 * word from a file is not quoted, only placed: the file may be one the
 * user cannot read (-F /etc/shadow through sudo), and its words secrets.
 * Operators are quoted still; they come from a fixed set.
 */
static int fail(struct parser *p, const struct tok *t, const char *before,
		const char *after)
{
	char word[QUOTE_MAX + 4], what[QUOTE_MAX + 96], file[QUOTE_MAX + 4];
	struct ctf_error *e = p->err;

	if (!e)
		return -EINVAL;
	quote(p->text + t->off, t->len, word, sizeof(word));
	if (p->path && t->type == T_WORD)
		snprintf(what, sizeof(what), "%sword%s", before, after);
	else
		snprintf(what, sizeof(what), "%s'%s'%s", before, word, after);
	position(p->text, t->off, &e->line, &e->column);
	if (p->path) {
		quote(p->path, strlen(p->path), file, sizeof(file));
		snprintf(e->msg, sizeof(e->msg),
			 "filter: %s: %s at line %d column %d", file, what,
			 e->line, e->column);
	} else if (strchr(p->text, '\n')) {
		snprintf(e->msg, sizeof(e->msg),
			 "filter: %s at line %d column %d", what, e->line,
			 e->column);
	} else {
		snprintf(e->msg, sizeof(e->msg), "filter: %s at column %d",
			 what, e->column);
	}
	return -EINVAL;
}

static int fail_nopos(struct ctf_error *e, int rc, const char *what,
		      const char *path)
{
	char file[QUOTE_MAX + 4];

	if (!e)
		return rc;
	e->line = 0;
	e->column = 0;
	if (path) {
		quote(path, strlen(path), file, sizeof(file));
		snprintf(e->msg, sizeof(e->msg), "filter: %s: %s", file, what);
	} else {
		snprintf(e->msg, sizeof(e->msg), "filter: %s", what);
	}
	return rc;
}

/* Fails on the token where an operand was expected but not found. */
static int fail_missing(struct parser *p, const char *what_after)
{
	if (p->cur.type == T_END && p->prev.len)
		return fail(p, &p->prev, what_after, "");
	return fail(p, &p->cur, "unexpected ", "");
}

/* Nodes */

static int new_node(struct parser *p, const struct node *tmpl)
{
	struct ctf_filter *f = p->f;

	if (f->len == f->cap) {
		int cap = f->cap ? f->cap * 2 : 16;
		struct node *n;

		if (f->cap > INT_MAX / 4)
			return fail_nopos(p->err, -ENOMEM, "out of memory",
					  NULL);
		n = realloc(f->nodes, (size_t)cap * sizeof(*n));
		if (!n)
			return fail_nopos(p->err, -ENOMEM, "out of memory",
					  NULL);
		f->nodes = n;
		f->cap = cap;
	}
	f->nodes[f->len] = *tmpl;
	f->nodes[f->len].next = -1;
	return f->len++;
}

static int new_parent(struct parser *p, enum node_kind kind, int child)
{
	struct node n = { .kind = kind, .first = child };

	return new_node(p, &n);
}

/* Address and port words */

enum { H_OK, H_ADDR, H_PLEN, H_PORT };

/* Decimal number of at most `digits` digits, no sign, no more than max. */
static int parse_num(const char *s, size_t len, size_t digits, uint32_t max,
		     uint32_t *out)
{
	uint32_t v = 0;

	if (!len || len > digits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	uint32_t v;

	if (parse_num(s, len, 5, 65535, &v))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static bool is_v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, prefix, sizeof(prefix));
}

/* "ADDR" or "ADDR/LEN" into n->family, addr and plen. */
static int parse_prefix(const char *s, size_t len, struct node *n)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	char buf[INET6_ADDRSTRLEN];
	uint32_t plen;
	int max;

	if (alen >= sizeof(buf))
		return H_ADDR;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (memchr(buf, ':', alen)) {
		if (inet_pton(AF_INET6, buf, n->addr) != 1)
			return H_ADDR;
		n->family = AF_INET6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, buf, n->addr) != 1)
			return H_ADDR;
		n->family = AF_INET;
		max = 32;
	}
	plen = (uint32_t)max;
	if (slash && parse_num(slash + 1, len - alen - 1, 3, (uint32_t)max,
			       &plen))
		return H_PLEN;
	n->plen = (uint8_t)plen;
	/* Keep one rule for v4 in either form: match it as v4. */
	if (n->family == AF_INET6 && n->plen >= 96 && is_v4_mapped(n->addr)) {
		memmove(n->addr, n->addr + 12, 4);
		memset(n->addr + 4, 0, 12);
		n->family = AF_INET;
		n->plen -= 96;
	}
	return H_OK;
}

/* "PORT" or "*" after a host's colon. */
static int parse_host_port(const char *s, size_t len, struct node *n)
{
	if (len == 1 && s[0] == '*')
		return H_OK;
	if (parse_port(s, len, &n->port))
		return H_PORT;
	n->has_port = true;
	return H_OK;
}

/* "[V6[/LEN]]", "[V6]/LEN", each with an optional ":PORT". */
static int parse_bracketed(const char *s, size_t len, struct node *n)
{
	const char *close = memchr(s, ']', len);
	const char *end = s + len, *rest, *colon;
	char buf[INET6_ADDRSTRLEN + 8];
	size_t in, plen_len;
	int rc;

	if (!close)
		return H_ADDR;
	in = (size_t)(close - s - 1);
	rest = close + 1;
	colon = memchr(rest, ':', (size_t)(end - rest));
	if (!colon)
		colon = end;
	plen_len = (size_t)(colon - rest);
	if (in + plen_len >= sizeof(buf))
		return H_ADDR;
	if (plen_len && (rest[0] != '/' || memchr(s + 1, '/', in)))
		return H_ADDR;
	memcpy(buf, s + 1, in);
	memcpy(buf + in, rest, plen_len);
	rc = parse_prefix(buf, in + plen_len, n);
	if (rc != H_OK || colon == end)
		return rc;
	return parse_host_port(colon + 1, (size_t)(end - colon - 1), n);
}

/* One HOST word of src or dst into n (see filter.h). */
static int parse_host(const char *s, size_t len, struct node *n)
{
	const char *colon = memchr(s, ':', len);
	size_t hlen;

	if (s[0] == '[')
		return parse_bracketed(s, len, n);
	if (len == 1 && s[0] == '*')
		return H_OK;
	if (!colon)
		return parse_prefix(s, len, n);
	/* Two colons or more: a bare IPv6 address, which cannot take a port. */
	if (memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
		return parse_prefix(s, len, n);
	hlen = (size_t)(colon - s);
	if (hlen && !(hlen == 1 && s[0] == '*')) {
		int rc = parse_prefix(s, hlen, n);

		if (rc != H_OK)
			return rc;
	}
	return parse_host_port(colon + 1, len - hlen - 1, n);
}

/* States */

/* Spellings that ct_state_parse does not know, after folding. */
static const struct {
	const char *name;
	const char *as;
} state_aliases[] = {
	{ "closed", "close" },
	{ "listening", "listen" },
	{ "fin_wait_1", "fin_wait1" },
	{ "fin_wait_2", "fin_wait2" },
};

static const struct {
	const char *name;
	uint32_t states;
} state_groups[] = {
	{ "all", CTF_STATES_ALL },
	{ "connected", SET_CONNECTED },
	{ "synchronized", SET_CONNECTED & ~BIT(ST_SYN_SENT) },
	{ "bucket", SET_BUCKET },
	{ "big", CTF_STATES_ALL & ~SET_BUCKET },
};

/* The set a state or group name stands for; 0 if unknown. */
static uint32_t state_word(const char *s, size_t len)
{
	char buf[32];
	const char *name = buf;
	size_t i;
	int st;

	if (len >= sizeof(buf))
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-')
			c = '_';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf[i] = c;
	}
	buf[len] = '\0';
	for (i = 0; i < sizeof(state_groups) / sizeof(state_groups[0]); i++)
		if (!strcmp(buf, state_groups[i].name))
			return state_groups[i].states;
	for (i = 0; i < sizeof(state_aliases) / sizeof(state_aliases[0]); i++)
		if (!strcmp(buf, state_aliases[i].name))
			name = state_aliases[i].as;
	st = ct_state_parse(name);
	if (st <= 0 || st >= 32)
		return 0;
	/* Request sockets are SYN-RECV connections to the user, as in ss. */
	if (st == ST_SYN_RECV)
		return BIT(ST_SYN_RECV) | BIT(ST_NEW_SYN_RECV);
	return BIT(st);
}

/* Grammar */

static int parse_or(struct parser *p);

static bool is_state_word(const struct parser *p, const struct tok *t)
{
	return tok_is(p, t, "state") || tok_is(p, t, "exclude") ||
	       tok_is(p, t, "excl");
}

/* A run of "state NAME" and "exclude NAME", folded into one set as ss does. */
static int parse_states(struct parser *p)
{
	struct node n = { .kind = N_STATE, .first = -1 };
	bool first = true;

	while (is_state_word(p, &p->cur)) {
		bool add = tok_is(p, &p->cur, "state");
		uint32_t set;

		if (first && !add)
			n.states = CTF_STATES_ALL;
		first = false;
		advance(p);
		if (p->cur.type != T_WORD)
			return fail_missing(p, "missing state after ");
		set = state_word(p->text + p->cur.off, p->cur.len);
		if (!set)
			return fail(p, &p->cur, "unknown state ", "");
		n.states = add ? n.states | set : n.states & ~set;
		advance(p);
	}
	return new_node(p, &n);
}

/* "sport", "dport" or "port", an optional operator, a port. */
static int parse_port_pred(struct parser *p, enum ctf_side side)
{
	struct node n = { .kind = N_PORT, .side = side, .cmp = C_EQ,
			  .first = -1 };
	const char *s;
	size_t len;

	advance(p);
	if (p->cur.type == T_CMP) {
		n.cmp = p->cur.cmp;
		advance(p);
	}
	if (p->cur.type != T_WORD)
		return fail_missing(p, "missing port after ");
	s = p->text + p->cur.off;
	len = p->cur.len;
	/* ss writes ports as ":80", the host part left out. */
	if (s[0] == ':') {
		s++;
		len--;
	}
	if (parse_port(s, len, &n.port))
		return fail(p, &p->cur, "bad port ", "");
	advance(p);
	return new_node(p, &n);
}

/* "src" or "dst", an optional "=" or "!=", a HOST. */
static int parse_host_pred(struct parser *p, enum ctf_side side)
{
	struct node n = { .kind = N_HOST, .side = side, .first = -1 };
	bool negate = false;
	int i;

	advance(p);
	if (p->cur.type == T_CMP) {
		if (p->cur.cmp != C_EQ && p->cur.cmp != C_NE)
			return fail(p, &p->cur, "unexpected ", "");
		negate = p->cur.cmp == C_NE;
		advance(p);
	}
	if (p->cur.type != T_WORD)
		return fail_missing(p, "missing address after ");
	switch (parse_host(p->text + p->cur.off, p->cur.len, &n)) {
	case H_ADDR:
		return fail(p, &p->cur, "bad address ", "");
	case H_PLEN:
		return fail(p, &p->cur, "bad prefix length in ", "");
	case H_PORT:
		return fail(p, &p->cur, "bad port in ", "");
	}
	advance(p);
	i = new_node(p, &n);
	if (i < 0 || !negate)
		return i;
	return new_parent(p, N_NOT, i);
}

/* "cgroup PATH" or "container NAME|ID", an optional "=" before the word. */
static int parse_owner_pred(struct parser *p, enum node_kind kind)
{
	struct node n = { .kind = kind, .first = -1 };
	int i;

	advance(p);
	if (p->cur.type == T_CMP) {
		if (p->cur.cmp != C_EQ)
			return fail(p, &p->cur, "unexpected ", "");
		advance(p);
	}
	if (p->cur.type != T_WORD)
		return fail_missing(p, kind == N_CGROUP ? "missing cgroup path after "
							: "missing container after ");
	/* Paths are relative to the cgroup2 mount and begin with "/", as ss's. */
	if (kind == N_CGROUP && p->text[p->cur.off] != '/')
		return fail(p, &p->cur, "bad cgroup path ", " (it begins with /)");
	n.word = strndup(p->text + p->cur.off, p->cur.len);
	if (!n.word)
		return fail_nopos(p->err, -ENOMEM, "out of memory", NULL);
	advance(p);
	i = new_node(p, &n);
	if (i < 0)
		free(n.word);
	return i;
}

static int owner_pred(const struct parser *p, const struct tok *t)
{
	if (tok_is(p, t, "cgroup"))
		return N_CGROUP;
	return tok_is(p, t, "container") ? N_CONTAINER : -1;
}

/* The words that begin a predicate on ports or addresses. */
static const struct {
	const char *word;
	bool host;		/* an address follows; else a port */
	enum ctf_side side;
} preds[] = {
	{ "sport", false, CTF_SRC }, { "dport", false, CTF_DST },
	{ "port", false, CTF_EITHER }, { "src", true, CTF_SRC },
	{ "dst", true, CTF_DST },
};

static int find_pred(const struct parser *p, const struct tok *t)
{
	for (size_t i = 0; i < sizeof(preds) / sizeof(preds[0]); i++)
		if (tok_is(p, t, preds[i].word))
			return (int)i;
	return -1;
}

static int enter(struct parser *p)
{
	if (++p->depth > CTF_MAX_DEPTH)
		return fail(p, &p->cur, "",
			    " nested more than " CT_STR(CTF_MAX_DEPTH) " deep");
	return 0;
}

static int parse_primary(struct parser *p)
{
	struct tok open;
	int i;

	switch (p->cur.type) {
	case T_LPAREN:
		open = p->cur;
		if (enter(p))
			return -EINVAL;
		advance(p);
		i = parse_or(p);
		if (i < 0)
			return i;
		if (p->cur.type == T_END)
			return fail(p, &open, "unclosed ", "");
		if (p->cur.type != T_RPAREN)
			return fail(p, &p->cur, "unexpected ", "");
		advance(p);
		p->depth--;
		return i;
	case T_WORD:
		if (is_state_word(p, &p->cur))
			return parse_states(p);
		if (owner_pred(p, &p->cur) >= 0)
			return parse_owner_pred(p, owner_pred(p, &p->cur));
		i = find_pred(p, &p->cur);
		if (i < 0)
			return fail(p, &p->cur, "unexpected ", "");
		if (preds[i].host)
			return parse_host_pred(p, preds[i].side);
		return parse_port_pred(p, preds[i].side);
	default:
		return fail_missing(p, "missing expression after ");
	}
}

static int parse_unary(struct parser *p)
{
	int i;

	if (p->cur.type != T_NOT)
		return parse_primary(p);
	if (enter(p))
		return -EINVAL;
	advance(p);
	i = parse_unary(p);
	if (i < 0)
		return i;
	p->depth--;
	return new_parent(p, N_NOT, i);
}

/* Whether t can begin an operand, for "a b" meaning "a and b". */
static bool starts_operand(const struct tok *t)
{
	return t->type == T_WORD || t->type == T_LPAREN || t->type == T_NOT;
}

/* Parses operands joined by `op`; sub parses one operand. */
static int parse_list(struct parser *p, enum tok_type op,
		      int (*sub)(struct parser *p))
{
	int first, last, i, parent = -1;

	first = sub(p);
	if (first < 0)
		return first;
	last = first;
	for (;;) {
		if (p->cur.type == op)
			advance(p);
		else if (op != T_AND || !starts_operand(&p->cur))
			break;
		i = sub(p);
		if (i < 0)
			return i;
		if (parent < 0) {
			parent = new_parent(p, op == T_AND ? N_AND : N_OR,
					    first);
			if (parent < 0)
				return parent;
		}
		p->f->nodes[last].next = i;
		last = i;
	}
	return parent < 0 ? first : parent;
}

static int parse_and(struct parser *p)
{
	return parse_list(p, T_AND, parse_unary);
}

static int parse_or(struct parser *p)
{
	return parse_list(p, T_OR, parse_and);
}

/* Address sets */

static uint32_t load4(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	       (uint32_t)a[2] << 8 | a[3];
}

static uint64_t load8(const uint8_t *a)
{
	return (uint64_t)load4(a) << 32 | load4(a + 4);
}

/* Bits of a 64-bit half kept by a prefix of plen bits from its start. */
static uint64_t mask64(int plen)
{
	if (plen <= 0)
		return 0;
	return plen >= 64 ? ~0ULL : ~0ULL << (64 - plen);
}

static int cmp128(const uint64_t *a, const uint64_t *b)
{
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	if (a[1] != b[1])
		return a[1] < b[1] ? -1 : 1;
	return 0;
}

static int cmp_range4(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_range6(const void *a, const void *b)
{
	const struct range6 *x = a, *y = b;

	return cmp128(x->lo, y->lo);
}

static void add_range(struct hostset *hs, const struct node *n)
{
	if (n->family == AF_INET) {
		uint32_t m = (uint32_t)(mask64(n->plen) >> 32);
		struct range4 *r = &hs->v4[hs->n4++];

		r->lo = load4(n->addr) & m;
		r->hi = r->lo | ~m;
	} else {
		struct range6 *r = &hs->v6[hs->n6++];

		for (int h = 0; h < 2; h++) {
			uint64_t m = mask64(n->plen - 64 * h);

			r->lo[h] = load8(n->addr + 8 * h) & m;
			r->hi[h] = r->lo[h] | ~m;
		}
	}
}

/*
 * Sorts by lo and makes each hi the largest so far: then some range holds
 * x exactly when x <= hi of the last range with lo <= x, overlaps or not.
 */
static void index_set(struct hostset *hs)
{
	qsort(hs->v4, hs->n4, sizeof(*hs->v4), cmp_range4);
	qsort(hs->v6, hs->n6, sizeof(*hs->v6), cmp_range6);
	for (size_t i = 1; i < hs->n4; i++)
		if (hs->v4[i].hi < hs->v4[i - 1].hi)
			hs->v4[i].hi = hs->v4[i - 1].hi;
	for (size_t i = 1; i < hs->n6; i++)
		if (cmp128(hs->v6[i].hi, hs->v6[i - 1].hi) < 0)
			memcpy(hs->v6[i].hi, hs->v6[i - 1].hi, 16);
}

/* A "src" or "dst" of a whole address or prefix, without a port. */
static bool is_plain_host(const struct node *n, enum ctf_side side)
{
	return n->kind == N_HOST && n->side == side && !n->has_port &&
	       n->family;
}

static struct hostset *new_set(struct parser *p, size_t n)
{
	struct ctf_filter *f = p->f;
	struct hostset *sets, *hs;

	sets = realloc(f->sets, (size_t)(f->nsets + 1) * sizeof(*sets));
	if (!sets)
		return NULL;
	f->sets = sets;
	hs = &sets[f->nsets];
	memset(hs, 0, sizeof(*hs));
	hs->v4 = calloc(n, sizeof(*hs->v4));
	hs->v6 = calloc(n, sizeof(*hs->v6));
	if (!hs->v4 || !hs->v6) {
		free(hs->v4);
		free(hs->v6);
		return NULL;
	}
	f->nsets++;
	return hs;
}

/* Replaces the plain `side` hosts among the children of "or" node i. */
static int group_hosts(struct parser *p, int i, enum ctf_side side)
{
	struct node tmpl = { .kind = N_HOSTSET, .side = side, .first = -1 };
	struct node *nodes = p->f->nodes;
	struct hostset *hs;
	int c, set, last;
	size_t n = 0;

	for (c = nodes[i].first; c >= 0; c = nodes[c].next)
		n += is_plain_host(&nodes[c], side);
	if (n < 2)
		return 0;
	hs = new_set(p, n);
	if (!hs)
		return fail_nopos(p->err, -ENOMEM, "out of memory", NULL);
	for (c = nodes[i].first; c >= 0; c = nodes[c].next)
		if (is_plain_host(&nodes[c], side))
			add_range(hs, &nodes[c]);
	index_set(hs);
	tmpl.set = p->f->nsets - 1;
	set = new_node(p, &tmpl);
	if (set < 0)
		return set;
	/* Relink: the set first, then the children it does not cover. */
	nodes = p->f->nodes;
	last = set;
	for (c = nodes[i].first; c >= 0; c = nodes[c].next) {
		if (is_plain_host(&nodes[c], side))
			continue;
		nodes[last].next = c;
		last = c;
	}
	nodes[last].next = -1;
	nodes[i].first = set;
	return 0;
}

static int build_sets(struct parser *p)
{
	int len = p->f->len, rc;

	for (int i = 0; i < len; i++) {
		if (p->f->nodes[i].kind != N_OR)
			continue;
		rc = group_hosts(p, i, CTF_SRC);
		if (!rc)
			rc = group_hosts(p, i, CTF_DST);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_text(const char *text, const char *path,
		      struct ctf_filter **out, struct ctf_error *err)
{
	struct parser p = {
		.text = text ? text : "", .path = path, .err = err,
	};
	int root;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	p.f = calloc(1, sizeof(*p.f));
	if (!p.f)
		return fail_nopos(err, -ENOMEM, "out of memory", NULL);
	p.f->root = -1;
	advance(&p);
	if (p.cur.type != T_END) {
		root = parse_or(&p);
		if (root >= 0 && p.cur.type != T_END)
			root = fail(&p, &p.cur, "unexpected ", "");
		if (root >= 0) {
			int rc = build_sets(&p);

			if (rc)
				root = rc;
		}
		if (root < 0) {
			ctf_free(p.f);
			return root;
		}
		p.f->root = root;
	}
	*out = p.f;
	return 0;
}

bool ctf_begins_filter(const char *text)
{
	struct parser p = { .text = text ? text : "" };

	advance(&p);
	if (p.cur.type == T_LPAREN || p.cur.type == T_NOT)
		return true;
	return is_state_word(&p, &p.cur) || find_pred(&p, &p.cur) >= 0 ||
	       owner_pred(&p, &p.cur) >= 0;
}

int ctf_parse(const char *text, struct ctf_filter **out, struct ctf_error *err)
{
	return parse_text(text, NULL, out, err);
}

int ctf_parse_argv(int argc, char *const argv[], struct ctf_filter **out,
		   struct ctf_error *err)
{
	size_t len = 1, off = 0;
	char *text;
	int rc;

	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (len > SIZE_MAX - n) {
			*out = NULL;
			return fail_nopos(err, -ENOMEM, "out of memory", NULL);
		}
		len += n;
	}
	text = malloc(len);
	if (!text) {
		*out = NULL;
		return fail_nopos(err, -ENOMEM, "out of memory", NULL);
	}
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (i)
			text[off++] = ' ';
		memcpy(text + off, argv[i], n);
		off += n;
	}
	text[off] = '\0';
	rc = parse_text(text, NULL, out, err);
	free(text);
	return rc;
}

/* Reads all of f into a NUL-terminated buffer; 0 or a negative errno. */
static int read_all(FILE *f, char **out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	errno = 0;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb;

			if (cap >= MAX_FILE_BYTES) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		free(buf);
		return -e;
	}
	buf[len] = '\0';
	/* A NUL would silently cut the filter short. */
	if (strlen(buf) != len) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	return 0;
}

/*
 * Opens a regular file, and nothing else. O_NONBLOCK, because opening a
 * FIFO with no writer would otherwise wait for ever; other kinds are
 * refused rather than read with a timeout, as a device or FIFO gives no
 * end that can be told from a slow writer (stdin, "-", is for pipes).
 * 0, -EINVAL for a file that is not regular, or another negative errno.
 */
static int open_regular(const char *path, FILE **out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if (!(*out = fdopen(fd, "r")))
		rc = -errno;
	else
		return 0;
	close(fd);
	return rc;
}

int ctf_parse_file(const char *path, struct ctf_filter **out,
		   struct ctf_error *err)
{
	bool is_stdin = path && !strcmp(path, "-");
	char *text = NULL, what[128];
	FILE *f = stdin;
	int rc;

	*out = NULL;
	if (!path)
		return fail_nopos(err, -EINVAL, "no file name", NULL);
	rc = is_stdin ? 0 : open_regular(path, &f);
	if (rc == -EINVAL)
		return fail_nopos(err, rc,
				  "not a regular file (for a pipe, use '-F -')",
				  path);
	if (rc) {
		snprintf(what, sizeof(what), "cannot open: %s", strerror(-rc));
		return fail_nopos(err, rc, what, path);
	}
	rc = read_all(f, &text);
	if (!is_stdin)
		fclose(f);
	if (rc == -EINVAL)
		return fail_nopos(err, rc, "NUL byte in file", path);
	if (rc) {
		snprintf(what, sizeof(what), "cannot read: %s", strerror(-rc));
		return fail_nopos(err, rc, what, path);
	}
	rc = parse_text(text, path, out, err);
	free(text);
	return rc;
}

void ctf_free(struct ctf_filter *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->len; i++)
		free(f->nodes[i].word);
	for (int i = 0; i < f->nsets; i++) {
		free(f->sets[i].v4);
		free(f->sets[i].v6);
	}
	free(f->sets);
	free(f->nodes);
	free(f);
}

/* Matching */

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned int plen)
{
	unsigned int full = plen / 8, rest = plen % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return !((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest)));
}

static bool host_match(const struct node *n, int family, const uint8_t *addr,
		       uint16_t port)
{
	if (n->has_port && port != n->port)
		return false;
	switch (n->family) {
	case AF_INET:
		if (family == AF_INET6 && is_v4_mapped(addr))
			addr += 12;
		else if (family != AF_INET)
			return false;
		return prefix_eq(addr, n->addr, n->plen);
	case AF_INET6:
		return family == AF_INET6 && prefix_eq(addr, n->addr, n->plen);
	default:
		return true;
	}
}

/* Each search finds the last range with lo <= x; see index_set. */
static bool in_ranges4(const struct range4 *r, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (r[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && x <= r[lo - 1].hi;
}

static bool in_ranges6(const struct range6 *r, size_t n, const uint64_t *x)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp128(r[mid].lo, x) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && cmp128(x, r[lo - 1].hi) <= 0;
}

/* Same rules as host_match: v4 ranges see mapped addresses too. */
static bool in_set(const struct hostset *hs, int family, const uint8_t *addr)
{
	if (family == AF_INET && in_ranges4(hs->v4, hs->n4, load4(addr)))
		return true;
	if (family != AF_INET6)
		return false;
	if (is_v4_mapped(addr) && in_ranges4(hs->v4, hs->n4, load4(addr + 12)))
		return true;
	if (hs->n6) {
		uint64_t x[2] = { load8(addr), load8(addr + 8) };

		return in_ranges6(hs->v6, hs->n6, x);
	}
	return false;
}

static bool cmp_port(enum cmp c, uint16_t v, uint16_t want)
{
	switch (c) {
	case C_EQ:
		return v == want;
	case C_NE:
		return v != want;
	case C_LT:
		return v < want;
	case C_LE:
		return v <= want;
	case C_GT:
		return v > want;
	case C_GE:
		return v >= want;
	}
	return false;
}

static bool port_match(const struct node *n, const struct ctf_sockinfo *s)
{
	switch (n->side) {
	case CTF_SRC:
		return cmp_port(n->cmp, s->sport, n->port);
	case CTF_DST:
		return cmp_port(n->cmp, s->dport, n->port);
	default:
		/* "port != 22" reads as "not ssh", so neither end may be 22. */
		if (n->cmp == C_NE)
			return s->sport != n->port && s->dport != n->port;
		return cmp_port(n->cmp, s->sport, n->port) ||
		       cmp_port(n->cmp, s->dport, n->port);
	}
}

static bool eval(const struct ctf_filter *f, int i,
		 const struct ctf_sockinfo *s)
{
	const struct node *n = &f->nodes[i];
	int c;

	switch (n->kind) {
	case N_AND:
		for (c = n->first; c >= 0; c = f->nodes[c].next)
			if (!eval(f, c, s))
				return false;
		return true;
	case N_OR:
		for (c = n->first; c >= 0; c = f->nodes[c].next)
			if (eval(f, c, s))
				return true;
		return false;
	case N_NOT:
		return !eval(f, n->first, s);
	case N_STATE:
		return s->state < 32 && (n->states >> s->state & 1);
	case N_PORT:
		return port_match(n, s);
	case N_HOST:
		if (n->side == CTF_SRC)
			return host_match(n, s->family, s->saddr, s->sport);
		return host_match(n, s->family, s->daddr, s->dport);
	case N_HOSTSET:
		return in_set(&f->sets[n->set], s->family,
			      n->side == CTF_SRC ? s->saddr : s->daddr);
	case N_CGROUP:
		return ct_cgroup_id_under(s->cgroup, n->word);
	case N_CONTAINER:
		return ct_cgroup_id_is(s->cgroup, n->word);
	}
	return false;
}

bool ctf_match(const struct ctf_filter *f, const struct ctf_sockinfo *s)
{
	if (!f || f->root < 0)
		return true;
	return eval(f, f->root, s);
}

bool ctf_match_tuple(const struct ctf_filter *f, int family, uint8_t state,
		     const uint8_t saddr[16], uint16_t sport,
		     const uint8_t daddr[16], uint16_t dport, uint64_t cgroup)
{
	struct ctf_sockinfo si = {
		.family = family,
		.state = state,
		.sport = sport,
		.dport = dport,
		.cgroup = cgroup,
	};

	if (!f)
		return true;
	memcpy(si.saddr, saddr, sizeof(si.saddr));
	memcpy(si.daddr, daddr, sizeof(si.daddr));
	return ctf_match(f, &si);
}

/* Analysis */

/*
 * The states in which node i can be true (want) or false (!want). Exact
 * for state predicates; any other predicate may go either way in any state.
 */
static uint32_t states_of(const struct ctf_filter *f, int i, bool want)
{
	const struct node *n = &f->nodes[i];
	uint32_t m;
	int c;

	switch (n->kind) {
	case N_NOT:
		return states_of(f, n->first, !want);
	case N_STATE:
		return want ? n->states : CTF_STATES_ALL & ~n->states;
	case N_AND:
	case N_OR:
		/* "a and b" can be true only where both can; false: either. */
		m = (n->kind == N_AND) == want ? CTF_STATES_ALL : 0;
		for (c = n->first; c >= 0; c = f->nodes[c].next) {
			if ((n->kind == N_AND) == want)
				m &= states_of(f, c, want);
			else
				m |= states_of(f, c, want);
		}
		return m;
	default:
		return CTF_STATES_ALL;
	}
}

uint32_t ctf_states(const struct ctf_filter *f)
{
	if (!f || f->root < 0)
		return CTF_STATES_ALL;
	return states_of(f, f->root, true);
}

static int port_of(const struct ctf_filter *f, int i, enum ctf_side side)
{
	const struct node *n = &f->nodes[i];
	int c, p, want = -1;

	switch (n->kind) {
	case N_PORT:
		/* With "sport = 80", 80 is also at either end. */
		if (n->cmp != C_EQ)
			return -1;
		return n->side == side || side == CTF_EITHER ? n->port : -1;
	case N_HOST:
		if (!n->has_port || (side != CTF_EITHER && n->side != side))
			return -1;
		return n->port;
	case N_AND:
		/* Every match passes every child: any child's port will do. */
		for (c = n->first; c >= 0; c = f->nodes[c].next) {
			p = port_of(f, c, side);
			if (p >= 0)
				return p;
		}
		return -1;
	case N_OR:
		/* Each match passes some child: all must want the same port. */
		for (c = n->first; c >= 0; c = f->nodes[c].next) {
			p = port_of(f, c, side);
			if (p < 0 || (want >= 0 && p != want))
				return -1;
			want = p;
		}
		return want;
	default:
		return -1;
	}
}

int ctf_port(const struct ctf_filter *f, enum ctf_side side)
{
	if (!f || f->root < 0)
		return -1;
	return port_of(f, f->root, side);
}

bool ctf_needs_cgroup(const struct ctf_filter *f)
{
	for (int i = 0; f && i < f->len; i++)
		if (f->nodes[i].kind == N_CGROUP || f->nodes[i].kind == N_CONTAINER)
			return true;
	return false;
}

bool ct_kfilter_on_owner(const struct ct_kfilter *f)
{
	return f->pid || f->comm[0] || f->cgroup || f->container ||
	       ctf_needs_cgroup(f->expr);
}

bool ct_kfilter_match(const struct ct_kfilter *f, int family, uint8_t state,
		      const uint8_t saddr[16], uint16_t sport,
		      const uint8_t daddr[16], uint16_t dport, uint32_t pid,
		      const char comm[16], uint64_t cgroup)
{
	if (f->family && family != f->family)
		return false;
	if (!ctf_match_tuple(f->expr, family, state, saddr, sport, daddr, dport,
			     cgroup))
		return false;
	if (f->cgroup && !ct_cgroup_id_under(cgroup, f->cgroup))
		return false;
	if (f->container && !ct_cgroup_id_is(cgroup, f->container))
		return false;
	if (f->port && sport != f->port && dport != f->port)
		return false;
	if (f->pid && pid != f->pid)
		return false;
	return !f->comm[0] || (pid && !strncmp(f->comm, comm, 16));
}
