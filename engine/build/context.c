/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "build/context.h"
#include "cleanup.h"
#include "fileio.h"
#include "image/layer.h"
#include "strv.h"
#include "xalloc.h"

#define IGNORE_MAX (1u << 20)
#define WALK_MAX_DEPTH 128
#define WALK_MAX_ENTRIES 1000000

/* ---- paths ---- */

char *path_clean(const char *p) {
        bool rooted = p[0] == '/';
        _cleanup_strv_ char **parts = strv_split(p, "/");
        char **out = xnew0(char *, strv_length(parts) + 1);
        size_t n = 0;
        char *res;

        STRV_FOREACH (c, parts) {
                if (streq(*c, "."))
                        continue;
                if (streq(*c, "..")) {
                        if (n > 0 && !streq(out[n - 1], ".."))
                                free(out[--n]);
                        else if (!rooted)
                                out[n++] = xstrdup("..");
                        out[n] = NULL;
                        continue;
                }
                out[n++] = xstrdup(*c);
                out[n] = NULL;
        }
        _cleanup_free_ char *j = strv_join(out, "/");
        strv_free(out);
        if (rooted)
                res = xasprintf("/%s", j);
        else
                res = xstrdup(*j ? j : ".");
        return res;
}

/* ---- .dockerignore ---- */

void ignore_rules_done(struct ignore_rules *r) {
        for (size_t i = 0; i < r->n; i++)
                free(r->rules[i].pattern);
        free(r->rules);
        *r = (struct ignore_rules){};
}

int ignore_parse(const char *text, struct ignore_rules *ret, struct err **errp) {
        struct ignore_rules r = {};
        _cleanup_strv_ char **lines = strv_split(text, "\n");
        unsigned lineno = 0;

        (void)errp;
        STRV_FOREACH (l, lines) {
                char *s = *l, *e;
                bool excl = false;

                lineno++;
                while (isspace((unsigned char)*s))
                        s++;
                e = s + strlen(s);
                while (e > s && isspace((unsigned char)e[-1]))
                        *--e = 0;
                if (!*s || *s == '#')
                        continue;
                if (*s == '!') {
                        excl = true;
                        s++;
                        while (isspace((unsigned char)*s))
                                s++;
                }
                _cleanup_free_ char *c = path_clean(s);
                const char *p = c;
                while (*p == '/')
                        p++;
                if (!*p)
                        p = ".";
                r.rules = xreallocarray(r.rules, r.n + 1, sizeof(*r.rules));
                r.rules[r.n++] = (struct ignore_rule){.pattern = xstrdup(p), .exclusion = excl};
        }
        *ret = r;
        return 0;
}

/* Matches a bracket expression at *pp against c; advances *pp past ']'. -1 when malformed. */
static int match_class(const char **pp, char c) {
        const char *p = *pp + 1;
        bool neg = false, hit = false;

        if (*p == '!' || *p == '^') {
                neg = true;
                p++;
        }
        bool first = true;
        while (*p && (first || *p != ']')) {
                char lo = *p, hi;
                first = false;
                if (lo == '\\' && p[1])
                        lo = *++p;
                p++;
                hi = lo;
                if (*p == '-' && p[1] && p[1] != ']') {
                        hi = p[1];
                        if (hi == '\\' && p[2]) {
                                hi = p[2];
                                p++;
                        }
                        p += 2;
                }
                if (c >= lo && c <= hi)
                        hit = true;
        }
        if (*p != ']')
                return -1;
        *pp = p + 1;
        return hit != neg;
}

/* Backtracking matcher with a step budget: hostile patterns ("*a*a*a*a*b") would otherwise take
 * exponential time; a match that runs out of budget counts as no match. */
