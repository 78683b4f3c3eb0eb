// SPDX-License-Identifier: MIT
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int out_init(struct out *o, int fd, size_t cap)
{
	memset(o, 0, sizeof(*o));
	if (!cap)
		cap = 1 << 20;
	o->buf = malloc(cap);
	if (!o->buf)
		return -ENOMEM;
	o->cap = cap;
	o->fd = fd;
	return 0;
}

void out_free(struct out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

int out_flush(struct out *o)
{
	size_t off = 0;

	if (o->err) {
		o->len = 0;
		return -1;
	}
	while (off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			o->len = 0;
			return -1;
		}
		off += (size_t)n;
	}
	o->len = 0;
	return 0;
}

static inline void ensure(struct out *o, size_t n)
{
	if (o->len + n > o->cap)
		out_flush(o);
}

void out_raw(struct out *o, const void *data, size_t n)
{
	const char *p = data;

	if (o->err)
		return;
	while (n) {
		size_t room;

		ensure(o, n);
		if (o->err)
			return;
		room = o->cap - o->len;
		if (room > n)
			room = n;
		memcpy(o->buf + o->len, p, room);
		o->len += room;
		p += room;
		n -= room;
	}
}

void out_str(struct out *o, const char *s) { out_raw(o, s, strlen(s)); }

void out_char(struct out *o, char c)
{
	if (o->err)
		return;
	ensure(o, 1);
	if (o->err)
		return;
	o->buf[o->len++] = c;
}

void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		out_raw(o, tmp, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);
		if (!big)
			return;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		out_raw(o, big, (size_t)n);
		free(big);
	}
}

void out_u64(struct out *o, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_raw(o, tmp + i, sizeof(tmp) - (size_t)i);
}

void out_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		out_char(o, '-');
		out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}

void out_bool(struct out *o, bool v) { out_str(o, v ? "true" : "false"); }

void out_key(struct out *o, const char *key, bool first)
{
	if (!first)
		out_char(o, ',');
	out_char(o, '"');
	out_str(o, key);
	out_raw(o, "\":", 2);
}

/*
 * Length of the valid UTF-8 sequence starting at s (n bytes available),
 * or 0 if the byte at s does not start a valid sequence.
 */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		if (n >= 2 && (s[1] & 0xc0) == 0x80)
			return 2;
		return 0;
	}
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0xe0)
			lo = 0xa0;          /* overlong */
		else if (c == 0xed)
			hi = 0x9f;          /* UTF-16 surrogates */
		if (n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80)
			return 3;
		return 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0xf0)
			lo = 0x90;          /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;          /* > U+10FFFF */
		if (n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		    (s[3] & 0xc0) == 0x80)
			return 4;
		return 0;
	}
	return 0;
}

static const char hexd[] = "0123456789abcdef";

/* Escape one chunk; emit through a callback-free two-mode routine. */
size_t json_escape(char *dst, size_t dstlen, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i = 0, w = 0;
	char tmp[8];

#define PUT(buf, len)                                                  \
	do {                                                           \
		for (size_t _k = 0; _k < (len); _k++) {                \
			if (dstlen && w + 1 < dstlen)                  \
				dst[w] = (buf)[_k];                    \
			w++;                                           \
		}                                                      \
	} while (0)

	while (i < n) {
		unsigned char c = s[i];
		size_t l;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			PUT((const char *)&s[i], 1);
			i++;
			continue;
		}
		switch (c) {
		case '"': PUT("\\\"", 2); i++; continue;
		case '\\': PUT("\\\\", 2); i++; continue;
		case '\n': PUT("\\n", 2); i++; continue;
		case '\r': PUT("\\r", 2); i++; continue;
		case '\t': PUT("\\t", 2); i++; continue;
		case '\b': PUT("\\b", 2); i++; continue;
		case '\f': PUT("\\f", 2); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			tmp[0] = '\\'; tmp[1] = 'u'; tmp[2] = '0'; tmp[3] = '0';
			tmp[4] = hexd[c >> 4]; tmp[5] = hexd[c & 15];
			PUT(tmp, 6);
			i++;
			continue;
		}
		l = utf8_valid_len(s + i, n - i);
		if (l) {
			PUT((const char *)&s[i], l);
			i += l;
		} else {
			PUT("\xef\xbf\xbd", 3); /* U+FFFD for this one byte */
			i++;
		}
	}
	if (dstlen)
		dst[w < dstlen ? w : dstlen - 1] = '\0';
#undef PUT
	return w;
}

