/*
 * The workloads' random numbers: xoshiro256** seeded through splitmix64.
 * Same seed, same stream on every machine and allocator: the operation stream of
 * a trial depends on (seed, thread index) only.
 */
#ifndef MB_RNG_H
#define MB_RNG_H

#include <stdint.h>

typedef struct mb_rng {
	uint64_t s[4];
} mb_rng_t;

static inline uint64_t mb_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void mb_rng_seed(mb_rng_t *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
	for (int i = 0; i < 4; i++)
		r->s[i] = mb_splitmix64(&x);
}

static inline uint64_t mb_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t mb_rng_next(mb_rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t out = mb_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = mb_rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n) by Lemire's multiply-shift (bias < n / 2^64, negligible). */
static inline uint64_t mb_rng_below(mb_rng_t *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)mb_rng_next(r) * n) >> 64);
}

/* Uniform double in [0, 1). */
static inline double mb_rng_unit(mb_rng_t *r)
{
	return (double)(mb_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
