/* test-random-slow.c: the long (100,000-step) variant of test-random.c, in the "slow" suite
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define LS_RANDOM_DEFAULT_STEPS 100000
#include "test-random.c"
