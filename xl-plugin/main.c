/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - xl-pvscsi, installed as xl ahead of Xen's: see front.c. */
#include "xlp.h"

int main(int argc, char **argv)
{
	return xlp_front_main(argc, argv);
}