static bool pm(const char *pat, const char *s, unsigned long *budget) {
        if (*budget == 0)
                return false;
        --*budget;
        while (*pat) {
                if (pat[0] == '*' && pat[1] == '*') {
                        while (*pat == '*')
                                pat++;
                        if (!*pat)
                                return true;
                        if (*pat == '/') {
                                /* "**\/" matches zero or more whole directories. */
                                pat++;
                                for (const char *t = s;; t++) {
                                        if ((t == s || t[-1] == '/') && pm(pat, t, budget))
                                                return true;
                                        if (!*t)
                                                return false;
                                }
                        }
                        for (const char *t = s;; t++) {
                                if (pm(pat, t, budget))
                                        return true;
                                if (!*t)
                                        return false;
                        }
                }
                switch (*pat) {
                case '*':
                        pat++;
                        for (const char *t = s;; t++) {
                                if (pm(pat, t, budget))
                                        return true;
                                if (!*t || *t == '/')
                                        return false;
                        }
                case '?':
                        if (!*s || *s == '/')
                                return false;
                        pat++;
                        s++;
                        break;
                case '[': {
                        if (!*s || *s == '/')
                                return false;
                        int m = match_class(&pat, *s);
                        if (m <= 0)
                                return false;
                        s++;
                        break;
                }
                case '\\':
                        if (pat[1])
                                pat++;
                        if (*s != *pat)
                                return false;
                        pat++;
                        s++;
                        break;
                default:
                        if (*s != *pat)
                                return false;
                        pat++;
                        s++;
                        break;
                }
        }
        return !*s;
}

bool ignore_pattern_match(const char *pat, const char *s) {
        unsigned long budget = 200000;
        return pm(pat, s, &budget);
}

bool ignore_matches(const struct ignore_rules *r, const char *path) {
        bool ignored = false;

        for (size_t i = 0; i < r->n; i++) {
                const char *pat = r->rules[i].pattern;
                bool m = ignore_pattern_match(pat, path);
                if (!m) {
                        /* A parent directory that matches excludes everything below it. */
                        _cleanup_free_ char *parent = xstrdup(path);
                        for (char *sl = strrchr(parent, '/'); sl && !m; sl = strrchr(parent, '/')) {
                                *sl = 0;
                                m = ignore_pattern_match(pat, parent);
                        }
                }
                if (m)
                        ignored = !r->rules[i].exclusion;
        }
        return ignored;
}

/* ---- opening the context ---- */

struct build_context *build_context_free(struct build_context *c) {
        if (!c)
                return NULL;
        safe_close(c->dfd);
        if (c->owned && c->dir)
                (void)rm_rf(c->dir, NULL);
        free(c->dir);
        ignore_rules_done(&c->ignore);
        free(c);
        return NULL;
}

void build_context_freep(struct build_context **c) {
        *c = build_context_free(*c);
}

static int context_init(struct build_context *c, struct err **errp) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        c->dfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->dfd < 0)
                return err_set(errp, errno, "open build context '%s'", c->dir);
        r = read_file_at(c->dfd, ".dockerignore", IGNORE_MAX, &text, &len, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return err_set(errp, -r, "read '%s/.dockerignore'", c->dir);
        return ignore_parse(text, &c->ignore, errp);
}

