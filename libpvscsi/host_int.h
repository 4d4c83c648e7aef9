/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* host_int.h - between the target device's pool (host.c) and its maps (map.c). */
#ifndef PVSCSI_HOST_INT_H
#define PVSCSI_HOST_INT_H

#include <stdint.h>

struct pvs_host;
struct pvs_map;

/* map.c: make @m a map of @h for @initiator, linked before @next. */
void pvsi_map_attach_host(struct pvs_map *m, struct pvs_host *h, uint64_t initiator,
                          struct pvs_map *next);
/* map.c: forget the host (it is being freed); returns the next map of the host's list. */
struct pvs_map *pvsi_map_detach_host(struct pvs_map *m);
struct pvs_map *pvsi_map_next(const struct pvs_map *m);
struct pvs_map **pvsi_map_nextp(struct pvs_map *m);
/* map.c: whether the target answers @opcode itself (a unit test checks the PVSI_OP_TARGET flags).
 */
bool pvsi_map_target_handles(uint8_t opcode);
/* host.c: @m is being freed. */
void pvsi_host_map_gone(struct pvs_host *h, struct pvs_map *m);

#endif
