/* SPDX-License-Identifier: Apache-2.0 */
/* `berth cp`: copies between a container and the host as tar streams. The host side is read
 * with libarchive, so this file is linked into berth-engine only (cli.c's cli_engine_cmds). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "client.h"
#include "fileio.h"
#include "http_client.h"
#include "http_request.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

/* "NAME:PATH" names a container path unless it starts with '/' or '.' (docker's rule: local
 * paths with a colon are written ./a:b). ret_path points into arg. */
static bool split_ctr_arg(const char *arg, char **ret_ctr, const char **ret_path) {
        const char *colon = strchr(arg, ':');

        if (arg[0] == '/' || arg[0] == '.' || !colon || colon == arg)
                return false;
        *ret_ctr = xstrndup(arg, (size_t)(colon - arg));
        *ret_path = colon + 1;
        return true;
}

/* Writes a tar of the host path src to out_fd, its top entry named name ("." : the contents of
 * a directory, no top entry). follow: a symlink at src itself is followed. */
static int tar_host(const char *src, const char *name, bool follow, int out_fd, struct err **errp) {
        struct archive *disk = archive_read_disk_new(), *w = archive_write_new();
        _cleanup_free_ char *buf = xmalloc(64 * 1024);
        size_t plen = strlen(src);
        int r = 0;

        if (follow)
                archive_read_disk_set_symlink_hybrid(disk);
        else
                archive_read_disk_set_symlink_physical(disk);
        archive_read_disk_set_standard_lookup(disk);
        archive_write_set_format_pax_restricted(w);
        if (archive_write_open_fd(w, out_fd) != ARCHIVE_OK ||
            archive_read_disk_open(disk, src) != ARCHIVE_OK) {
                r = err_setx(errp, EIO, "'%s': %s", src,
                             archive_error_string(disk) ?: archive_error_string(w) ?: "error");
                goto out;
        }
        for (;;) {
                struct archive_entry *e = archive_entry_new();
                const char *p, *rest;
                _cleanup_free_ char *arc = NULL;
                int k = archive_read_next_header2(disk, e);

                if (k == ARCHIVE_EOF) {
                        archive_entry_free(e);
                        break;
                }
                if (k < ARCHIVE_WARN) {
                        r = err_setx(errp, EIO, "read '%s': %s", src,
                                     archive_error_string(disk) ?: "error");
                        archive_entry_free(e);
                        goto out;
                }
                (void)archive_read_disk_descend(disk);
                p = archive_entry_pathname(e);
                rest = strlen(p) >= plen ? p + plen : "";
                if (streq(name, "."))
                        arc = xstrdup(rest[0] ? rest + (rest[0] == '/') : ".");
                else
                        arc = xasprintf("%s%s", name, rest);
                archive_entry_set_pathname(e, arc);
                if (archive_write_header(w, e) < ARCHIVE_WARN) {
                        r = err_setx(errp, EIO, "write the archive: %s",
                                     archive_error_string(w) ?: "error");
                        archive_entry_free(e);
                        goto out;
                }
                if (archive_entry_filetype(e) == AE_IFREG) {
                        la_ssize_t n;

                        while ((n = archive_read_data(disk, buf, 64 * 1024)) > 0)
                                if (archive_write_data(w, buf, (size_t)n) != n)
                                        break;
                        if (n < 0) {
                                r = err_setx(errp, EIO, "read '%s': %s", p,
                                             archive_error_string(disk) ?: "error");
                                archive_entry_free(e);
                                goto out;
                        }
                }
                archive_entry_free(e);
        }
        if (archive_write_close(w) != ARCHIVE_OK)
                r = err_setx(errp, EIO, "write the archive: %s",
                             archive_error_string(w) ?: "error");
out:
        archive_read_free(disk);
        archive_write_free(w);
        return r;
}

/* berth cp HOST CONTAINER:DEST: a tar of HOST made by a child into a pipe, streamed as the body
 * of PUT /archive (cp=1: the daemon applies docker's destination rules). */
