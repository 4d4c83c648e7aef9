/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xml.c - libvirt's XML for the xl front: xl scsi-attach --xml takes
 * <hostdev mode='subsystem' type='scsi'> and <disk type='file'> elements
 * (one, or several in <devices>), xl scsi-list --xml writes a domain's
 * devices back as the same elements.
 *
 * An element becomes the two arguments of a plain scsi-attach (PDEV and
 * VDEV[,OPTION...]) and then takes the very same way: the entry parser,
 * the resolver, the checks and the write.  The XML adds a syntax, never a
 * second set of rules; libvirt's <adapter> forms are p-devs of their own
 * (docs/resolve.md, "Adapters").  Since that text is built from attribute
 * values, a comma in one would add options nobody wrote: every value is
 * held to the characters its field can have before it is used.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "xlp.h"

/* Far more than a domain's devices take; a bound on what is read from a pipe. */
#define XML_MAX_INPUT XLP_XML_MAX_INPUT

#define DIGITS "0123456789"
#define NAMECH "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define HEXCH  "0123456789abcdefABCDEFxX"

/* Where messages go while one document is parsed. */
struct px {
	const char *name; /* the file, "stdin" */
	char *err;
	size_t errlen;
};

/* "NAME:LINE: <ELEMENT>: WHAT" in p->err; -EINVAL. */
__attribute__((format(printf, 3, 4))) static int bad(struct px *p, xmlNodePtr n, const char *fmt,
                                                     ...)
{
	char msg[XLP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xlp_snprintf(p->err, p->errlen, "%s:%ld: <%s>: %s", p->name, xmlGetLineNo(n),
	             (const char *)n->name, msg);
	return -EINVAL;
}

static bool is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name);
}

/* Every character of @s (at least one) is in @set. */
static bool only(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* Attribute @key of @n into @buf: 1, 0 when it is absent, -EINVAL when it does not fit. */
static int attr(struct px *p, xmlNodePtr n, const char *key, char *buf, size_t len)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST key);
	size_t l;

	buf[0] = '\0';
	if (!v)
		return 0;
	l = strlen((const char *)v);
	if (l >= len) {
		int rc = bad(p, n, "%s='%.40s...' is too long (at most %zu characters)", key,
		             (const char *)v, len - 1);

		xmlFree(v);
		return rc;
	}
	memcpy(buf, v, l + 1);
	xmlFree(v);
	return 1;
}

/* A decimal attribute (libvirt writes them so), 0 when absent and not @required. */
static int number(struct px *p, xmlNodePtr n, const char *key, bool required, uint32_t *out)
{
	char v[32];
	int rc = attr(p, n, key, v, sizeof(v));
	unsigned long long x;

	*out = 0;
	if (rc < 0)
		return rc;
	if (!rc)
		return required ? bad(p, n, "no %s= (a decimal number)", key) : 0;
	if (!only(v, DIGITS))
		return bad(p, n, "%s='%s' is not a decimal number", key, v);
	x = strtoull(v, NULL, 10);
	if (strlen(v) > 10 || x > UINT32_MAX)
		return bad(p, n, "%s='%s' is over 4294967295", key, v);
	*out = (uint32_t)x;
	return 0;
}

/* sgio= and rawio= of a <hostdev> or <disk>: whether they ask for feature-host. */
static int raw_attrs(struct px *p, xmlNodePtr n, bool *feature_host)
{
	char sgio[32], rawio[32];
	int s = attr(p, n, "sgio", sgio, sizeof(sgio));
	int r = s < 0 ? s : attr(p, n, "rawio", rawio, sizeof(rawio));

	if (s < 0 || r < 0)
		return s < 0 ? s : r;
	if (s && strcmp(sgio, "filtered") && strcmp(sgio, "unfiltered"))
		return bad(p, n, "sgio='%s': expected 'filtered' or 'unfiltered'", sgio);
	if (r && strcmp(rawio, "yes") && strcmp(rawio, "no"))
		return bad(p, n, "rawio='%s': expected 'yes' or 'no'", rawio);
	/* Either way libvirt lets the guest's commands reach the device unchecked. */
	*feature_host = (s && !strcmp(sgio, "unfiltered")) || (r && !strcmp(rawio, "yes"));
	return 0;
}

/* The guest's <address type='drive' .../>: v-dev C:B:T:U (absent fields 0, as in libvirt). */
static int guest_address(struct px *p, xmlNodePtr a, char *vdev, size_t len)
{
	uint32_t c, b, t, u;
	char type[32];
	int rc = attr(p, a, "type", type, sizeof(type));

	if (rc < 0)
		return rc;
	if (!rc || strcmp(type, "drive"))
		return bad(p, a,
		           "%s%s%s: the guest's address of a SCSI LUN is type='drive' "
		           "controller='C' bus='B' target='T' unit='U' (v-dev C:B:T:U)",
		           rc ? "type='" : "no type=", rc ? type : "", rc ? "'" : "");
	if ((rc = number(p, a, "controller", false, &c)) || (rc = number(p, a, "bus", false, &b)) ||
	    (rc = number(p, a, "target", false, &t)) || (rc = number(p, a, "unit", false, &u)))
		return rc;
	xlp_snprintf(vdev, len, "%u:%u:%u:%u", c, b, t, u);
	return 0;
}

