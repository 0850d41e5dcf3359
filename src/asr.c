/* SPDX-License-Identifier: ISC */
#include "config.h"

#include "asr.h"
