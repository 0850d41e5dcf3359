/* SPDX-License-Identifier: ISC */
#include <stdio.h>

int
main(void)
{
	return 1;
}
