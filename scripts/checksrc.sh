#!/bin/sh
# SPDX-License-Identifier: ISC
# Source checks (curl checksrc style): banned functions in src/ and fcgi/,
# no malloc/free in HTTP handlers (they use the request arena), no kill()
# with a constant pid.  Prints offending lines; exits 1 if there are any.
set -u
cd "$(dirname "$0")/.."
rc=0

banned='\<(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|system|popen|tmpnam|mktemp)[[:space:]]*\('
if grep -nE "$banned" src/*.c src/*.h fcgi/*.c fcgi/*.h; then
	echo "checksrc: banned function used (see above)" >&2
	rc=1
fi
if grep -nE '\<(malloc|calloc|realloc|free)[[:space:]]*\(' fcgi/api_*.c; then
	echo "checksrc: handlers allocate from the arena, not malloc" >&2
	rc=1
fi
if grep -nE '\<kill[[:space:]]*\([[:space:]]*-?[0-9]' src/*.c fcgi/*.c; then
	echo "checksrc: kill() with a constant pid" >&2
	rc=1
fi
exit $rc