/* An <adapter> as the p-dev prefix docs/resolve.md gives it. */
static int adapter_text(struct px *p, xmlNodePtr a, char *buf, size_t len)
{
	char type[32], name[128], parent[128], uid[32], wwpn[64], wwnn[64];
	int ht, hn, hp, hu, hw, hwn;

	if ((ht = attr(p, a, "type", type, sizeof(type))) < 0 ||
	    (hn = attr(p, a, "name", name, sizeof(name))) < 0 ||
	    (hp = attr(p, a, "parent", parent, sizeof(parent))) < 0 ||
	    (hu = attr(p, a, "unique_id", uid, sizeof(uid))) < 0 ||
	    (hw = attr(p, a, "wwpn", wwpn, sizeof(wwpn))) < 0 ||
	    (hwn = attr(p, a, "wwnn", wwnn, sizeof(wwnn))) < 0)
		return -EINVAL;
	if (ht && !strcmp(type, "fc_host")) {
		if (hn || hu)
			return bad(p, a,
			           "name= and unique_id= name a type='scsi_host' adapter; an "
			           "fc_host is named by wwpn= (and wwnn=)");
		if (!hw)
			return bad(p, a,
			           "type='fc_host' needs wwpn= (its port name, 16 hex digits)");
		if (!only(wwpn, HEXCH))
			return bad(p, a, "wwpn='%s' is not hexadecimal", wwpn);
		if (hwn && !only(wwnn, HEXCH))
			return bad(p, a, "wwnn='%s' is not hexadecimal", wwnn);
		/*
		 * parent= says where libvirt would create the NPIV vport; here the
		 * vport exists already, and its WWPN alone names it.
		 */
		xlp_snprintf(buf, len, "fc_host/wwpn=%s%s%s", wwpn, hwn ? "/wwnn=" : "",
		             hwn ? wwnn : "");
		return 0;
	}
	if (ht && strcmp(type, "scsi_host"))
		return bad(p, a, "type='%s': expected 'scsi_host' (the default) or 'fc_host'",
		           type);
	if (hw || hwn)
		return bad(p, a, "wwpn= and wwnn= name a type='fc_host' adapter");
	if (hn && hp)
		return bad(p, a, "name= and parent= both name the adapter: give one of them");
	if (hn) {
		if (strncmp(name, "scsi_host", 9) || !only(name + 9, DIGITS))
			return bad(p, a,
			           "name='%s': expected scsi_hostN, N the host's number (as in "
			           "/sys/class/scsi_host/hostN)",
			           name);
		if (hu)
			return bad(p, a, "unique_id= goes with parent=, not with name=");
		xlp_snprintf(buf, len, "%s", name);
		return 0;
	}
	if (hp) {
		if (strncmp(parent, "pci_", 4) || !only(parent, NAMECH))
			return bad(p, a,
			           "parent='%s': expected a PCI device's node device name, "
			           "pci_DDDD_BB_SS_F",
			           parent);
		if (hu && !only(uid, DIGITS))
			return bad(p, a, "unique_id='%s' is not a decimal number", uid);
		xlp_snprintf(buf, len, "%s%s%s", parent, hu ? "/unique_id=" : "", hu ? uid : "");
		return 0;
	}
	return bad(p, a,
	           "names no adapter: expected name='scsi_hostN', parent='pci_DDDD_BB_SS_F' "
	           "[unique_id='N'], or type='fc_host' wwpn='W' [wwnn='W']");
}

/* A <hostdev>'s <source>: the p-dev ADAPTER:B:T:U. */
static int hostdev_source(struct px *p, xmlNodePtr s, char *pdev, size_t len)
{
	xmlNodePtr adapter = NULL, addr = NULL;
	char proto[64], ad[XLP_SPEC_MAX];
	uint32_t b, t, u;
	int rc = attr(p, s, "protocol", proto, sizeof(proto));

	if (rc < 0)
		return rc;
	if (rc)
		return bad(p, s,
		           "protocol='%s': only a LUN of one of this host's adapters (<adapter> "
		           "and <address>) can be passed through",
		           proto);
	for (xmlNodePtr n = s->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "adapter") && !adapter)
			adapter = n;
		else if (is(n, "address") && !addr)
			addr = n;
		else if (is(n, "adapter") || is(n, "address"))
			return bad(p, n, "a second one in <source>");
		else
			return bad(p, n,
			           "unexpected in <source>: expected <adapter> and <address>");
	}
	if (!adapter)
		return bad(p, s,
		           "no <adapter>: expected <adapter name='scsi_hostN'/>, <adapter "
		           "parent='pci_DDDD_BB_SS_F' unique_id='N'/> or <adapter type='fc_host' "
		           "wwpn='W'/>");
	if (!addr)
		return bad(p, s,
		           "no <address bus='B' target='T' unit='U'/>: the LUN on the adapter");
	if ((rc = adapter_text(p, adapter, ad, sizeof(ad))) ||
	    (rc = number(p, addr, "bus", true, &b)) || (rc = number(p, addr, "target", true, &t)) ||
	    (rc = number(p, addr, "unit", true, &u)))
		return rc;
	xlp_snprintf(pdev, len, "%s:%u:%u:%u", ad, b, t, u);
	return 0;
}

/* The entry of an element, through scsi-attach's own parser. */
static int make_entry(struct px *p, xmlNodePtr n, const char *pdev, const char *vdev, bool ro,
                      bool shareable, bool feature_host, uint32_t bs, enum xlp_cache cache,
                      struct xlp_xml_item *it)
{
	char pd[XLP_SPEC_MAX + 32], vo[128], why[XLP_ERR_MAX];

	xlp_snprintf(pd, sizeof(pd), "%s%s%s", pdev,
	             bs == 4096 ? ",bs=4096" : (bs == 512 ? ",bs=512" : ""), xlp_cache_opt(cache));
	xlp_snprintf(vo, sizeof(vo), "%s%s%s%s", vdev, feature_host ? ",feature-host" : "",
	             ro ? ",ro" : "", shareable ? ",shareable" : "");
	if (xlp_entry_parse2(pd, vo, &it->e, why, sizeof(why)))
		return bad(p, n, "%s (as xl scsi-attach DOMAIN %s %s)", why, pd, vo);
	xlp_snprintf(it->where, sizeof(it->where), "%s:%ld: <%s>", p->name, xmlGetLineNo(n),
	             (const char *)n->name);
	return 0;
}