void out_json_str(struct out *o, const void *data, size_t n)
{
	const unsigned char *s = data;
	size_t i = 0, run = 0;
	char tmp[8];

	out_char(o, '"');
	while (i < n) {
		unsigned char c = s[i];
		size_t l;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			/* batch runs of plain ASCII */
			run = i;
			while (i < n && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
				i++;
			out_raw(o, s + run, i - run);
			continue;
		}
		switch (c) {
		case '"': out_raw(o, "\\\"", 2); i++; continue;
		case '\\': out_raw(o, "\\\\", 2); i++; continue;
		case '\n': out_raw(o, "\\n", 2); i++; continue;
		case '\r': out_raw(o, "\\r", 2); i++; continue;
		case '\t': out_raw(o, "\\t", 2); i++; continue;
		case '\b': out_raw(o, "\\b", 2); i++; continue;
		case '\f': out_raw(o, "\\f", 2); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			tmp[0] = '\\'; tmp[1] = 'u'; tmp[2] = '0'; tmp[3] = '0';
			tmp[4] = hexd[c >> 4]; tmp[5] = hexd[c & 15];
			out_raw(o, tmp, 6);
			i++;
			continue;
		}
		l = utf8_valid_len(s + i, n - i);
		if (l) {
			out_raw(o, s + i, l);
			i += l;
		} else {
			out_raw(o, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	out_char(o, '"');
}

void out_json_cstr(struct out *o, const char *s)
{
	out_json_str(o, s, s ? strlen(s) : 0);
}

static const char b64t[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode_scalar(char *dst, const unsigned char *s, size_t n)
{
	size_t i, w = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[w++] = b64t[v >> 18];
		dst[w++] = b64t[(v >> 12) & 63];
		dst[w++] = b64t[(v >> 6) & 63];
		dst[w++] = b64t[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		dst[w++] = b64t[v >> 18];
		dst[w++] = b64t[(v >> 12) & 63];
		dst[w++] = i + 1 < n ? b64t[(v >> 6) & 63] : '=';
		dst[w++] = '=';
	}
	return w;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_B64_AVX2 1

/*
 * AVX2 encoder (W. Mula and D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2
 * Instructions", 2018): 24 input bytes -> 32 characters per step. Each 128-bit lane takes 12
 * bytes; the load starts 4 bytes early so that both lanes' bytes sit at fixed positions.
 */
__attribute__((target("avx2"))) static inline __m256i b64_reshuffle(__m256i in)
{
	in = _mm256_shuffle_epi8(in, _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2,
						       0, 1, 14, 15, 13, 14, 11, 12, 10, 11, 8, 9,
						       7, 8, 5, 6, 4, 5));
	__m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
	__m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
	__m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
	__m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
	return _mm256_or_si256(t1, t3);
}

__attribute__((target("avx2"))) static inline __m256i b64_translate(__m256i in)
{
	const __m256i lut = _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19,
					     -16, 0, 0, 65, 71, -4, -4, -4, -4, -4, -4, -4, -4,
					     -4, -4, -19, -16, 0, 0);
	__m256i idx = _mm256_subs_epu8(in, _mm256_set1_epi8(51));
	__m256i mask = _mm256_cmpgt_epi8(in, _mm256_set1_epi8(25));
	idx = _mm256_sub_epi8(idx, mask);
	return _mm256_add_epi8(in, _mm256_shuffle_epi8(lut, idx));
}

__attribute__((target("avx2"))) static size_t b64_encode_avx2(char *dst, const unsigned char *s,
								size_t n)
{
	size_t i = 0, w = 0;

	if (n >= 32) {
		/* first step: load [0, 32) and move it up by 4 bytes, as if loaded from s - 4 */
		__m256i in = _mm256_loadu_si256((const __m256i *)s);
		in = _mm256_permutevar8x32_epi32(in, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
		_mm256_storeu_si256((__m256i *)dst, b64_translate(b64_reshuffle(in)));
		i = 24;
		w = 32;
		/* later steps read [i - 4, i + 28) */
		while (i + 28 <= n) {
			in = _mm256_loadu_si256((const __m256i *)(s + i - 4));
			_mm256_storeu_si256((__m256i *)(dst + w), b64_translate(b64_reshuffle(in)));
			i += 24;
			w += 32;
		}
	}
	return w + b64_encode_scalar(dst + w, s + i, n - i);
}
#endif

static size_t (*b64_impl)(char *, const unsigned char *, size_t);

size_t b64_encode(char *dst, const void *src, size_t n)
{
	size_t w;

	if (!b64_impl) {
		b64_impl = b64_encode_scalar;
#ifdef HAVE_B64_AVX2
		if (!getenv("COLLECTOR_NO_SIMD") && __builtin_cpu_supports("avx2"))
			b64_impl = b64_encode_avx2;
#endif
	}
	w = b64_impl(dst, src, n);
	dst[w] = '\0';
	return w;
}

void out_base64(struct out *o, const void *data, size_t n)
{
	const unsigned char *s = data;
	size_t need = b64_encoded_len(n) + 3; /* quotes and b64_encode's NUL */

	if (o->err)
		return;
	if (need <= o->cap) {
		/* encode straight into the output buffer */
		ensure(o, need);
		if (o->err)
			return;
		o->buf[o->len++] = '"';
		o->len += b64_encode(o->buf + o->len, s, n);
		o->buf[o->len++] = '"';
		return;
	}
	{
		char tmp[4 * 4096 + 1];

		out_char(o, '"');
		while (n) {
			size_t chunk = n > 3 * 4096 ? 3 * 4096 : n; /* multiple of 3 */
			size_t w = b64_encode(tmp, s, chunk);
			out_raw(o, tmp, w);
			s += chunk;
			n -= chunk;
		}
		out_char(o, '"');
	}
}
