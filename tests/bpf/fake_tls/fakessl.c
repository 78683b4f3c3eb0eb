/* A stand-in TLS library: SSL_write is built on SSL_write_ex (a nested probed call) and
 * SSL_read can leave by longjmp (its return is never seen by a uretprobe). */
#include <setjmp.h>
#include <stddef.h>
#include <string.h>

static jmp_buf *escape;

void fake_set_escape(jmp_buf *j) { escape = j; }

static volatile unsigned char sink;

/* reads the buffer as a real library would (encrypting it), so its pages are present when the
 * return probe copies them */
__attribute__((noinline)) int SSL_write_ex(void *ssl, const void *buf, size_t n, size_t *written)
{
	const unsigned char *p = buf;
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc ^= p[i];
	sink = acc;
	*written = n;
	return 1;
}

__attribute__((noinline)) int SSL_write(void *ssl, const void *buf, int n)
{
	size_t w = 0;
	return SSL_write_ex(ssl, buf, (size_t)n, &w) == 1 ? (int)w : -1;
}

__attribute__((noinline)) int SSL_read_ex(void *ssl, void *buf, size_t n, size_t *readbytes)
{
	memset(buf, 'x', n);
	*readbytes = n;
	return 1;
}

__attribute__((noinline)) int SSL_read(void *ssl, void *buf, int n)
{
	if (escape)
		longjmp(*escape, 1);
	memset(buf, 'r', (size_t)n);
	return n;
}