static int parse_hostdev(struct px *p, xmlNodePtr h, struct xlp_xml_item *it)
{
	char mode[32], type[32], pdev[XLP_SPEC_MAX], vdev[64];
	xmlNodePtr src = NULL, addr = NULL;
	bool ro = false, shareable = false, fh = false;
	int rc;

	if ((rc = attr(p, h, "mode", mode, sizeof(mode))) < 0)
		return rc;
	if (rc && strcmp(mode, "subsystem"))
		return bad(p, h, "mode='%s': only mode='subsystem' (a host device passed through)",
		           mode);
	if ((rc = attr(p, h, "type", type, sizeof(type))) < 0)
		return rc;
	if (!rc)
		return bad(p, h, "no type=: expected type='scsi'");
	if (strcmp(type, "scsi"))
		return bad(p, h, "type='%s' is not supported: only SCSI host devices (type='scsi')",
		           type);
	if ((rc = raw_attrs(p, h, &fh)))
		return rc;
	for (xmlNodePtr n = h->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "source") && !src)
			src = n;
		else if (is(n, "address") && !addr)
			addr = n;
		else if (is(n, "readonly"))
			ro = true;
		else if (is(n, "shareable"))
			shareable = true;
		else if (is(n, "alias"))
			continue; /* libvirt's name of the device in a running domain */
		else if (is(n, "source") || is(n, "address"))
			return bad(p, n, "a second one in <hostdev>");
		else
			return bad(p, n, "not supported in a SCSI <hostdev>");
	}
	if (!src)
		return bad(p, h, "no <source>: the host's LUN (<adapter> and <address>)");
	if (!addr)
		return bad(p, h,
		           "no <address type='drive' controller='C' bus='B' target='T' unit='U'/>: "
		           "the guest's address of the LUN (v-dev C:B:T:U)");
	if ((rc = hostdev_source(p, src, pdev, sizeof(pdev))) ||
	    (rc = guest_address(p, addr, vdev, sizeof(vdev))))
		return rc;
	return make_entry(p, h, pdev, vdev, ro, shareable, fh, 0, XLP_CACHE_UNSET, it);
}

static int parse_disk(struct px *p, xmlNodePtr d, struct xlp_xml_item *it)
{
	char type[32], device[32], v[64], file[XLP_SPEC_MAX], pdev[XLP_SPEC_MAX + 8], vdev[64];
	xmlNodePtr src = NULL, addr = NULL, drv = NULL, tgt = NULL, bio = NULL;
	bool ro = false, shareable = false, fh = false, cdrom;
	enum xlp_cache cache = XLP_CACHE_UNSET;
	uint32_t bs = 0;
	int rc;

	file[0] = '\0';
	if ((rc = attr(p, d, "type", type, sizeof(type))) < 0)
		return rc;
	if (rc && strcmp(type, "file"))
		return bad(p, d,
		           "type='%s' is not supported: only type='file' (an image); a host LUN "
		           "is a <hostdev mode='subsystem' type='scsi'>",
		           type);
	if ((rc = attr(p, d, "device", device, sizeof(device))) < 0)
		return rc;
	if (!rc)
		strcpy(device, "disk");
	if (strcmp(device, "disk") && strcmp(device, "lun") && strcmp(device, "cdrom"))
		return bad(p, d, "device='%s': expected 'disk', 'lun' or 'cdrom'", device);
	cdrom = !strcmp(device, "cdrom");
	if ((rc = raw_attrs(p, d, &fh)))
		return rc;
	for (xmlNodePtr n = d->children; n; n = n->next) {
		xmlNodePtr *one = NULL;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "source"))
			one = &src;
		else if (is(n, "address"))
			one = &addr;
		else if (is(n, "driver"))
			one = &drv;
		else if (is(n, "target"))
			one = &tgt;
		else if (is(n, "blockio"))
			one = &bio;
		else if (is(n, "readonly"))
			ro = true;
		else if (is(n, "shareable"))
			shareable = true;
		else if (!is(n, "alias"))
			return bad(p, n, "not supported in a <disk>");
		if (one && *one)
			return bad(p, n, "a second one in <disk>");
		if (one)
			*one = n;
	}
	if (drv && (rc = attr(p, drv, "type", v, sizeof(v))) < 0)
		return rc;
	if (drv && rc && strcmp(v, "raw"))
		return bad(p, drv, "type='%s': only raw images (pvscsid reads the file as it is)",
		           v);
	if (drv && (rc = attr(p, drv, "cache", v, sizeof(v))) < 0)
		return rc;
	/*
	 * Only libvirt's values that pvscsid has an equal of: 'none' is O_DIRECT
	 * with the guest's flushes kept, as QEMU's; writeback is the default.
	 * writethrough, directsync and unsafe would each need a write-cache
	 * behaviour pvscsid does not have.
	 */
	if (drv && rc && !strcmp(v, "none"))
		cache = XLP_CACHE_NONE;
	else if (drv && rc && strcmp(v, "writeback") && strcmp(v, "default"))
		return bad(p, drv,
		           "cache='%s': expected 'none' (O_DIRECT, xl's cache=none), 'writeback' "
		           "or 'default'",
		           v);
	if (tgt && (rc = attr(p, tgt, "bus", v, sizeof(v))) < 0)
		return rc;
	if (tgt && rc && strcmp(v, "scsi"))
		return bad(p, tgt, "bus='%s': a PVSCSI LUN is on bus='scsi'", v);
	if (bio && (rc = number(p, bio, "logical_block_size", false, &bs)))
		return rc;
	if (bs && bs != 512 && bs != 4096)
		return bad(p, bio, "logical_block_size='%u': expected 512 or 4096", bs);
	rc = src ? attr(p, src, "file", file, sizeof(file)) : 0;
	if (rc < 0)
		return rc;
	if (!rc && !cdrom)
		return bad(p, src ? src : d, "no <source file='PATH'/>: the image to attach");
	if (rc && !*file)
		return bad(p, src, "file='': expected the image's path");
	if (strchr(file, ','))
		return bad(p, src, "file='%s': a p-dev's path cannot hold a comma", file);
	if (!addr)
		return bad(p, d,
		           "no <address type='drive' controller='C' bus='B' target='T' unit='U'/>: "
		           "the guest's address of the LUN (v-dev C:B:T:U)");
	if ((rc = guest_address(p, addr, vdev, sizeof(vdev))))
		return rc;
	/* No <source> in a cdrom drive: an empty one, as libvirt has it. */
	xlp_snprintf(pdev, sizeof(pdev), "%s:%s", cdrom ? "cdrom" : "file", file);
	return make_entry(p, d, pdev, vdev, ro, shareable, fh, bs, cache, it);
}

