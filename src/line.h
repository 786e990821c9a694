/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * A text line built by hand in a fixed buffer. ls writes one line per
 * socket, hundreds of thousands of them: printf's format parsing was half
 * of its user time.
 */
#ifndef CT_LINE_H
#define CT_LINE_H

#include <stddef.h>
#include <stdint.h>

#define CT_LINE_MAX 512

struct ct_line {
	size_t len;
	char buf[CT_LINE_MAX];
};

/* Each appends; what does not fit is cut off, never written past the end. */
void ct_line_str(struct ct_line *l, const char *s);
void ct_line_char(struct ct_line *l, char c);
/* s left-aligned in width columns, as "%-*s". */
void ct_line_left(struct ct_line *l, const char *s, int width);
/* v right-aligned in width columns, as "%*u" (width 0: as "%u"). */
void ct_line_u64(struct ct_line *l, uint64_t v, int width);
/* addr:port as ct_addrport_str(), left-aligned in width columns. */
void ct_line_addrport(struct ct_line *l, int family, const uint8_t *addr,
		      uint16_t port, int width);

#endif