static int cp_in(const struct cli_ctx *ctx, const char *ctr, const char *src, const char *dest,
                 bool follow, bool archive, struct err **errp) {
        _cleanup_free_ char *s = xstrdup(src), *name = NULL, *esc_c = NULL, *esc_d = NULL,
                            *esc_n = NULL, *url = NULL;
        _cleanup_close_pair_ int p[2] = {-EBADF, -EBADF};
        size_t n = strlen(s);
        struct stat st;
        int r, status;
        pid_t pid;

        if ((follow ? stat(src, &st) : lstat(src, &st)) < 0)
                return err_set(errp, errno, "source '%s'", src);
        if (n >= 2 && streq(s + n - 2, "/.")) {
                if (!S_ISDIR(st.st_mode))
                        return err_setx(errp, ENOTDIR, "source '%s' is not a directory", src);
                name = xstrdup(".");
                s[n - 2] = 0;
                if (!s[0])
                        strcpy(s, "/");
        } else {
                while (n > 1 && s[n - 1] == '/')
                        s[--n] = 0;
                if (src[strlen(src) - 1] == '/' && !S_ISDIR(st.st_mode))
                        return err_setx(errp, ENOTDIR, "source '%s' is not a directory", src);
                name = xstrdup(strrchr(s, '/') ? strrchr(s, '/') + 1 : s);
                if (!name[0] || streq(name, "..")) {
                        free(name);
                        name = xstrdup(".");
                }
        }
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_set(errp, errno, "pipe");
        pid = fork();
        if (pid < 0)
                return err_set(errp, errno, "fork");
        if (pid == 0) {
                _cleanup_err_ struct err *e = NULL;

                p[0] = safe_close(p[0]);
                if (tar_host(s, name, follow, p[1], &e) < 0) {
                        fprintf(stderr, "berth: %s\n", err_msg(e));
                        _exit(1);
                }
                _exit(0);
        }
        p[1] = safe_close(p[1]);
        esc_c = http_escape(ctr);
        esc_d = http_escape(dest);
        esc_n = http_escape(name);
        url = xasprintf("/v1/containers/%s/archive?path=%s&cp=1&name=%s&srcDir=%d&copyUIDGID=%d",
                        esc_c, esc_d, esc_n, S_ISDIR(st.st_mode) || streq(name, "."), archive);
        r = client_upload(ctx, "PUT", url, p[0], "application/x-tar", NULL, errp);
        p[0] = safe_close(p[0]);
        if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
                status = 1;
        if (r >= 0 && status != 0)
                r = err_setx(errp, EIO, "the archive of '%s' could not be made", src);
        return r;
}

/* Reads up to n bytes of the archive stream; 0 at its end. */
static ssize_t cp_recv(struct http_raw *raw, void *buf, size_t n, struct err **errp) {
        for (;;) {
                ssize_t k = http_raw_recv(raw, buf, n);

                if (k == -EAGAIN) {
                        struct pollfd pf = {.fd = http_raw_fd(raw), .events = POLLIN};

                        if (poll(&pf, 1, 60000) == 0)
                                return err_setx(errp, ETIMEDOUT,
                                                "the daemon sent nothing for 60 s");
                        continue;
                }
                if (k < 0)
                        return err_setx(errp, (int)-k, "read the archive: %s", strerror((int)-k));
                return k;
        }
}

static int cp_get(const struct cli_ctx *ctx, const char *ctr, const char *path,
                  struct http_raw **ret, struct err **errp) {
        _cleanup_free_ char *esc_c = http_escape(ctr), *esc_p = http_escape(path), *url = NULL;

        url = xasprintf("/v1/containers/%s/archive?path=%s", esc_c, esc_p);
        return client_upgrade(ctx, "GET", url, NULL, ret, NULL, errp);
}

/* berth cp CONTAINER:PATH -: GET /archive, the tar to stdout. */
static int cp_out_stdout(const struct cli_ctx *ctx, const char *ctr, const char *path,
                         struct err **errp) {
        _cleanup_(http_raw_freep) struct http_raw *raw = NULL;
        _cleanup_free_ char *buf = xmalloc(64 * 1024);
        int r;

        r = cp_get(ctx, ctr, path, &raw, errp);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = cp_recv(raw, buf, 64 * 1024, errp);

                if (n <= 0)
                        return (int)n;
                if (fd_write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
                        return err_set(errp, errno, "write to stdout");
        }
}

/* ---- cp CONTAINER:SRC HOSTDEST: the CLI extracts the daemon's tar itself ---- */

