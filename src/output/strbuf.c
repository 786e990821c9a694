// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "output/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "output/format.h"

void ct_sb_mem(struct ct_strbuf *b, const char *s, size_t n)
{
	size_t room = sizeof(b->buf) - b->len;

	if (n > room)
		n = room;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

void ct_sb_pad(struct ct_strbuf *b, size_t n)
{
	size_t room = sizeof(b->buf) - b->len;

	if (n > room)
		n = room;
	memset(b->buf + b->len, ' ', n);
	b->len += n;
}

void ct_sb_str(struct ct_strbuf *b, const char *s)
{
	ct_sb_mem(b, s, strlen(s));
}

void ct_sb_strn(struct ct_strbuf *b, const char *s, size_t max)
{
	ct_sb_mem(b, s, strnlen(s, max));
}

void ct_sb_char(struct ct_strbuf *b, char c)
{
	ct_sb_mem(b, &c, 1);
}

void ct_sb_left(struct ct_strbuf *b, const char *s, int width)
{
	size_t n = strlen(s);

	ct_sb_mem(b, s, n);
	if (width > (int)n)
		ct_sb_pad(b, (size_t)width - n);
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

void ct_sb_u64(struct ct_strbuf *b, uint64_t v, int width)
{
	char buf[20], *s = digits(v, buf + sizeof(buf));
	size_t n = (size_t)(buf + sizeof(buf) - s);

	if (width > (int)n)
		ct_sb_pad(b, (size_t)width - n);
	ct_sb_mem(b, s, n);
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

void ct_sb_addrport(struct ct_strbuf *b, int family, const uint8_t *addr,
		      uint16_t port, int width)
{
	size_t start = b->len, n;
	char a[CT_ADDR_STR_LEN];

	if (family == AF_INET6) {
		ct_sb_char(b, '[');
		ct_sb_str(b, ct_addr_str(family, addr, a, sizeof(a)));
		ct_sb_char(b, ']');
	} else {
		ct_sb_mem(b, a, ipv4(addr, a));
	}
	ct_sb_char(b, ':');
	if (port)
		ct_sb_u64(b, port, 0);
	else
		ct_sb_char(b, '*');
	n = b->len - start;
	if (width > (int)n)
		ct_sb_pad(b, (size_t)width - n);
}

const char *ct_addrport_str(int family, const uint8_t *addr, uint16_t port,
			    char *buf, size_t len)
{
	struct ct_strbuf b;

	ct_sb_reset(&b);
	ct_sb_addrport(&b, family, addr, port, 0);
	snprintf(buf, len, "%.*s", (int)b.len, b.buf);
	return buf;
}

void ct_sb_printf(struct ct_strbuf *b, const char *fmt, ...)
{
	size_t room = sizeof(b->buf) - b->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, room, fmt, ap);
	va_end(ap);
	/* Cut off where the buffer ends, as every other append is. */
	if (n > 0)
		b->len += (size_t)n < room ? (size_t)n : room - 1;
}
