#include <setjmp.h>
#include <stdio.h>
#include <stddef.h>
int SSL_write(void *ssl, const void *buf, int n);
int SSL_read(void *ssl, void *buf, int n);
void fake_set_escape(jmp_buf *j);

int main(void)
{
	char buf[64], line[8];
	jmp_buf j;
	void *ssl = (void *)0x5151;

	if (!fgets(line, sizeof(line), stdin)) /* wait until traced */
		return 2;
	if (SSL_write(ssl, "nested-outer", 12) != 12)
		return 3;
	fake_set_escape(&j);
	if (!setjmp(j))
		SSL_read(ssl, buf, 5); /* leaves by longjmp: no return */
	fake_set_escape(NULL);
	if (SSL_read(ssl, buf, 7) != 7)
		return 4;
	puts("done");
	return 0;
}