void xlp_xml_items_free(struct xlp_xml_items *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool device_elem(xmlNodePtr n)
{
	return is(n, "hostdev") || is(n, "disk");
}

static int add_item(struct px *p, xmlNodePtr n, struct xlp_xml_items *out);

/* The elements to attach; each one's v-dev once. */
static int parse_doc(struct px *p, xmlNodePtr root, struct xlp_xml_items *out)
{
	size_t n = 0;
	int rc;

	if (device_elem(root))
		return add_item(p, root, out);
	if (!is(root, "devices"))
		return bad(p, root,
		           "expected <hostdev mode='subsystem' type='scsi'>, <disk type='file'>, "
		           "or <devices> holding them");
	/* Every child checked before any is parsed: the first error is the outermost. */
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!device_elem(c))
			return bad(p, c,
			           "not a SCSI device: <devices> may hold <hostdev "
			           "type='scsi'> and <disk type='file'> only");
		n++;
	}
	if (!n)
		return bad(p, root, "holds no <hostdev> or <disk>: nothing to attach");
	for (xmlNodePtr c = root->children; c; c = c->next)
		if (device_elem(c) && (rc = add_item(p, c, out)))
			return rc;
	return 0;
}

/* @text as a document, or NULL with the one line saying why in @err. */
static xmlDocPtr read_doc(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;

	if (len > XML_MAX_INPUT) {
		xlp_snprintf(err, errlen, "%s: larger than %u bytes: not a device's XML", name,
		             XML_MAX_INPUT);
		return NULL;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		xlp_snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	/*
	 * No network, no entities from outside the document, and libxml2's own
	 * messages kept from stderr: the one line below says what went wrong.
	 * Line numbers past 65535 are kept (BIG_LINES) for the messages.
	 */
	doc = xmlCtxtReadMemory(ctxt, text, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
	                            XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[512] = "unknown error";

		if (e && e->message) {
			xlp_snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		xlp_snprintf(err, errlen, "%s:%d: not well-formed XML: %s", name, e ? e->line : 0,
		             msg);
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/*
 * Read @text as a document and hand its root element to @fn; a -ENOMEM of
 * @fn's is said in @err.  0 or -errno, @err saying why.
 */
static int with_root(const char *text, size_t len, const char *name, char *err, size_t errlen,
                     int (*fn)(struct px *p, xmlNodePtr root, void *arg), void *arg)
{
	struct px p = {name, err, errlen};
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	doc = read_doc(text, len, name, err, errlen);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	if (!root) {
		xlp_snprintf(err, errlen, "%s: no element", name);
		rc = -EINVAL;
	} else {
		rc = fn(&p, root, arg);
	}
	xmlFreeDoc(doc);
	if (rc == -ENOMEM)
		xlp_snprintf(err, errlen, "%s: out of memory", name);
	return rc;
}

static int doc_items(struct px *p, xmlNodePtr root, void *arg)
{
	return parse_doc(p, root, arg);
}

int xlp_xml_parse(const char *text, size_t len, const char *name, struct xlp_xml_items *out,
                  char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = with_root(text, len, name, err, errlen, doc_items, out);
	if (rc)
		xlp_xml_items_free(out);
	return rc;
}

/* ------------------------------------------------------- a libvirt domain */

/* <vscsi>PDEV,VDEV[,OPTION...]</vscsi>: a vscsi= entry, for the p-dev forms libvirt has none of. */
static int parse_vscsi(struct px *p, xmlNodePtr n, struct xlp_xml_item *it)
{
	xmlChar *t = xmlNodeGetContent(n);
	char why[XLP_ERR_MAX], *s, *e;
	int rc = 0;

	if (!t)
		return -ENOMEM;
	s = (char *)t;
	s += strspn(s, " \t\r\n");
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]))
		*--e = '\0';
	if (!*s)
		rc = bad(p, n, "empty: expected PDEV,VDEV[,OPTION...] as in a vscsi= entry");
	else if (xlp_entry_parse(s, &it->e, why, sizeof(why)))
		rc = bad(p, n, "%s", why);
	else
		xlp_snprintf(it->where, sizeof(it->where), "%s:%ld: <%s>", p->name, xmlGetLineNo(n),
		             (const char *)n->name);
	xmlFree(t);
	return rc;
}

/* Append the device @n (already known to be one) to @out, its v-dev not taken yet. */
static int add_item(struct px *p, xmlNodePtr n, struct xlp_xml_items *out)
{
	struct xlp_xml_item *v = realloc(out->v, (out->n + 1) * sizeof(*v)), *it;
	int rc;

	if (!v)
		return -ENOMEM;
	out->v = v;
	it = &v[out->n];
	memset(it, 0, sizeof(*it));
	if (is(n, "hostdev"))
		rc = parse_hostdev(p, n, it);
	else if (is(n, "disk"))
		rc = parse_disk(p, n, it);
	else
		rc = parse_vscsi(p, n, it);
	if (rc)
		return rc;
	for (size_t k = 0; k < out->n; k++) {
		char vd[48];

		if (!xlp_hctl_eq(&out->v[k].e.vdev, &it->e.vdev))
			continue;
		xlp_hctl_str(&it->e.vdev, vd);
		return bad(p, n, "v-dev %s is also the address of %s", vd, out->v[k].where);
	}
	out->n++;
	return 0;
}

/* The value of attribute @key of @n (NULL when absent), copied into @buf. */
static bool get(xmlNodePtr n, const char *key, char *buf, size_t len)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST key);

	buf[0] = '\0';
	if (!v)
		return false;
	xlp_snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	return true;
}

