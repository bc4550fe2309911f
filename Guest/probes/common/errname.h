/*
 * errname.h — errno value → symbolic name ("EAFNOSUPPORT"), for probe output.
 *
 * Every probe prints errno names rather than numbers or only strerror() text, so a
 * test can match them exactly. Each probe directory holds an identical copy of this
 * file: every probe is a self-contained SwiftPM target (and builds alone with
 * `gcc main.c`). Keep the copies identical.
 */
#ifndef PROBE_ERRNAME_H
#define PROBE_ERRNAME_H

#include <errno.h>
#include <stdio.h>

/// The symbolic name of errno value `e`, e.g. "EPERM"; "E<number>" for values not in the
/// table. The returned string is static (or thread-local for unknown values).
static const char *errname(int e)
{
    switch (e) {
#define ERRNAME_CASE(x) case x: return #x;
    ERRNAME_CASE(EPERM)           ERRNAME_CASE(ENOENT)          ERRNAME_CASE(ESRCH)
    ERRNAME_CASE(EINTR)           ERRNAME_CASE(EIO)             ERRNAME_CASE(ENXIO)
    ERRNAME_CASE(E2BIG)           ERRNAME_CASE(ENOEXEC)         ERRNAME_CASE(EBADF)
    ERRNAME_CASE(ECHILD)          ERRNAME_CASE(EAGAIN)          ERRNAME_CASE(ENOMEM)
    ERRNAME_CASE(EACCES)          ERRNAME_CASE(EFAULT)          ERRNAME_CASE(EBUSY)
    ERRNAME_CASE(EEXIST)          ERRNAME_CASE(EXDEV)           ERRNAME_CASE(ENODEV)
    ERRNAME_CASE(ENOTDIR)         ERRNAME_CASE(EISDIR)          ERRNAME_CASE(EINVAL)
    ERRNAME_CASE(ENFILE)          ERRNAME_CASE(EMFILE)          ERRNAME_CASE(ENOTTY)
    ERRNAME_CASE(ETXTBSY)         ERRNAME_CASE(EFBIG)           ERRNAME_CASE(ENOSPC)
    ERRNAME_CASE(ESPIPE)          ERRNAME_CASE(EROFS)           ERRNAME_CASE(EMLINK)
    ERRNAME_CASE(EPIPE)           ERRNAME_CASE(EDOM)            ERRNAME_CASE(ERANGE)
    ERRNAME_CASE(EDEADLK)         ERRNAME_CASE(ENAMETOOLONG)    ERRNAME_CASE(ENOSYS)
    ERRNAME_CASE(ENOTEMPTY)       ERRNAME_CASE(ELOOP)           ERRNAME_CASE(ENOMSG)
    ERRNAME_CASE(ENODATA)         ERRNAME_CASE(ETIME)           ERRNAME_CASE(EPROTO)
    ERRNAME_CASE(EBADMSG)         ERRNAME_CASE(EOVERFLOW)       ERRNAME_CASE(EILSEQ)
    ERRNAME_CASE(ENOTSOCK)        ERRNAME_CASE(EDESTADDRREQ)    ERRNAME_CASE(EMSGSIZE)
    ERRNAME_CASE(EPROTOTYPE)      ERRNAME_CASE(ENOPROTOOPT)     ERRNAME_CASE(EPROTONOSUPPORT)
    ERRNAME_CASE(ESOCKTNOSUPPORT) ERRNAME_CASE(EOPNOTSUPP)      ERRNAME_CASE(EPFNOSUPPORT)
    ERRNAME_CASE(EAFNOSUPPORT)    ERRNAME_CASE(EADDRINUSE)      ERRNAME_CASE(EADDRNOTAVAIL)
    ERRNAME_CASE(ENETDOWN)        ERRNAME_CASE(ENETUNREACH)     ERRNAME_CASE(ENETRESET)
    ERRNAME_CASE(ECONNABORTED)    ERRNAME_CASE(ECONNRESET)      ERRNAME_CASE(ENOBUFS)
    ERRNAME_CASE(EISCONN)         ERRNAME_CASE(ENOTCONN)        ERRNAME_CASE(ESHUTDOWN)
    ERRNAME_CASE(ETIMEDOUT)       ERRNAME_CASE(ECONNREFUSED)    ERRNAME_CASE(EHOSTDOWN)
    ERRNAME_CASE(EHOSTUNREACH)    ERRNAME_CASE(EALREADY)        ERRNAME_CASE(EINPROGRESS)
    ERRNAME_CASE(EDQUOT)          ERRNAME_CASE(ECANCELED)       ERRNAME_CASE(ENOKEY)
    ERRNAME_CASE(EKEYEXPIRED)     ERRNAME_CASE(EKEYREVOKED)     ERRNAME_CASE(EKEYREJECTED)
#undef ERRNAME_CASE
    }
    static _Thread_local char unknown[24];
    snprintf(unknown, sizeof unknown, "E%d", e);
    return unknown;
}

#endif /* PROBE_ERRNAME_H */
