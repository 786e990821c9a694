// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "line.h"

#include <string.h>
#include <sys/socket.h>

#include "format.h"

static void put(struct ct_line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - l->len;

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void pad(struct ct_line *l, size_t n)
{
	size_t room = sizeof(l->buf) - l->len;

	if (n > room)
		n = room;
	memset(l->buf + l->len, ' ', n);
	l->len += n;
}

void ct_line_str(struct ct_line *l, const char *s)
{
	put(l, s, strlen(s));
}

void ct_line_char(struct ct_line *l, char c)
{
	put(l, &c, 1);
}

void ct_line_left(struct ct_line *l, const char *s, int width)
{
	size_t n = strlen(s);

	put(l, s, n);
	if (width > (int)n)
		pad(l, (size_t)width - n);
}

/* Digits of v at the end of buf[20]; returns where they start. */
static char *digits(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void ct_line_u64(struct ct_line *l, uint64_t v, int width)
{
	char buf[20], *s = digits(v, buf + sizeof(buf));
	size_t n = (size_t)(buf + sizeof(buf) - s);

	if (width > (int)n)
		pad(l, (size_t)width - n);
	put(l, s, n);
}

/* Dotted quad by hand: inet_ntop's generality costs more than the rest. */
static size_t ipv4(const uint8_t *a, char *out)
{
	char buf[20], *s;
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		s = digits(a[i], buf + sizeof(buf));
		memcpy(out + n, s, (size_t)(buf + sizeof(buf) - s));
		n += (size_t)(buf + sizeof(buf) - s);
		if (i < 3)
			out[n++] = '.';
	}
	return n;
}

void ct_line_addrport(struct ct_line *l, int family, const uint8_t *addr,
		      uint16_t port, int width)
{
	size_t start = l->len, n;
	char a[CT_ADDR_STR_LEN];

	if (family == AF_INET6) {
		ct_line_char(l, '[');
		ct_line_str(l, ct_addr_str(family, addr, a, sizeof(a)));
		ct_line_char(l, ']');
	} else {
		put(l, a, ipv4(addr, a));
	}
	ct_line_char(l, ':');
	if (port)
		ct_line_u64(l, port, 0);
	else
		ct_line_char(l, '*');
	n = l->len - start;
	if (width > (int)n)
		pad(l, (size_t)width - n);
}