struct cp_src {
        struct http_raw *raw;
        char buf[64 * 1024];
        struct err *err;
};

static la_ssize_t cp_src_read(struct archive *a, void *ud, const void **ret) {
        struct cp_src *src = ud;
        ssize_t n = cp_recv(src->raw, src->buf, sizeof(src->buf), &src->err);

        if (n < 0) {
                archive_set_error(a, EIO, "%s", err_msg(src->err));
                return -1;
        }
        *ret = src->buf;
        return n;
}

static void cp_archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static void cp_disk_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

/* The name an entry of the daemon's tar gets under the extraction directory: its first
 * component (the source's base name, or "." for SRC/.) becomes top. NULL: an unsafe name. */
static char *cp_rebase(const char *entry, const char *first, const char *top) {
        size_t n = strlen(first);
        const char *rest;

        if (streq(first, ".")) {
                /* "." and "./X": the contents */
                if (streq(entry, ".") || streq(entry, "./"))
                        return xstrdup(top); /* the directory itself (its mode and time) */
                if (str_startswith(entry, "./"))
                        entry += 2;
                if (entry[0] == '/')
                        return NULL;
                return streq(top, ".") ? xstrdup(entry) : xasprintf("%s/%s", top, entry);
        }
        if (strncmp(entry, first, n) != 0 || (entry[n] && entry[n] != '/'))
                return NULL;
        rest = entry + n;
        return rest[0] && rest[1] ? xasprintf("%s%s", top, rest) : xstrdup(top);
}

/* Extracts the tar read by a (its first header e already read) into the directory dir, its top
 * entry named top. Entries that would leave dir (.., absolute names, through a symlink) are
 * refused by libarchive's secure flags; owners are kept only with archive (-a). */