static int parse_domain(struct px *p, xmlNodePtr root, struct xlp_xml_domain *out)
{
	char v[64];
	int rc;

	if (!is(root, "domain"))
		return bad(p, root, "expected libvirt's <domain> (the hook's standard input)");
	if (get(root, "id", v, sizeof(v))) {
		if (!only(v, DIGITS) || strlen(v) > 10 || strtoull(v, NULL, 10) >= UINT32_MAX)
			return bad(p, root, "id='%s' is not a domain id", v);
		out->domid = (uint32_t)strtoul(v, NULL, 10);
	}
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (is(n, "name") || is(n, "uuid")) {
			xmlChar *t = xmlNodeGetContent(n);

			if (!t)
				return -ENOMEM;
			if (is(n, "name"))
				xlp_snprintf(out->name, sizeof(out->name), "%s", (const char *)t);
			else
				xlp_snprintf(out->uuid, sizeof(out->uuid), "%s", (const char *)t);
			xmlFree(t);
		} else if (is(n, "devices")) {
			/*
			 * Only SCSI hostdevs: libvirt's other devices (PCI and USB
			 * hostdevs, its disks) are its own, and libxl's.
			 */
			for (xmlNodePtr d = n->children; d; d = d->next) {
				char mode[32], type[32];

				if (!is(d, "hostdev"))
					continue;
				get(d, "type", type, sizeof(type));
				if (strcmp(type, "scsi") || (get(d, "mode", mode, sizeof(mode)) &&
				                             strcmp(mode, "subsystem")))
					continue;
				if ((rc = add_item(p, d, &out->items)))
					return rc;
			}
		} else if (is(n, "metadata")) {
			/*
			 * Ours is the element in our namespace, whatever its prefix;
			 * inside it, devices by their local name in any namespace or
			 * none: virsh metadata --set puts every element in ours.
			 */
			for (xmlNodePtr m = n->children; m; m = m->next) {
				if (m->type != XML_ELEMENT_NODE || !m->ns ||
				    !xmlStrEqual(m->ns->href, BAD_CAST XLP_LIBVIRT_NS))
					continue;
				for (xmlNodePtr d = m->children; d; d = d->next) {
					if (d->type != XML_ELEMENT_NODE)
						continue;
					if (!is(d, "hostdev") && !is(d, "disk") && !is(d, "vscsi"))
						return bad(p, d,
						           "not a pvscsi device: expected <hostdev "
						           "type='scsi'>, <disk type='file'> or "
						           "<vscsi>PDEV,VDEV[,OPTION...]</vscsi>");
					if ((rc = add_item(p, d, &out->items)))
						return rc;
				}
			}
		}
	}
	return 0;
}

static int doc_domain(struct px *p, xmlNodePtr root, void *arg)
{
	return parse_domain(p, root, arg);
}

int xlp_xml_domain(const char *text, size_t len, const char *name, struct xlp_xml_domain *out,
                   char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->domid = XLP_NO_DOMID;
	rc = with_root(text, len, name, err, errlen, doc_domain, out);
	if (rc)
		xlp_xml_items_free(&out->items);
	return rc;
}

/* ------------------------------------------------------------ scsi-attach --xml */

/*
 * What the store cannot see yet: two elements of one document naming the
 * same LUN, or asking one controller for both feature-host and not.
 */
