/* SPDX-License-Identifier: ISC */
#include "config.h"

#include "transcript.h"
