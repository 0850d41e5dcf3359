/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stddef.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