static int cp_extract(struct archive *a, struct archive_entry *e, const char *dir, const char *top,
                      bool archive, struct err **errp) {
        _cleanup_(cp_disk_freep) struct archive *disk = archive_write_disk_new();
        _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *first = xstrdup(archive_entry_pathname(e) ?: "");
        int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
                    ARCHIVE_EXTRACT_UNLINK;
        size_t n = strlen(first);
        int r = 0, k;

        while (n > 1 && first[n - 1] == '/')
                first[--n] = 0;
        if (archive)
                flags |= ARCHIVE_EXTRACT_OWNER;
        archive_write_disk_set_options(disk, flags);
        archive_write_disk_set_standard_lookup(disk);
        /* the secure flags judge relative names from the current directory */
        if (chdir(dir) < 0)
                return err_set(errp, errno, "destination '%s'", dir);
        for (k = ARCHIVE_OK; k == ARCHIVE_OK || k == ARCHIVE_WARN;
             k = archive_read_next_header(a, &e)) {
                _cleanup_free_ char *name = cp_rebase(archive_entry_pathname(e) ?: "", first, top);
                const char *hl = archive_entry_hardlink(e);
                const void *buf;
                size_t len;
                la_int64_t off;

                if (!name) {
                        r = err_setx(errp, EINVAL, "the archive has an unexpected entry '%s'",
                                     archive_entry_pathname(e) ?: "");
                        break;
                }
                archive_entry_set_pathname(e, name);
                if (hl) {
                        _cleanup_free_ char *h = cp_rebase(hl, first, top);
                        if (!h) {
                                r = err_setx(errp, EINVAL, "the archive links '%s' to '%s'", name,
                                             hl);
                                break;
                        }
                        archive_entry_set_hardlink(e, h);
                }
                if (archive_write_header(disk, e) < ARCHIVE_WARN) {
                        r = err_setx(errp, EIO, "write '%s/%s': %s", dir, name,
                                     archive_error_string(disk) ?: "error");
                        break;
                }
                while ((k = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
                        if (archive_write_data_block(disk, buf, len, off) < ARCHIVE_WARN) {
                                k = ARCHIVE_FATAL;
                                break;
                        }
                if (k != ARCHIVE_EOF) {
                        r = err_setx(errp, EIO, "write '%s/%s': %s", dir, name,
                                     archive_error_string(disk) ?: archive_error_string(a)
                                                                          ?: "error");
                        break;
                }
                if (archive_write_finish_entry(disk) < ARCHIVE_WARN) {
                        r = err_setx(errp, EIO, "write '%s/%s': %s", dir, name,
                                     archive_error_string(disk) ?: "error");
                        break;
                }
        }
        if (r >= 0 && k != ARCHIVE_EOF)
                r = err_setx(errp, EIO, "read the archive: %s", archive_error_string(a) ?: "error");
        if (r >= 0 && archive_write_close(disk) != ARCHIVE_OK)
                r = err_setx(errp, EIO, "write '%s': %s", dir,
                             archive_error_string(disk) ?: "error");
        if (cwd >= 0)
                (void)fchdir(cwd);
        return r;
}

/* berth cp CONTAINER:SRC HOSTDEST with docker's destination rules: an existing directory gets
 * SRC's base name (SRC/. its contents); an existing file is replaced by a file SRC; a missing
 * DEST is created in its existing parent, but a missing DEST/ only for a directory SRC. */
static int cp_out_host(const struct cli_ctx *ctx, const char *ctr, const char *spath,
                       const char *dest, bool follow, bool archive, struct err **errp) {
        _cleanup_free_ char *path = xstrdup(spath), *d = xstrdup(dest), *dir = NULL, *top = NULL;
        size_t dn = strlen(d);
        bool dest_slash = dn > 1 && d[dn - 1] == '/', src_dir, contents;
        struct stat st;
        int r, hops;

        for (hops = 0;; hops++) {
                _cleanup_(http_raw_freep) struct http_raw *raw = NULL;
                _cleanup_(cp_archive_freep) struct archive *a = NULL;
                _cleanup_free_ struct cp_src *src = xnew0(struct cp_src, 1);
                struct archive_entry *e;
                const char *first;
                size_t fn;
                int k;

                r = cp_get(ctx, ctr, path, &raw, errp);
                if (r < 0)
                        return r;
                src->raw = raw;
                a = archive_read_new();
                archive_read_support_format_tar(a);
                if (archive_read_open(a, src, NULL, cp_src_read, NULL) != ARCHIVE_OK ||
                    (k = archive_read_next_header(a, &e)) < ARCHIVE_WARN) {
                        r = src->err ? err_move(errp, TAKE_PTR(src->err))
                                     : err_setx(errp, EIO, "read the archive of '%s': %s", path,
                                                archive_error_string(a) ?: "error");
                        return r;
                }
                /* -L: a symlink SRC is copied as what it points at, under its own name */
                if (follow && archive_entry_filetype(e) == AE_IFLNK && hops < 16) {
                        const char *t = archive_entry_symlink(e) ?: "";
                        _cleanup_free_ char *parent = xstrdup(path);
                        char *slash = strrchr(parent, '/');

                        if (slash)
                                slash[slash == parent ? 1 : 0] = 0;
                        if (!top) {
                                const char *b = strrchr(spath, '/');
                                top = xstrdup(b && b[1] ? b + 1 : spath);
                        }
                        free(path);
                        path = t[0] == '/'
                                       ? xstrdup(t)
                                       : xasprintf("%s/%s", streq(parent, "/") ? "" : parent, t);
                        continue;
                }
                first = archive_entry_pathname(e) ?: "";
                fn = strlen(first);
                contents = streq(first, ".") || streq(first, "./");
                src_dir = archive_entry_filetype(e) == AE_IFDIR;
                if (!top) {
                        top = xstrndup(first, fn > 1 && first[fn - 1] == '/' ? fn - 1 : fn);
                        if (!top[0] || strchr(top, '/') || streq(top, ".."))
                                return err_setx(errp, EINVAL,
                                                "the archive has an unexpected "
                                                "first entry '%s'",
                                                first);
                }
                while (dn > 1 && d[dn - 1] == '/')
                        d[--dn] = 0;
                if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
                        /* into an existing directory */
                        dir = xstrdup(d);
                        if (contents) {
                                free(top);
                                top = xstrdup(".");
                        }
                } else if (stat(d, &st) == 0) {
                        if (src_dir)
                                return err_setx(errp, ENOTDIR,
                                                "cannot copy a directory to the file '%s'", dest);
                        if (dest_slash)
                                return err_setx(errp, ENOTDIR,
                                                "destination '%s' is not a directory", dest);
                } else if (errno != ENOENT) {
                        return err_set(errp, errno, "destination '%s'", dest);
                } else if (dest_slash && !src_dir) {
                        return err_setx(errp, ENOENT, "destination directory '%s' does not exist",
                                        dest);
                }
                if (!dir) {
                        /* DEST itself is made (or replaced) in its parent, which must exist */
                        char *slash = strrchr(d, '/');

                        dir = slash == d ? xstrdup("/") : xstrndup(d, (size_t)(slash - d));
                        free(top);
                        top = xstrdup(slash + 1);
                        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                                return err_setx(errp, ENOENT,
                                                "the parent directory of '%s' "
                                                "does not exist",
                                                dest);
                }
                r = cp_extract(a, e, dir, top, archive, errp);
                if (r < 0 && src->err)
                        err_move(errp, TAKE_PTR(src->err));
                return r;
        }
}

static int cmd_cp(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
                "       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
                "Copy files/folders between a container and the local filesystem (docker's "
                "rules:\nSRC/. copies the contents of a directory; a DEST ending in '/' must "
                "be a directory).\n'-' is a tar stream: from stdin, extracted into the "
                "directory DEST_PATH; to stdout,\nthe tar of SRC_PATH.\n\n"
                "Options:\n"
                "  -a, --archive       keep uid/gid (otherwise the copies belong to root)\n"
                "  -L, --follow-link   follow a symlink in SRC_PATH\n"
                "  -h, --help          this help\n";
        static const struct option opts[] = {{"archive", no_argument, NULL, 'a'},
                                             {"follow-link", no_argument, NULL, 'L'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        _cleanup_free_ char *sctr = NULL, *dctr = NULL, *url = NULL, *host = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *spath = NULL, *dpath = NULL;
        bool archive = false, follow = false, in;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+aLh", opts, NULL)) != -1)
                switch (c) {
                case 'a':
                        archive = true;
                        break;
                case 'L':
                        follow = true;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 2)
                return USAGE_ERROR(usage, "'cp' requires exactly two arguments");
        (void)split_ctr_arg(argv[optind], &sctr, &spath);
        (void)split_ctr_arg(argv[optind + 1], &dctr, &dpath);
        if (sctr && dctr)
                return USAGE_ERROR(usage, "copying between containers is not supported");
        if (!sctr && !dctr)
                return USAGE_ERROR(usage, "must specify at least one container source");
        in = dctr != NULL;
        if (in && streq(argv[optind], "-")) {
                /* a tar on stdin, extracted into the directory dpath (docker's PUT /archive) */
                _cleanup_free_ char *esc_c = http_escape(dctr), *esc_d = http_escape(dpath);

                url = xasprintf("/v1/containers/%s/archive?path=%s&copyUIDGID=%d", esc_c, esc_d,
                                archive);
                r = client_upload(ctx, "PUT", url, STDIN_FILENO, "application/x-tar", NULL, &e);
                return r < 0 ? cli_report(TAKE_PTR(e), client_exit_code(r)) : 0;
        }
        if (!in && streq(argv[optind + 1], "-")) {
                r = cp_out_stdout(ctx, sctr, spath, &e);
                return r < 0 ? cli_report(TAKE_PTR(e), client_exit_code(r)) : 0;
        }
        if (in) {
                r = cp_in(ctx, dctr, argv[optind], dpath, follow, archive, &e);
                return r < 0 ? cli_report(TAKE_PTR(e), client_exit_code(r)) : 0;
        }
        host = path_absolute(argv[optind + 1]);
        if (!host) {
                (void)err_set(&e, errno, "get the current directory");
                return cli_report(TAKE_PTR(e), 1);
        }
        /* out of the container: the CLI extracts GET /archive itself, so the host path is the
         * CLI's (also with a remote daemon) */
        r = cp_out_host(ctx, sctr, spath, host, follow, archive, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e), client_exit_code(r));
        return 0;
}

/* clang-format off */
const struct cli_cmd cli_cp_cmds[] = {
        {"cp", "Copy files/folders between a container and the local filesystem", cmd_cp},
        {"container cp", "Copy files/folders between a container and the local filesystem", cmd_cp},
        {},
};
/* clang-format on */
