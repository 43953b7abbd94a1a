/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "xalloc.h"

ssize_t fd_read_full(int fd, void *buf, size_t n) {
        size_t done = 0;

        while (done < n) {
                ssize_t k = read(fd, (char *)buf + done, n - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                done += (size_t)k;
        }
        return (ssize_t)done;
}

int fd_write_full(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
                 struct err **errp) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, alloc = 0;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", path);
        for (;;) {
                ssize_t k;

                if (len + 4096 + 1 > alloc) {
                        alloc = MAX(alloc * 2, len + 4096 + 1);
                        buf = xrealloc(buf, alloc);
                }
                k = read(fd, buf + len, alloc - len - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(errp, errno, "read '%s'", path);
                }
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > max)
                        return err_setx(errp, EFBIG, "'%s' is larger than %zu bytes", path, max);
        }
        if (!buf)
                buf = xmalloc(1);
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err **errp) {
        return read_file_at(AT_FDCWD, path, max, ret, ret_len, errp);
}

static int fsync_parent(const char *path) {
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_close_ int dfd = -EBADF;

        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

static int write_file_rename(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                             struct err **errp) {
        _cleanup_free_ char *tmp = xasprintf("%s.new", path);
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return err_set(errp, errno, "create '%s'", tmp);
        if (fchmod(fd, mode) < 0) {
                r = -errno;
                goto fail;
        }
        r = fd_write_full(fd, data, len);
        if (r < 0)
                goto fail;
        if (sync && fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        if (!sync)
                return 0;
        r = fsync_parent(path);
        if (r < 0)
                return err_set(errp, -r, "sync directory of '%s'", path);
        return 0;
fail:
        (void)unlink(tmp);
        return err_set(errp, -r, "write '%s'", path);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct err **errp) {
        return write_file_rename(path, data, len, mode, true, errp);
}

int write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                       struct err **errp) {
        return write_file_rename(path, data, len, mode, false, errp);
}

int mkdir_p(const char *path, mode_t mode, struct err **errp) {
        _cleanup_free_ char *p = NULL;

        /* The parents usually exist (a container's cgroup under berth/): one call then. */
        if (mkdir(path, mode) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return err_set(errp, errno, "create directory '%s'", path);
        p = xstrdup(path);
        for (char *s = p + 1;; s++) {
                if (*s == '/' || *s == 0) {
                        char c = *s;
                        *s = 0;
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return err_set(errp, errno, "create directory '%s'", p);
                        *s = c;
                        if (c == 0)
                                break;
                }
        }
        return 0;
}

static int rm_rf_children(int dfd, dev_t dev) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        d = fdopendir(dfd);
        if (!d) {
                safe_close(dfd);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int cfd, k;

                        if (st.st_dev != dev) {
                                if (r == 0)
                                        r = -EBUSY;
                                continue;
                        }
                        cfd = openat(dirfd(d), de->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0) {
                                if (errno != ENOENT && r == 0)
                                        r = -errno;
                                continue;
                        }
                        k = rm_rf_children(cfd, dev);
                        if (k < 0 && r == 0)
                                r = k;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT &&
                            r == 0)
                                r = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        return r;
}

int rm_rf(const char *path, struct err **errp) {
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return err_set(errp, errno, "stat '%s'", path);
        }
        if (!S_ISDIR(st.st_mode)) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return err_set(errp, errno, "remove '%s'", path);
                return 0;
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", path);
        r = rm_rf_children(fd, st.st_dev);
        if (r < 0)
                return err_set(errp, -r, "remove contents of '%s'", path);
        if (rmdir(path) < 0 && errno != ENOENT)
                return err_set(errp, errno, "remove '%s'", path);
        return 0;
}

uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

char *random_hex(size_t nbytes) {
        _cleanup_free_ unsigned char *b = xmalloc(nbytes);
        char *r = xmalloc(nbytes * 2 + 1);
        size_t got = 0;

        while (got < nbytes) {
                ssize_t k = getrandom(b + got, nbytes - got, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        abort(); /* getrandom cannot fail on supported kernels */
                }
                got += (size_t)k;
        }
        for (size_t i = 0; i < nbytes; i++)
                snprintf(r + 2 * i, 3, "%02x", b[i]);
        return r;
}

char *path_absolute(const char *p) {
        char buf[PATH_MAX];

        if (p[0] == '/')
                return xstrdup(p);
        if (!getcwd(buf, sizeof(buf)))
                return NULL;
        return xasprintf("%s/%s", buf, p);
}
