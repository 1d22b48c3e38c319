/*
 * Included once by each span test binary. span's fork handler and slow walk
 * (span_stats_slow) hold every mcentral lock at once, as Go's stop-the-world
 * does; that is 136 + 5 locks, past the 64 that ThreadSanitizer's deadlock
 * detector can track per thread (it dies with a CHECK failure). Under TSan the
 * deadlock detector is therefore off; race detection stays on.
 */
#ifndef SPAN_TSAN_OPTIONS_H
#define SPAN_TSAN_OPTIONS_H
#if defined(__SANITIZE_THREAD__)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}
#endif
#endif
