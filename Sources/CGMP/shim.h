// gmp.h lives in a multiarch include directory, so it is named here rather than by path.
// The mpz_* names are macros over __gmpz_*; the few that are inline functions or macros
// with arguments get thin static wrappers Swift can call.
#include <gmp.h>

static inline int msai_mpz_sgn(const mpz_t value) { return mpz_sgn(value); }
