/* SPDX-License-Identifier: ISC */
/*
 * passwd.c - share-link passwords, hashed with scrypt (OpenSSL's
 * EVP_PBE_scrypt) and a random salt, stored as
 * "$scrypt$ln=15,r=8,p=1$<salt>$<hash>" (base64url), so the cost can be
 * raised later without breaking the hashes already stored.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mr.h"

#define LN		15	/* N = 2^15: 32 MiB, tens of ms */
#define R		8
#define P		1
#define SALT_LEN	16
#define HASH_LEN	32
#define MAXMEM		(256ULL * 1024 * 1024)

static int
derive(const char *pw, const unsigned char *salt, size_t saltlen, int ln,
    int r, int p, unsigned char out[HASH_LEN])
{
	if (EVP_PBE_scrypt(pw, strlen(pw), salt, saltlen, (uint64_t)1 << ln,
	    (uint64_t)r, (uint64_t)p, MAXMEM, out, HASH_LEN) != 1)
		return -1;
	return 0;
}

char *
mr_passwd_hash(struct mr_arena *a, const char *pw)
{
	unsigned char	 salt[SALT_LEN], h[HASH_LEN];
	char		*s64, *h64, *out = NULL;

	if (mr_random_bytes(salt, sizeof(salt)) == -1 ||
	    derive(pw, salt, sizeof(salt), LN, R, P, h) == -1)
		goto done;
	if ((s64 = mr_b64url_encode(a, salt, sizeof(salt))) == NULL ||
	    (h64 = mr_b64url_encode(a, h, sizeof(h))) == NULL)
		goto done;
	out = mr_printf(a, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", LN, R, P, s64,
	    h64);
done:
	OPENSSL_cleanse(h, sizeof(h));
	return out;
}

/*
 * 1 when pw matches stored, 0 when it does not, -1 when stored is not a
 * hash this code made (its cost is bounded, whatever the database says).
 */
int
mr_passwd_check(struct mr_arena *a, const char *pw, const char *stored)
{
	unsigned char	 h[HASH_LEN], *salt, *want;
	size_t		 saltlen, wantlen;
	char		 s64[64], h64[64];
	int		 ln, r, p, n = 0, rc = -1;

	if (sscanf(stored, "$scrypt$ln=%d,r=%d,p=%d$%63[A-Za-z0-9_-]$"
	    "%63[A-Za-z0-9_-]%n", &ln, &r, &p, s64, h64, &n) != 5 ||
	    stored[n] != '\0' || ln < 10 || ln > 20 || r < 1 || r > 16 ||
	    p < 1 || p > 4)
		return -1;
	if (mr_b64url_decode(a, s64, strlen(s64), &salt, &saltlen) == -1 ||
	    mr_b64url_decode(a, h64, strlen(h64), &want, &wantlen) == -1 ||
	    wantlen != HASH_LEN || saltlen < 8)
		return -1;
	if (derive(pw, salt, saltlen, ln, r, p, h) == 0)
		rc = mr_ct_equal(h, want, HASH_LEN);
	OPENSSL_cleanse(h, sizeof(h));
	return rc;
}
