/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
#ifndef CT_REPLAY_INFO_H
#define CT_REPLAY_INFO_H

#include <stdio.h>

#include "engine/recset.h"

/* `replay --info`: reads the whole recording and describes it on f. Exit status. */
int ct_replay_info(struct ct_recset *set, FILE *f);

#endif
