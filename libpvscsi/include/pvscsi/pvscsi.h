/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pvscsi/pvscsi.h - the whole public API of libpvscsi. */
#ifndef PVSCSI_PVSCSI_H
#define PVSCSI_PVSCSI_H

#include "pvscsi/sense.h"
#include "pvscsi/lun.h"
#include "pvscsi/map.h"
#include "pvscsi/resolve.h"
#include "pvscsi/spec.h"

#endif