static int check_batch(struct xlp_ctx *c, const struct xlp_xml_items *l, const struct xlp_dev *d)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t k = 0; k < i; k++) {
			bool same = false;

			if (d[i].e.kind == XLP_HOST && d[k].e.kind == XLP_HOST)
				same = xlp_hctl_eq(&d[i].hctl, &d[k].hctl);
			else if (d[i].e.kind == XLP_FILE && d[k].e.kind == XLP_FILE)
				same = d[i].st_dev == d[k].st_dev && d[i].st_ino == d[k].st_ino;
			if (same) {
				xlp_errf(c,
				         "%s: PDEV '%s' is the LUN of %s already (%s); nothing was "
				         "attached\n",
				         l->v[i].where, d[i].e.pdev, l->v[k].where, d[i].p_dev);
				return -EBUSY;
			}
			if (d[i].e.vdev.host == d[k].e.vdev.host &&
			    d[i].e.feature_host != d[k].e.feature_host) {
				xlp_errf(
				    c,
				    "%s: feature-host must agree for all devices of controller "
				    "%u: this one asks for feature-host=%d (sgio, rawio), %s for "
				    "feature-host=%d; nothing was attached\n",
				    l->v[i].where, d[i].e.vdev.host, d[i].e.feature_host,
				    l->v[k].where, d[k].e.feature_host);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int attach_all(struct xlp_ctx *c, uint32_t domid, const struct xlp_xml_items *l,
                      const struct xlp_dev *d, const struct xlp_attach_opts *o)
{
	size_t i;
	int rc = xlp_lock(c);

	if (rc)
		return rc;
	/* Under the lock, so that every answer still holds when the first is written. */
	for (i = 0; i < l->n; i++) {
		rc = xlp_attach_check(c, domid, &d[i], o);
		if (rc) {
			xlp_errf(c, "%s: refused (above); nothing was attached\n", l->v[i].where);
			goto out;
		}
	}
	for (i = 0; i < l->n; i++) {
		rc = xlp_attach_dev(c, domid, &d[i], o, NULL, NULL);
		if (rc)
			break;
	}
	if (!rc || c->dry_run)
		goto out;
	xlp_errf(c, "%s: not attached%s\n", l->v[i].where,
	         i ? "; detaching the devices attached before it" : "; nothing was attached");
	while (i-- > 0) {
		char vd[48];

		xlp_hctl_str(&d[i].e.vdev, vd);
		if (xlp_detach_vdev(c, domid, &d[i].e.vdev))
			xlp_errf(c,
			         "%s: v-dev %s is still attached: detach it with xl scsi-detach\n",
			         l->v[i].where, vd);
	}
out:
	xlp_unlock(c);
	return rc;
}

int xlp_xml_attach(struct xlp_ctx *c, uint32_t domid, const char *file)
{
	bool in = !strcmp(file, "-");
	const char *name = in ? "stdin" : file;
	struct xlp_xml_items l = {0};
	char err[XLP_ERR_MAX];
	size_t len = 0;
	char *text;
	FILE *f;
	int rc;

	f = in ? c->in : fopen(file, "r");
	if (!f) {
		rc = -errno;
		xlp_errf(c, "%s: %s; nothing was attached\n", file, strerror(errno));
		return rc;
	}
	text = xlp_read_stream(f, XML_MAX_INPUT, &len);
	rc = text ? 0 : -errno;
	if (!in)
		fclose(f);
	if (!text) {
		xlp_errf(c, "%s: %s; nothing was attached\n", name,
		         rc == -EFBIG ? "larger than 4 MiB: not a device's XML" : strerror(-rc));
		return rc;
	}
	rc = xlp_xml_parse(text, len, name, &l, err, sizeof(err));
	free(text);
	if (rc) {
		xlp_errf(c, "%s; nothing was attached\n", err);
		return rc;
	}
	rc = xlp_xml_attach_items(c, domid, &l, NULL);
	xlp_xml_items_free(&l);
	return rc;
}

int xlp_xml_attach_items(struct xlp_ctx *c, uint32_t domid, const struct xlp_xml_items *l,
                         const struct xlp_attach_opts *o)
{
	struct xlp_dev *d = NULL;
	char err[XLP_ERR_MAX];
	int rc = 0;

	/* struct xlp_dev is kilobytes: never an array on the stack. */
	d = calloc(l->n ? l->n : 1, sizeof(*d));
	if (!d) {
		xlp_errf(c, "out of memory; nothing was attached\n");
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++) {
		rc = xlp_dev_resolve(c, &l->v[i].e, &d[i], err, sizeof(err));
		if (rc) {
			xlp_errf(c, "%s: %s; nothing was attached\n", l->v[i].where, err);
			goto out;
		}
	}
	rc = check_batch(c, l, d);
	if (!rc && domid == XLP_NO_DOMID) {
		/* Only the checks that need no domain: the LUNs' holders. */
		for (size_t i = 0; !rc && i < l->n; i++)
			if ((rc = xlp_attach_check(c, UINT32_MAX, &d[i], o)))
				xlp_errf(c, "%s: refused (above)\n", l->v[i].where);
	} else if (!rc) {
		rc = attach_all(c, domid, l, d, o);
	}
out:
	free(d);
	return rc;
}

/* ------------------------------------------------------------ scsi-list --xml */

static bool adapter_form(const char *s)
{
	return !strncmp(s, "pci_", 4) || !strncmp(s, "fc_host/", 8);
}

/* "...wwpn=0x5001..." -> the 16 digits libvirt writes. */
static const char *no_0x(const char *s)
{
	return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
}

/* <source> of @spec, an adapter form ADAPTER:B:T:U; false when it is none. */
static bool put_source(xmlNodePtr hd, const char *spec)
{
	char a[XLP_SPEC_MAX], *f[3];
	xmlNodePtr src, ad, addr;

	xlp_snprintf(a, sizeof(a), "%s", spec);
	for (int i = 2; i >= 0; i--) {
		f[i] = strrchr(a, ':');
		if (!f[i])
			return false;
		*f[i]++ = '\0';
	}
	src = xmlNewChild(hd, NULL, BAD_CAST "source", NULL);
	ad = xmlNewChild(src, NULL, BAD_CAST "adapter", NULL);
	if (!strncmp(a, "fc_host/", 8)) {
		char *save = NULL;

		xmlNewProp(ad, BAD_CAST "type", BAD_CAST "fc_host");
		for (char *t = strtok_r(a + 8, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
			if (!strncmp(t, "wwnn=", 5))
				xmlNewProp(ad, BAD_CAST "wwnn", BAD_CAST no_0x(t + 5));
			else if (!strncmp(t, "wwpn=", 5))
				xmlNewProp(ad, BAD_CAST "wwpn", BAD_CAST no_0x(t + 5));
		}
	} else if (!strncmp(a, "pci_", 4)) {
		char *slash = strchr(a, '/');

		if (slash)
			*slash++ = '\0';
		xmlNewProp(ad, BAD_CAST "parent", BAD_CAST a);
		if (slash && !strncmp(slash, "unique_id=", 10))
			xmlNewProp(ad, BAD_CAST "unique_id", BAD_CAST(slash + 10));
	} else {
		xmlNewProp(ad, BAD_CAST "name", BAD_CAST a);
	}
	addr = xmlNewChild(src, NULL, BAD_CAST "address", NULL);
	xmlNewProp(addr, BAD_CAST "bus", BAD_CAST f[0]);
	xmlNewProp(addr, BAD_CAST "target", BAD_CAST f[1]);
	xmlNewProp(addr, BAD_CAST "unit", BAD_CAST f[2]);
	return true;
}

static void put_flags(xmlNodePtr n, bool ro, bool shareable)
{
	if (ro)
		xmlNewChild(n, NULL, BAD_CAST "readonly", NULL);
	if (shareable)
		xmlNewChild(n, NULL, BAD_CAST "shareable", NULL);
}

static void put_address(xmlNodePtr n, const struct pvs_hctl *v)
{
	xmlNodePtr a = xmlNewChild(n, NULL, BAD_CAST "address", NULL);
	char s[16];

	xmlNewProp(a, BAD_CAST "type", BAD_CAST "drive");
	xlp_snprintf(s, sizeof(s), "%u", v->host);
	xmlNewProp(a, BAD_CAST "controller", BAD_CAST s);
	xlp_snprintf(s, sizeof(s), "%u", v->channel);
	xmlNewProp(a, BAD_CAST "bus", BAD_CAST s);
	xlp_snprintf(s, sizeof(s), "%u", v->target);
	xmlNewProp(a, BAD_CAST "target", BAD_CAST s);
	xlp_snprintf(s, sizeof(s), "%u", v->lun);
	xmlNewProp(a, BAD_CAST "unit", BAD_CAST s);
}

/* Whether the toolstack record's options ("ro,shareable") hold @opt. */
static bool has_opt(const char *opts, const char *opt)
{
	size_t l = strlen(opt);

	for (const char *s = opts; *s;) {
		size_t n = strcspn(s, ",");

		if (n == l && !strncmp(s, opt, l))
			return true;
		s += n + (s[n] == ',');
	}
	return false;
}

/* libvirt's target names: sda .. sdz, sdaa .., as Linux names disks. */
static void sd_name(unsigned int i, char *buf, size_t len)
{
	char rev[8];
	size_t n = 0;

	do {
		rev[n++] = (char)('a' + i % 26);
		i = i / 26;
	} while (i-- && n < sizeof(rev));
	xlp_snprintf(buf, len, "sd");
	for (size_t k = 2; n && k + 1 < len; k++) {
		buf[k] = rev[--n];
		buf[k + 1] = '\0';
	}
}

/* A stable identity, which names one LUN wherever it is (docs/resolve.md, "Stable spec"). */
static bool identity(const char *s)
{
	return !strncmp(s, "naa.", 4) || !strncmp(s, "eui.", 4) || !strncmp(s, "t10.", 4) ||
	       !strncmp(s, "wwid:", 5) || !strncmp(s, "/dev/disk/by-id/", 16);
}

/*
 * Where the LUN of @b is now: found by its identity, as restore finds it.
 * Only a LUN without one is taken at its p-dev's numbers: an identity not
 * found means the LUN is gone, whatever those numbers name now.
 */
static int where_now(struct xlp_ctx *c, const struct xlp_bdev *b, struct pvs_hctl *h)
{
	struct pvs_pdev *p;
	int rc;

	if (!identity(b->p_devname))
		return xlp_bdev_hctl(c, b, h, NULL);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = pvs_resolve(&c->res, b->p_devname, p, NULL, 0);
	if (!rc)
		*h = (struct pvs_hctl){p->host, p->channel, p->target, p->lun};
	free(p);
	return rc;
}

static int list_host(struct xlp_ctx *c, xmlNodePtr root, const struct xlp_vhost *vh,
                     const struct xlp_bdev *b, const struct pvs_hctl *vd, bool ro)
{
	char spec[XLP_SPEC_MAX];
	struct pvs_hctl h;
	xmlNodePtr hd;

	/*
	 * A PCI or FC adapter names the LUN as the administrator chose to (its
	 * stable spec is that form); any other name becomes the adapter form of
	 * where the LUN is now, libvirt having no identity form.
	 */
	if (adapter_form(b->p_devname))
		xlp_snprintf(spec, sizeof(spec), "%s", b->p_devname);
	else if (adapter_form(b->pdev_given))
		xlp_snprintf(spec, sizeof(spec), "%s", b->pdev_given);
	else if (!where_now(c, b, &h))
		xlp_snprintf(spec, sizeof(spec), "scsi_host%u:%u:%u:%u", h.host, h.channel,
		             h.target, h.lun);
	else
		return -ENOENT;
	hd = xmlNewChild(root, NULL, BAD_CAST "hostdev", NULL);
	xmlNewProp(hd, BAD_CAST "mode", BAD_CAST "subsystem");
	xmlNewProp(hd, BAD_CAST "type", BAD_CAST "scsi");
	if (vh->feature_host || has_opt(b->opts, "feature-host"))
		xmlNewProp(hd, BAD_CAST "sgio", BAD_CAST "unfiltered");
	if (!put_source(hd, spec)) {
		xmlUnlinkNode(hd);
		xmlFreeNode(hd);
		return -ENOENT;
	}
	put_flags(hd, ro, b->shareable);
	put_address(hd, vd);
	return 0;
}

static void list_disk(xmlNodePtr root, const struct pvs_spec *sp, const struct xlp_bdev *b,
                      const struct pvs_hctl *vd, bool ro, unsigned int *disks)
{
	bool cdrom = sp->kind == PVS_SPEC_CDROM;
	xmlNodePtr d = xmlNewChild(root, NULL, BAD_CAST "disk", NULL), t;
	char dev[16];

	xmlNewProp(d, BAD_CAST "type", BAD_CAST "file");
	xmlNewProp(d, BAD_CAST "device", BAD_CAST(cdrom ? "cdrom" : "disk"));
	/* libvirt's order puts <driver> first; written only when it says more than the default. */
	if (sp->direct) {
		xmlNodePtr drv = xmlNewChild(d, NULL, BAD_CAST "driver", NULL);

		xmlNewProp(drv, BAD_CAST "name", BAD_CAST "qemu");
		xmlNewProp(drv, BAD_CAST "type", BAD_CAST "raw");
		xmlNewProp(drv, BAD_CAST "cache", BAD_CAST "none");
	}
	if (sp->name[0]) {
		xmlNodePtr s = xmlNewChild(d, NULL, BAD_CAST "source", NULL);

		xmlNewProp(s, BAD_CAST "file", BAD_CAST sp->name);
	}
	t = xmlNewChild(d, NULL, BAD_CAST "target", NULL);
	sd_name((*disks)++, dev, sizeof(dev));
	xmlNewProp(t, BAD_CAST "dev", BAD_CAST dev);
	xmlNewProp(t, BAD_CAST "bus", BAD_CAST "scsi");
	if (sp->bs) {
		xmlNodePtr bio = xmlNewChild(d, NULL, BAD_CAST "blockio", NULL);

		xmlNewProp(bio, BAD_CAST "logical_block_size",
		           BAD_CAST(sp->bs == 4096 ? "4096" : "512"));
	}
	/* A CD-ROM is read-only whatever was asked, and libvirt says so. */
	put_flags(d, ro || cdrom, b->shareable);
	put_address(d, vd);
}

static void list_dev(struct xlp_ctx *c, xmlNodePtr root, const struct xlp_vhost *vh,
                     const struct xlp_bdev *b, unsigned int *disks)
{
	struct pvs_spec *sp = malloc(sizeof(*sp));
	struct pvs_hctl vd;
	bool ro;

	if (!sp) {
		xlp_errf(c, "warning: out of memory: v-dev %s left out\n", b->v_dev);
		return;
	}
	if (pvs_parse_hctl(b->v_dev, &vd) || pvs_spec_parse(b->p_dev, sp, NULL, 0)) {
		xlp_errf(c,
		         "warning: dev-%u of controller %u (p-dev '%s', v-dev '%s') is not a "
		         "device scsi-attach writes: left out\n",
		         b->n, vh->vhost, b->p_dev, b->v_dev);
		goto out;
	}
	ro = sp->ro || has_opt(b->opts, "ro");
	switch (sp->kind) {
	case PVS_SPEC_MEM:
		xlp_errf(c,
		         "warning: v-dev %s (%s) left out: libvirt's XML has no RAM-backed "
		         "LUN\n",
		         b->v_dev, b->p_dev);
		break;
	case PVS_SPEC_ISCSI:
		xlp_errf(c,
		         "warning: v-dev %s (%s) left out: iSCSI sources are not written to "
		         "libvirt's XML yet\n",
		         b->v_dev, b->p_dev);
		break;
	case PVS_SPEC_RBD:
		xlp_errf(c,
		         "warning: v-dev %s (%s) left out: rbd: LUNs are not listed as XML yet\n",
		         b->v_dev, b->p_dev);
		break;
	case PVS_SPEC_FILE:
	case PVS_SPEC_CDROM:
		if (!xmlCheckUTF8(BAD_CAST sp->name)) {
			xlp_errf(c, "warning: v-dev %s left out: its path is not UTF-8 text\n",
			         b->v_dev);
			break;
		}
		list_disk(root, sp, b, &vd, ro, disks);
		if (sp->inline_writes)
			xlp_errf(c,
			         "warning: v-dev %s (%s) listed without writes=inline: libvirt's "
			         "<disk> has no equal; a <pvscsi:vscsi> entry keeps it\n",
			         b->v_dev, b->p_dev);
		break;
	case PVS_SPEC_SG:
	case PVS_SPEC_HOST:
		if (list_host(c, root, vh, b, &vd, ro))
			xlp_errf(c,
			         "warning: v-dev %s (p-dev %s, %s) left out: the LUN is not on "
			         "this host now\n",
			         b->v_dev, b->p_dev,
			         b->p_devname[0] ? b->p_devname : "no identity");
		break;
	}
out:
	free(sp);
}

int xlp_xml_list(struct xlp_ctx *c, uint32_t domid)
{
	struct xlp_vhost *v = NULL;
	size_t nv = 0;
	unsigned int disks = 0;
	xmlDocPtr doc;
	xmlNodePtr root;
	xmlBufferPtr buf;
	xmlSaveCtxtPtr save;
	int rc = xlp_vhosts_read(c, domid, &v, &nv);

	if (rc) {
		xlp_errf(c, "cannot read domain %u: %s\n", domid, strerror(-rc));
		return rc;
	}
	doc = xmlNewDoc(BAD_CAST "1.0");
	root = doc ? xmlNewNode(NULL, BAD_CAST "devices") : NULL;
	buf = xmlBufferCreate();
	if (!root || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	xmlDocSetRootElement(doc, root);
	for (size_t i = 0; i < nv; i++)
		for (size_t k = 0; k < v[i].ndevs; k++)
			list_dev(c, root, &v[i], &v[i].devs[k], &disks);
	/* libvirt's own XML has no declaration: the output pastes into a domain's. */
	save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
	if (!save || xmlSaveDoc(save, doc) < 0) {
		if (save)
			xmlSaveClose(save);
		rc = -ENOMEM;
		goto out;
	}
	xmlSaveClose(save);
	fwrite(xmlBufferContent(buf), 1, (size_t)xmlBufferLength(buf), c->out);
out:
	if (rc)
		xlp_errf(c, "out of memory\n");
	if (buf)
		xmlBufferFree(buf);
	if (doc)
		xmlFreeDoc(doc);
	xlp_vhosts_free(v, nv);
	return rc;
}
