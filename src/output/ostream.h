/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Standard output as every mode uses it: open from the start, and never
 * failing in silence.
 *
 * A write error ends the program with one line and status 1
 * ("conntrace: write error: No space left on device"). A reader that went
 * away (EPIPE: `conntrace ... | head`) ends it quietly with status 0, in
 * every mode: the reader had all it wanted, so that is no failure, and
 * `set -o pipefail` scripts see none.
 */
#ifndef CT_OSTREAM_H
#define CT_OSTREAM_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Call first in main(). Opens /dev/null on any of descriptors 0-2 that is
 * closed, the wrong way round (stdout read-only), so that no socket opened
 * later takes descriptor 1 and a write to a closed stdout fails with EBADF
 * as it should. Ignores SIGPIPE, so a closed pipe is an error we see, and
 * checks stdout at exit as the comment above says. Unless it is a terminal,
 * stdout becomes a stream of its own with no fileno() (use STDOUT_FILENO).
 */
void ct_stdio_init(void);

/*
 * Whether f has failed. stdout's first error is kept as its write fails
 * (the message at exit names it, whatever ran since); on a terminal, call
 * this right after the write, as errno is all there is to go by.
 */
bool ct_out_failed(FILE *f);

/* fflush() that keeps the error as ct_out_failed() does; 0 or EOF. */
int ct_out_flush(FILE *f);

/* Whether the reader of the pipe f writes to has gone, without writing. */
bool ct_out_gone(FILE *f);

#endif
