/*
 * The workloads' random numbers: wyrand (Wang Yi's 64-bit generator: a Weyl
 * sequence mixed by one 64x64->128 multiply; passes BigCrush and PractRand),
 * seeded through splitmix64. Four instructions a draw: the kernels must stay
 * light next to the allocator they measure.
 * Same seed, same stream on every machine and allocator: the operation stream of
 * a trial depends on (seed, thread index) only.
 */
#ifndef MB_RNG_H
#define MB_RNG_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mb_rng {
	uint64_t s;
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
	r->s = mb_splitmix64(&x);
}

static inline uint64_t mb_rng_next(mb_rng_t *r)
{
	r->s += 0xa0761d6478bd642full;
	unsigned __int128 m = (unsigned __int128)r->s * (r->s ^ 0xe7037ed1a0b428dbull);
	return (uint64_t)(m >> 64) ^ (uint64_t)m;
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

/* A Bernoulli draw with probability p (in [0, 1]) from one rng word. */
static inline bool mb_rng_chance(mb_rng_t *r, double p)
{
	return (double)(mb_rng_next(r) >> 11) * 0x1.0p-53 < p;
}

/* mb_rng_chance as an integer compare, for a p fixed over many draws:
 * (x >> 11) * 2^-53 < p, for the integer x >> 11 < 2^53, is
 * x >> 11 < ceil(p * 2^53). t = mb_rng_chance_t(p) once, then
 * mb_rng_chance_at(r, t) draws the same word and answers the same. */
static inline uint64_t mb_rng_chance_t(double p)
{
	return (uint64_t)ceil(p * 0x1.0p53);
}

static inline bool mb_rng_chance_at(mb_rng_t *r, uint64_t t)
{
	return (mb_rng_next(r) >> 11) < t;
}

#endif
