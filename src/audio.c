/* SPDX-License-Identifier: ISC */
#include "config.h"

#include "audio.h"
