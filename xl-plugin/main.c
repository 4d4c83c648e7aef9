/* main.c - xl-pvscsi, installed as /usr/local/sbin/xl: see front.c. */
#include "xlp.h"

int main(int argc, char **argv)
{
	return xlp_front_main(argc, argv);
}
