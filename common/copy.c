/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy.h"
#include "fileio.h"
#include "xalloc.h"

#define COPY_MAX_DEPTH 256

static int copy_meta(int dfd, const char *name, const struct stat *st, bool is_link) {
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        if (fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
                return -errno;
        if (!is_link && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
                return -errno;
        if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
                return -errno;
        return 0;
}

static int copy_file(int sfd_dir, int dfd_dir, const char *name, const struct stat *st) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        off_t left = st->st_size;

        in = openat(sfd_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
                return -errno;
        (void)unlinkat(dfd_dir, name, 0);
        out = openat(dfd_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        while (left > 0) {
                ssize_t n = sendfile(out, in, NULL, (size_t)MIN(left, (off_t)(1 << 30)));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                left -= n;
        }
        return 0;
}

static int copy_dir(int sfd, int dfd, dev_t dev, unsigned depth, struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int sfd2;

        if (depth > COPY_MAX_DEPTH)
                return err_setx(errp, ELOOP, "directory tree deeper than %d levels",
                                COPY_MAX_DEPTH);
        sfd2 = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        if (sfd2 < 0)
                return err_set(errp, errno, "duplicate directory fd");
        d = fdopendir(sfd2);
        if (!d) {
                safe_close(sfd2);
                return err_set(errp, errno, "read directory");
        }
        while ((de = readdir(d))) {
                const char *n = de->d_name;
                struct stat st;
                int r = 0;

                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
                        continue;
                if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(errp, errno, "stat '%s'", n);

                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int cs = -EBADF, cd = -EBADF;

                        if (st.st_dev != dev)
                                continue;
                        if (mkdirat(dfd, n, 0700) < 0 && errno != EEXIST)
                                return err_set(errp, errno, "create directory '%s'", n);
                        cs = openat(sfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        cd = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cs < 0 || cd < 0)
                                return err_set(errp, errno, "open directory '%s'", n);
                        r = copy_dir(cs, cd, dev, depth + 1, errp);
                        if (r < 0)
                                return err_wrap(errp, "'%s'", n);
                } else if (S_ISREG(st.st_mode)) {
                        r = copy_file(sfd, dfd, n, &st);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t k = readlinkat(sfd, n, target, sizeof(target) - 1);

                        if (k < 0)
                                return err_set(errp, errno, "read link '%s'", n);
                        target[k] = 0;
                        (void)unlinkat(dfd, n, 0);
                        if (symlinkat(target, dfd, n) < 0)
                                r = -errno;
                } else {
                        (void)unlinkat(dfd, n, 0);
                        if (mknodat(dfd, n, st.st_mode, st.st_rdev) < 0)
                                r = -errno;
                }
                if (r < 0)
                        return err_set(errp, -r, "copy '%s'", n);
                r = copy_meta(dfd, n, &st, S_ISLNK(st.st_mode));
                if (r < 0)
                        return err_set(errp, -r, "set owner and mode of '%s'", n);
        }
        return 0;
}

int copy_tree_at(int src_dirfd, int dst_dirfd, struct err **errp) {
        struct stat st;

        if (fstat(src_dirfd, &st) < 0)
                return err_set(errp, errno, "stat source directory");
        return copy_dir(src_dirfd, dst_dirfd, st.st_dev, 0, errp);
}
