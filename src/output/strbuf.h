/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * A line of text built by hand in a fixed buffer. ls writes one line per
 * socket, hundreds of thousands of them: printf's format parsing was half
 * of its user time.
 */
#ifndef CT_STRBUF_H
#define CT_STRBUF_H

#include <stddef.h>
#include <stdint.h>

#define CT_STRBUF_MAX 512

struct ct_strbuf {
	size_t len;
	char buf[CT_STRBUF_MAX];
};

/* Empties b: only the length, as what is past it is never read. */
static inline void ct_sb_reset(struct ct_strbuf *b)
{
	b->len = 0;
}

/* Each appends; what does not fit is cut off, never written past the end. */
void ct_sb_mem(struct ct_strbuf *b, const char *s, size_t n);
void ct_sb_str(struct ct_strbuf *b, const char *s);
/* At most max characters of s. */
void ct_sb_strn(struct ct_strbuf *b, const char *s, size_t max);
/* n blanks. */
void ct_sb_pad(struct ct_strbuf *b, size_t n);
void ct_sb_char(struct ct_strbuf *b, char c);
/* s left-aligned in width columns, as "%-*s". */
void ct_sb_left(struct ct_strbuf *b, const char *s, int width);
/* v right-aligned in width columns, as "%*u" (width 0: as "%u"). */
void ct_sb_u64(struct ct_strbuf *b, uint64_t v, int width);
/*
 * addr:port ("[addr]:port" for IPv6, "*" for port 0), left-aligned in
 * width columns; ct_addrport_str() writes the same into a string.
 */
void ct_sb_addrport(struct ct_strbuf *b, int family, const uint8_t *addr,
		      uint16_t port, int width);

/* "1.2.3.4:80" or "[::1]:80"; port 0 prints as "*". */
const char *ct_addrport_str(int family, const uint8_t *addr, uint16_t port,
			    char *buf, size_t len);

/* Appends printf-style; cut off at the buffer's end. */
void ct_sb_printf(struct ct_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
