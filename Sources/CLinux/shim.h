// Linux calls that Glibc's Swift module does not carry: prctl is variadic,
// which Swift cannot call, so it is wrapped here for the one use coffer has.
#include <sys/prctl.h>

static inline int coffer_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
