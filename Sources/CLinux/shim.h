// Linux calls that Glibc's Swift module does not carry: prctl is variadic,
// which Swift cannot call, so it is wrapped here for the one use coffer has;
// memfd_create and the file seals are declared by glibc only under
// _GNU_SOURCE, which the Glibc module is not built with.
#include <sys/prctl.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <linux/memfd.h>

static inline int coffer_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// glibc 2.27 and later export it; the prototype is the man page's.
extern int memfd_create(const char *name, unsigned int flags);

// <linux/fcntl.h>'s values, which cannot be included beside glibc's <fcntl.h>.
#ifndef F_ADD_SEALS
#define COFFER_F_LINUX_SPECIFIC_BASE 1024
#define F_ADD_SEALS (COFFER_F_LINUX_SPECIFIC_BASE + 9)
#define F_GET_SEALS (COFFER_F_LINUX_SPECIFIC_BASE + 10)
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

// SO_PEERCRED fills a `struct ucred`, which glibc declares only under
// _GNU_SOURCE; this struct has its layout (pid_t, uid_t, gid_t).
#include <sys/socket.h>
#include <sys/types.h>

struct coffer_peer_credentials {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

/// The credentials of the process at the other end of a connected Unix
/// socket, as the kernel recorded them at connect(2); 0, or -1 with errno.
static inline int coffer_get_peer_credentials(int fd, struct coffer_peer_credentials *peer) {
    socklen_t length = sizeof *peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, peer, &length) != 0) return -1;
    return length == sizeof *peer ? 0 : -1;
}

// The columns a character takes on a terminal (2 for wide CJK, 0 for a
// combining mark); glibc declares it only under _XOPEN_SOURCE.
#include <wchar.h>
extern int wcwidth(wchar_t c);
