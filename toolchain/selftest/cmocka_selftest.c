/* cmocka_selftest — proves the target's cmocka (Debian's on native, ours
 * from the pinned source on armhf) runs tests, mocks and cmocka's leak
 * checking allocator. A cmocka group; exits with the failed-test count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

static int answer(void)
{
	return (int)mock();
}

static void test_asserts(void **state)
{
	(void)state;
	static const uint8_t a[4] = { 1, 2, 3, 4 };
	uint8_t b[4];
	memcpy(b, a, sizeof(b));
	assert_int_equal(sizeof(b), 4);
	assert_memory_equal(a, b, sizeof(a));
	assert_string_equal("danegate", "danegate");
}

static void test_mock(void **state)
{
	(void)state;
	will_return(answer, 42);
	will_return(answer, -7);
	assert_int_equal(answer(), 42);
	assert_int_equal(answer(), -7);
}

static void test_alloc(void **state)
{
	(void)state;
	char *p = test_malloc(32);
	assert_non_null(p);
	memset(p, 'x', 32);
	test_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asserts),
		cmocka_unit_test(test_mock),
		cmocka_unit_test(test_alloc),
	};
	return cmocka_run_group_tests_name("cmocka_selftest", tests, NULL, NULL);
}
