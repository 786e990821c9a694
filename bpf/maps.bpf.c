// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#define CT_DEFINE_MAPS
#include "maps.bpf.h"

const volatile bool count_bytes = false;
const volatile bool emit_states = true;
const volatile bool emit_closes = false;
const volatile bool walk_idle = false;
const volatile bool count_tcp_calls = true;
const volatile bool use_sk_storage = false;

const volatile __u32 tev_mask = 0;
const volatile bool retrans_err_arg = false;

char LICENSE[] SEC("license") = "Dual BSD/GPL";
/* bpf/compat.bpf.h: where recvmsg() has its flags (4 since 5.19, else 5). */
const volatile int recv_flags_arg = 4;
