/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xs_nodes.h - the xenstore names of a vscsiif device, in one table that
 * pvscsid and the xl front both use, so that the writer and the reader of a
 * node cannot spell it differently.
 *
 * Layout (Xen's public/io/vscsiif.h, docs/toolstack.md "Xenstore"):
 *   XSN_BACKEND_ROOT/<domid>/<vhost>/    frontend, frontend-id, online,
 *                                        state, feature-host (toolstack);
 *                                        feature-sg-grant (backend)
 *       vscsi-devs/dev-<n>/              p-dev, v-dev, p-devname, state;
 *                                        medium-seq, medium-force (toolstack),
 *                                        medium-done, medium-error (backend)
 *   XSN_FRONTEND_DIR                     backend, backend-id, state;
 *                                        ring-ref, event-channel (frontend)
 *
 * Macros rather than constants: they are pasted into path formats
 * ("%s/" XSN_STATE), and one printf then builds the whole path.
 */
#ifndef PVX_XS_NODES_H
#define PVX_XS_NODES_H

/* Directories, as printf formats. */
/* Every domain's home directory is below it. */
#define XSN_DOMAINS "/local/domain"
/* A domain's home directory: its domid. */
#define XSN_DOMAIN_DIR "/local/domain/%u"
/* The backend domain's vscsi directory: %u is the backend's domid. */
#define XSN_BACKEND_ROOT "/local/domain/%u/backend/vscsi"
/*
 * The same with the device type as a %s: pvscsid --backend-type serves
 * another type beside xen-scsiback (xen-scsifront follows its own "backend"
 * node, whatever the type).
 */
#define XSN_BACKEND_TYPE_ROOT "/local/domain/%u/backend/%s"
#define XSN_BACKEND_TYPE      "vscsi"
/* A controller's frontend directory: guest domid, vhost. */
#define XSN_FRONTEND_DIR "/local/domain/%u/device/vscsi/%u"
/*
 * Where xenbus_dev_fatal() records a backend's reason for failing: backend
 * domid, backend type (XSN_BACKEND_TYPE unless pvscsid --backend-type),
 * guest domid, vhost; the reason goes in XSN_ERROR below it.
 */
#define XSN_ERROR_TYPE_DIR "/local/domain/%u/error/backend/%s/%u/%u"

/* Any xenbus device. */
#define XSN_STATE       "state"
#define XSN_FRONTEND    "frontend"
#define XSN_FRONTEND_ID "frontend-id"
#define XSN_BACKEND     "backend"
#define XSN_BACKEND_ID  "backend-id"
#define XSN_ONLINE      "online"
#define XSN_ERROR       "error"
/* A domain's own nodes: the domid (read relative, as our own), name, and /vm/<uuid> path. */
#define XSN_DOMID "domid"
#define XSN_NAME  "name"
#define XSN_VM    "vm"

/* xenstored's special watch paths: a domain was created, or destroyed. */
#define XSN_INTRODUCE_DOMAIN "@introduceDomain"
#define XSN_RELEASE_DOMAIN   "@releaseDomain"

/* vscsiif: the controller. */
#define XSN_FEATURE_HOST     "feature-host"
#define XSN_FEATURE_SG_GRANT "feature-sg-grant"
#define XSN_RING_REF         "ring-ref"
#define XSN_EVENT_CHANNEL    "event-channel"
#define XSN_VSCSI_DEVS       "vscsi-devs"
/* A device's directory below XSN_VSCSI_DEVS is XSN_DEV and its number. */
#define XSN_DEV "dev-"

/* vscsiif: one device. */
#define XSN_P_DEV     "p-dev"
#define XSN_P_DEVNAME "p-devname"
#define XSN_V_DEV     "v-dev"
/*
 * A cdrom: device's medium change (xl scsi-insert / scsi-eject): the
 * toolstack rewrites p-dev to the new medium ("cdrom:" for none), sets
 * medium-force, and bumps medium-seq; the backend applies it and answers
 * medium-error (the reason, "" for success) and then medium-done = that seq.
 */
#define XSN_MEDIUM_SEQ   "medium-seq"
#define XSN_MEDIUM_FORCE "medium-force"
#define XSN_MEDIUM_DONE  "medium-done"
#define XSN_MEDIUM_ERROR "medium-error"

#endif