int build_context_open_dir(const char *dir, struct build_context **ret, struct err **errp) {
        _cleanup_(build_context_freep) struct build_context *c = xnew0(struct build_context, 1);
        int r;

        c->dfd = -EBADF;
        c->dir = xstrdup(dir);
        r = context_init(c, errp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int build_context_open_tar(int fd, const char *tmpdir, struct build_context **ret,
                           struct err **errp) {
        _cleanup_(build_context_freep) struct build_context *c = xnew0(struct build_context, 1);
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *diff = NULL;
        int r;

        c->dfd = -EBADF;
        if (mkdir(tmpdir, 0700) < 0)
                return err_set(errp, errno, "create '%s'", tmpdir);
        c->dir = xstrdup(tmpdir);
        c->owned = true;
        dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return err_set(errp, errno, "open '%s'", tmpdir);
        r = layer_unpack_fd(fd, dfd, &diff, NULL, errp);
        if (r < 0)
                return err_wrap(errp, "extract the build context");
        r = context_init(c, errp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* openat2 with RESOLVE_BENEATH: symlinks may be followed but never out of dfd. */
static int open_beneath(int dfd, const char *path, int flags) {
        struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        long fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : (int)fd;
}

static bool has_glob(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

/* Walks dfd/rel collecting every entry's relative path into *out (ignored ones excluded). */
static int walk_collect(int dfd, const char *rel, const struct ignore_rules *ign, unsigned depth,
                        char ***out, size_t *count, struct err **errp) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd;

        if (depth > WALK_MAX_DEPTH)
                return err_setx(errp, ELOOP, "'%s': directories nested too deeply", rel);
        fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open '%s'", rel);
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return err_set(errp, errno, "read '%s'", rel);
        }
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *p =
                        streq(rel, ".") ? xstrdup(de->d_name) : xasprintf("%s/%s", rel, de->d_name);
                if (ign && ignore_matches(ign, p)) {
                        /* Exceptions below an ignored directory still need the walk. */
                        bool any_exc = false;
                        for (size_t i = 0; i < ign->n; i++)
                                any_exc |= ign->rules[i].exclusion;
                        if (!any_exc || de->d_type != DT_DIR)
                                continue;
                } else {
                        if (++*count > WALK_MAX_ENTRIES)
                                return err_setx(errp, E2BIG, "more than %u files in the context",
                                                WALK_MAX_ENTRIES);
                        strv_push(out, p);
                }
                if (de->d_type == DT_DIR) {
                        int r = walk_collect(dfd, p, ign, depth + 1, out, count, errp);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int build_context_resolve(const struct build_context *c, const char *src, char ***ret,
                          struct err **errp) {
        _cleanup_free_ char *cl = path_clean(src);
        _cleanup_strv_ char **out = NULL;
        const char *p = cl;
        int fd;

        while (*p == '/')
                p++;
        if (!*p)
                p = ".";
        if (streq(p, "..") || str_startswith(p, "../"))
                return err_setx(errp, EPERM, "'%s' is outside the build context", src);

        if (has_glob(p)) {
                _cleanup_strv_ char **all = NULL;
                size_t count = 0;
                int r = walk_collect(c->dfd, ".", &c->ignore, 0, &all, &count, errp);
                if (r < 0)
                        return r;
                STRV_FOREACH (a, all)
                        if (fnmatch(p, *a, FNM_PATHNAME) == 0)
                                strv_push(&out, *a);
                if (!out)
                        return err_setx(errp, ENOENT,
                                        "'%s': no source files were found in the build context",
                                        src);
                qsort_safe(out, strv_length(out), sizeof(char *), strv_cmp);
                *ret = TAKE_PTR(out);
                return 0;
        }

        if (!streq(p, ".") && ignore_matches(&c->ignore, p))
                return err_setx(errp, ENOENT,
                                "'%s': not found in the build context (excluded by .dockerignore)",
                                src);
        fd = open_beneath(c->dfd, p, O_PATH);
        if (fd == -EXDEV || fd == -ELOOP)
                return err_setx(errp, EPERM, "'%s' is outside the build context (symlink)", src);
        if (fd == -ENOENT)
                return err_setx(errp, ENOENT, "'%s': not found in the build context", src);
        if (fd < 0)
                return err_set(errp, -fd, "open '%s' in the build context", src);
        safe_close(fd);
        strv_push(&out, p);
        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- attributes ---- */

int parse_chmod(const char *s, mode_t *ret, struct err **errp) {
        char *end;
        unsigned long v;

        if (!*s || strspn(s, "01234567") != strlen(s))
                return err_setx(errp, EINVAL, "invalid --chmod '%s': expected an octal mode", s);
        errno = 0;
        v = strtoul(s, &end, 8);
        if (errno || v > 07777)
                return err_setx(errp, EINVAL, "invalid --chmod '%s': out of range", s);
        *ret = (mode_t)v;
        return 0;
}

static bool parse_id(const char *s, unsigned long *ret) {
        char *end;
        if (!*s || !isdigit((unsigned char)*s))
                return false;
        errno = 0;
        *ret = strtoul(s, &end, 10);
        return !errno && !*end && *ret < UINT32_MAX;
}

/* Reads etc/<name> from the first lower dir that has it (NULL when none). */
static char *read_etc(char *const *lowers, const char *name) {
        STRV_FOREACH (l, lowers) {
                _cleanup_close_ int dfd = open(*l, O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *path = xasprintf("etc/%s", name);
                char *text = NULL;
                size_t len;
                if (dfd < 0)
                        continue;
                fd = open_beneath(dfd, path, O_RDONLY);
                if (fd < 0)
                        continue;
                struct sbuf_ {
                        char *s;
                        size_t len;
                } b = {xmalloc(4097), 0};
                for (;;) {
                        ssize_t n = read(fd, b.s + b.len, 4096);
                        if (n <= 0 || b.len + (size_t)n > (1u << 22))
                                break;
                        b.len += (size_t)n;
                        b.s = xrealloc(b.s, b.len + 4097);
                }
                b.s[b.len] = 0;
                text = b.s;
                (void)len;
                return text;
        }
        return NULL;
}

/* Finds name in a passwd/group style file: field 3 (and 4 for passwd) as numbers. */
static bool etc_lookup(const char *text, const char *name, unsigned long *id,
                       unsigned long *primary) {
        _cleanup_strv_ char **lines = text ? strv_split(text, "\n") : NULL;
        STRV_FOREACH (l, lines) {
                char *f[5] = {}, *s = *l;
                size_t n = 0;
                while (n < 5) {
                        f[n++] = s;
                        s = strchr(s, ':');
                        if (!s)
                                break;
                        *s++ = 0;
                }
                if (n < 3 || !streq(f[0], name))
                        continue;
                if (!parse_id(f[2], id))
                        return false;
                if (primary && (n < 4 || !parse_id(f[3], primary)))
                        return false;
                return true;
        }
        return false;
}

int parse_chown(const char *spec, char *const *lowers, uid_t *ret_uid, gid_t *ret_gid,
                struct err **errp) {
        _cleanup_free_ char *user = xstrdup(spec), *passwd = NULL, *group = NULL;
        char *grp = strchr(user, ':');
        unsigned long uid, gid, pgid = 0;

        if (grp)
                *grp++ = 0;
        if (!*user || (grp && !*grp))
                return err_setx(errp, EINVAL, "invalid --chown '%s'", spec);
        if (parse_id(user, &uid))
                pgid = uid;
        else {
                passwd = read_etc(lowers, "passwd");
                if (!etc_lookup(passwd, user, &uid, &pgid))
                        return err_setx(errp, ENOENT,
                                        "--chown '%s': unable to find user %s: no matching entries "
                                        "in passwd file",
                                        spec, user);
        }
        if (!grp)
                gid = pgid;
        else if (!parse_id(grp, &gid)) {
                group = read_etc(lowers, "group");
                if (!etc_lookup(group, grp, &gid, NULL))
                        return err_setx(errp, ENOENT,
                                        "--chown '%s': unable to find group %s: no matching "
                                        "entries in group file",
                                        spec, grp);
        }
        *ret_uid = (uid_t)uid;
        *ret_gid = (gid_t)gid;
        return 0;
}

/* ---- copying ---- */

static void apply_attrs(int dirfd, const char *name, const struct stat *st,
                        const struct copy_attrs *a, bool is_link) {
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        (void)fchownat(dirfd, name, a ? a->uid : st->st_uid, a ? a->gid : st->st_gid,
                       AT_SYMLINK_NOFOLLOW);
        if (!is_link)
                (void)fchmodat(dirfd, name, a && a->has_mode ? a->mode : (st->st_mode & 07777), 0);
        (void)utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int copy_fd_data(int in, int out) {
        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                int r = fd_write_full(out, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
}

/* Copies src_dfd/src (an entry, not followed) to dst_dfd/dname. rel is the context-relative
 * path used for .dockerignore. */
static int copy_entry(int src_dfd, const char *src, const char *rel, int dst_dfd, const char *dname,
                      const struct ignore_rules *ign, const struct copy_attrs *a, unsigned depth,
                      bool contents_only, struct err **errp) {
        struct stat st;
        int r;

        if (depth > WALK_MAX_DEPTH)
                return err_setx(errp, ELOOP, "'%s': directories nested too deeply", rel);
        if (fstatat(src_dfd, src, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
                return err_set(errp, errno, "stat '%s'", rel);

        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;

                if (!contents_only) {
                        if (mkdirat(dst_dfd, dname, 0755) < 0 && errno != EEXIST)
                                return err_set(errp, errno, "create directory '%s'", dname);
                        dfd = openat(dst_dfd, dname,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                } else
                        dfd = fcntl(dst_dfd, F_DUPFD_CLOEXEC, 3);
                if (dfd < 0)
                        return err_set(errp, errno, "open directory '%s'", dname);
                sfd = openat(src_dfd, *src ? src : ".",
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd < 0)
                        return err_set(errp, errno, "open '%s'", rel);
                d = fdopendir(sfd);
                if (!d)
                        return err_set(errp, errno, "read '%s'", rel);
                sfd = -EBADF;
                while ((de = readdir(d))) {
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        _cleanup_free_ char *crel = streq(rel, ".")
                                                            ? xstrdup(de->d_name)
                                                            : xasprintf("%s/%s", rel, de->d_name);
                        if (ign && ignore_matches(ign, crel) && de->d_type != DT_DIR)
                                continue;
                        r = copy_entry(dirfd(d), de->d_name, crel, dfd, de->d_name, ign, a,
                                       depth + 1, false, errp);
                        if (r < 0)
                                return r;
                }
                if (!contents_only)
                        apply_attrs(dst_dfd, dname, &st, a, false);
                else if (a)
                        (void)fchown(dfd, a->uid, a->gid);
                return 0;
        }

        (void)unlinkat(dst_dfd, dname, 0);
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(src_dfd, src, target, sizeof(target) - 1);
                if (n < 0)
                        return err_set(errp, errno, "read link '%s'", rel);
                target[n] = 0;
                if (symlinkat(target, dst_dfd, dname) < 0)
                        return err_set(errp, errno, "create link '%s'", dname);
                apply_attrs(dst_dfd, dname, &st, a, true);
                return 0;
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int in =
                        *src ? openat(src_dfd, src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                             : fcntl(src_dfd, F_DUPFD_CLOEXEC, 3);
                _cleanup_close_ int out = -EBADF;
                if (in < 0)
                        return err_set(errp, errno, "open '%s'", rel);
                out = openat(dst_dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             0600);
                if (out < 0)
                        return err_set(errp, errno, "create '%s'", dname);
                r = copy_fd_data(in, out);
                if (r < 0)
                        return err_set(errp, -r, "copy '%s'", rel);
                apply_attrs(dst_dfd, dname, &st, a, false);
                return 0;
        }
        if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                if (mknodat(dst_dfd, dname, st.st_mode, st.st_rdev) < 0)
                        return err_set(errp, errno, "create node '%s'", dname);
                apply_attrs(dst_dfd, dname, &st, a, false);
                return 0;
        }
        return 0; /* sockets are skipped, as docker does */
}

/* mkdir -p of a cleaned absolute path below root; returns an fd on the directory. */
static int mkdir_beneath(int rootfd, const char *path, struct err **errp) {
        _cleanup_strv_ char **parts = strv_split(path, "/");
        _cleanup_close_ int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);

        if (cur < 0)
                return err_set(errp, errno, "dup");
        STRV_FOREACH (p, parts) {
                int nfd;
                if (mkdirat(cur, *p, 0755) < 0 && errno != EEXIST)
                        return err_set(errp, errno, "create directory '%s'", path);
                nfd = openat(cur, *p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0)
                        return err_set(errp, errno, "open directory '%s'", path);
                safe_close(cur);
                cur = nfd;
        }
        return TAKE_FD(cur);
}

/* Splits dest into (parent dir fd, last name) under dest_root, creating parents. */
static int open_dest(const char *dest_root, const char *dest, bool as_dir, int *ret_dfd,
                     char **ret_name, struct err **errp) {
        _cleanup_free_ char *abs = xasprintf("/%s", dest);
        _cleanup_free_ char *cl = path_clean(abs);
        _cleanup_close_ int rootfd = open(dest_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *slash;
        int fd;

        if (rootfd < 0)
                return err_set(errp, errno, "open '%s'", dest_root);
        if (as_dir || streq(cl, "/")) {
                fd = mkdir_beneath(rootfd, cl, errp);
                if (fd < 0)
                        return fd;
                *ret_dfd = fd;
                *ret_name = NULL;
                return 0;
        }
        slash = strrchr(cl, '/');
        *slash = 0;
        fd = mkdir_beneath(rootfd, *cl ? cl : "/", errp);
        if (fd < 0)
                return fd;
        *ret_dfd = fd;
        *ret_name = xstrdup(slash + 1);
        return 0;
}

static const char *base_name(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

int build_copy(int src_dfd, char *const *srcs, const struct ignore_rules *ignore,
               const char *dest_root, const char *dest, const struct copy_attrs *attrs,
               struct err **errp) {
        bool dest_dir = str_endswith(dest, "/") || str_endswith(dest, "/.") || streq(dest, ".");
        size_t n = strv_length(srcs);
        int r;

        if (n > 1 && !dest_dir)
                return err_setx(errp, EINVAL,
                                "when using COPY with more than one source file, the destination "
                                "must be a directory and end with a /");
        STRV_FOREACH (s, srcs) {
                _cleanup_close_ int sfd = open_beneath(src_dfd, *s, O_RDONLY | O_NONBLOCK);
                _cleanup_close_ int dfd = -EBADF;
                _cleanup_free_ char *dname = NULL;
                struct stat st;

                if (sfd < 0)
                        return err_set(errp, -sfd, "open '%s'", *s);
                if (fstat(sfd, &st) < 0)
                        return err_set(errp, errno, "stat '%s'", *s);
                if (S_ISDIR(st.st_mode)) {
                        r = open_dest(dest_root, dest, true, &dfd, &dname, errp);
                        if (r < 0)
                                return r;
                        r = copy_entry(sfd, "", *s, dfd, ".", ignore, attrs, 0, true, errp);
                } else {
                        r = open_dest(dest_root, dest, dest_dir, &dfd, &dname, errp);
                        if (r < 0)
                                return r;
                        r = copy_entry(sfd, "", *s, dfd, dname ? dname : base_name(*s), ignore,
                                       attrs, 0, false, errp);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int build_copy_content(const char *content, const char *dest_root, const char *dest,
                       const struct copy_attrs *attrs, struct err **errp) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        int r;

        if (str_endswith(dest, "/"))
                return err_setx(errp, EINVAL, "heredoc destination '%s' must be a file", dest);
        r = open_dest(dest_root, dest, false, &dfd, &name, errp);
        if (r < 0)
                return r;
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return err_set(errp, errno, "create '%s'", dest);
        r = fd_write_full(fd, content, strlen(content));
        if (r < 0)
                return err_set(errp, -r, "write '%s'", dest);
        if (attrs) {
                (void)fchown(fd, attrs->uid, attrs->gid);
                if (attrs->has_mode)
                        (void)fchmod(fd, attrs->mode);
        }
        return 0;
}

/* ---- ADD ---- */

static void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

int build_add_archive(int src_dfd, const char *src, const char *dest_root, const char *dest,
                      struct err **errp) {
        _cleanup_(archive_freep) struct archive *a = NULL;
        _cleanup_(archive_write_freep) struct archive *w = NULL;
        _cleanup_close_ int fd = open_beneath(src_dfd, src, O_RDONLY);
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *dname = NULL, *dpath = NULL, *abs = NULL, *cl = NULL;
        struct archive_entry *e;
        struct stat st;
        int r;

        if (fd < 0)
                return err_set(errp, -fd, "open '%s'", src);
        if (fstat(fd, &st) < 0)
                return err_set(errp, errno, "stat '%s'", src);
        if (!S_ISREG(st.st_mode))
                return 0;
        a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
                return 0;
        r = archive_read_next_header(a, &e);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                return 0; /* not a tar: the caller copies it as a file */

        r = open_dest(dest_root, dest, true, &dfd, &dname, errp);
        if (r < 0)
                return r;
        abs = xasprintf("/%s", dest);
        cl = path_clean(abs);
        dpath = xasprintf("%s%s", dest_root, cl);

        w = archive_write_disk_new();
        /* Entry names are cleaned and checked above and then prefixed with the (absolute)
         * destination, so NOABSOLUTEPATHS cannot be used; symlinks and ".." stay refused. */
        archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                  ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                  (geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0));
        do {
                const char *name = archive_entry_pathname(e);
                _cleanup_free_ char *cname = path_clean(name ? name : ".");
                const char *hl = archive_entry_hardlink(e);
                if (str_startswith(cname, "../") || streq(cname, ".."))
                        return err_setx(errp, EPERM, "ADD '%s': entry '%s' leaves the destination",
                                        src, name);
                _cleanup_free_ char *full = xasprintf("%s/%s", dpath, cname);
                archive_entry_set_pathname(e, full);
                if (hl) {
                        _cleanup_free_ char *chl = path_clean(hl);
                        _cleanup_free_ char *fhl = xasprintf("%s/%s", dpath, chl);
                        archive_entry_set_hardlink(e, fhl);
                }
                r = archive_write_header(w, e);
                if (r < ARCHIVE_WARN)
                        return err_setx(errp, EIO, "ADD '%s': extract '%s': %s", src, cname,
                                        archive_error_string(w));
                if (archive_entry_size(e) > 0) {
                        const void *buf;
                        size_t sz;
                        la_int64_t off;
                        while ((r = archive_read_data_block(a, &buf, &sz, &off)) == ARCHIVE_OK)
                                if (archive_write_data_block(w, buf, sz, off) < ARCHIVE_WARN)
                                        return err_setx(errp, EIO, "ADD '%s': write '%s': %s", src,
                                                        cname, archive_error_string(w));
                        if (r != ARCHIVE_EOF)
                                return err_setx(errp, EIO, "ADD '%s': read: %s", src,
                                                archive_error_string(a));
                }
                archive_write_finish_entry(w);
                r = archive_read_next_header(a, &e);
        } while (r == ARCHIVE_OK || r == ARCHIVE_WARN);
        if (r != ARCHIVE_EOF)
                return err_setx(errp, EIO, "ADD '%s': %s", src, archive_error_string(a));
        return 1;
}

static size_t curl_write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
        int fd = *(int *)ud;
        return fd_write_full(fd, ptr, size * nmemb) < 0 ? 0 : size * nmemb;
}

int build_add_url(const char *url, const char *dest_root, const char *dest,
                  const struct copy_attrs *attrs, struct err **errp) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        bool as_dir = str_endswith(dest, "/");
        CURL *c;
        CURLcode cr;
        long code = 0;
        int r;

        if (!str_startswith(url, "http://") && !str_startswith(url, "https://"))
                return err_setx(errp, EINVAL, "ADD: unsupported URL '%s'", url);
        r = open_dest(dest_root, dest, as_dir, &dfd, &name, errp);
        if (r < 0)
                return r;
        if (as_dir) {
                const char *p = strstr(url, "://") + 3;
                const char *end = p + strcspn(p, "?#");
                _cleanup_free_ char *upath = xstrndup(p, (size_t)(end - p));
                const char *b = strrchr(upath, '/');
                if (!b || !b[1])
                        return err_setx(errp, EINVAL,
                                        "ADD: cannot determine a file name from URL '%s'; give "
                                        "a destination file name",
                                        url);
                name = xstrdup(b + 1);
        }
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_set(errp, errno, "create '%s'", name);
        c = curl_easy_init();
        if (!c)
                return err_setx(errp, ENOMEM, "curl init");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &fd);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        cr = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        if (cr != CURLE_OK) {
                (void)unlinkat(dfd, name, 0);
                return err_setx(errp, EIO, "ADD: download '%s': %s", url, curl_easy_strerror(cr));
        }
        if (code < 200 || code >= 300) {
                (void)unlinkat(dfd, name, 0);
                return err_setx(errp, EIO, "ADD: download '%s': HTTP status %ld", url, code);
        }
        if (attrs) {
                (void)fchown(fd, attrs->uid, attrs->gid);
                if (attrs->has_mode)
                        (void)fchmod(fd, attrs->mode);
        }
        return 0;
}

/* ---- checksums ---- */

static void evp_freep(EVP_MD_CTX **c) {
        if (*c)
                EVP_MD_CTX_free(*c);
}

static int sum_entry(EVP_MD_CTX *md, int dfd, const char *name, const char *rel,
                     const struct ignore_rules *ign, unsigned depth, struct err **errp) {
        struct stat st;
        char hdr[256];
        int r;

        if (depth > WALK_MAX_DEPTH)
                return err_setx(errp, ELOOP, "'%s': nested too deeply", rel);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
                return err_set(errp, errno, "stat '%s'", rel);
        snprintf(hdr, sizeof(hdr), "%o %jd\n", (unsigned)st.st_mode, (intmax_t)st.st_size);
        EVP_DigestUpdate(md, rel, strlen(rel) + 1);
        EVP_DigestUpdate(md, hdr, strlen(hdr));

        if (S_ISLNK(st.st_mode)) {
                char t[4096];
                ssize_t n = readlinkat(dfd, name, t, sizeof(t));
                if (n < 0)
                        return err_set(errp, errno, "read link '%s'", rel);
                EVP_DigestUpdate(md, t, (size_t)n);
        } else if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd =
                        *name ? openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                              : fcntl(dfd, F_DUPFD_CLOEXEC, 3);
                char buf[65536];
                ssize_t n;
                if (fd < 0)
                        return err_set(errp, errno, "open '%s'", rel);
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        EVP_DigestUpdate(md, buf, (size_t)n);
                if (n < 0)
                        return err_set(errp, errno, "read '%s'", rel);
        } else if (S_ISDIR(st.st_mode)) {
                _cleanup_strv_ char **names = NULL;
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;
                int fd = openat(dfd, *name ? name : ".",
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return err_set(errp, errno, "open '%s'", rel);
                d = fdopendir(fd);
                if (!d) {
                        safe_close(fd);
                        return err_set(errp, errno, "read '%s'", rel);
                }
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                strv_push(&names, de->d_name);
                if (names)
                        qsort_safe(names, strv_length(names), sizeof(char *), strv_cmp);
                STRV_FOREACH (nm, names) {
                        _cleanup_free_ char *crel =
                                streq(rel, ".") ? xstrdup(*nm) : xasprintf("%s/%s", rel, *nm);
                        struct stat cst;
                        if (ign && ignore_matches(ign, crel) &&
                            !(fstatat(dirfd(d), *nm, &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
                              S_ISDIR(cst.st_mode)))
                                continue;
                        r = sum_entry(md, dirfd(d), *nm, crel, ign, depth + 1, errp);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int build_context_checksum(int src_dfd, char *const *srcs, const struct ignore_rules *ignore,
                           char **ret, struct err **errp) {
        _cleanup_(evp_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char dg[EVP_MAX_MD_SIZE];
        unsigned dl = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        int r;

        if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
                return err_setx(errp, ENOMEM, "sha256 init");
        STRV_FOREACH (s, srcs) {
                _cleanup_close_ int fd = open_beneath(src_dfd, *s, O_RDONLY | O_NONBLOCK);
                if (fd < 0)
                        return err_set(errp, -fd, "open '%s'", *s);
                r = sum_entry(md, fd, "", *s, ignore, 0, errp);
                if (r < 0)
                        return r;
        }
        EVP_DigestFinal_ex(md, dg, &dl);
        for (unsigned i = 0; i < dl; i++)
                snprintf(hex + 2 * i, 3, "%02x", dg[i]);
        *ret = xasprintf("sha256:%s", hex);
        return 0;
}
