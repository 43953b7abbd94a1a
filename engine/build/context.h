/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* The build context (docs/build.md): a directory (given, or extracted from a tar stream), its
 * .dockerignore rules, COPY/ADD source resolution and copying, and source checksums for the
 * build cache. */

/* ---- .dockerignore ---- */

struct ignore_rule {
        char *pattern;  /* cleaned, no leading '/' */
        bool exclusion; /* "!pattern": re-includes */
};

struct ignore_rules {
        struct ignore_rule *rules;
        size_t n;
};
void ignore_rules_done(struct ignore_rules *r);

/* Parses .dockerignore text: '#' comments, blank lines, '!' exceptions; each pattern is trimmed,
 * cleaned ("./", "//", ".." resolved lexically) and a leading '/' removed. */
int ignore_parse(const char *text, struct ignore_rules *ret, struct err **errp);
/* Docker's pattern match on slash-separated paths: '*' and '?' never match '/', '**' matches any
 * number of directories, '[...]' classes, '\\' escapes. True when pattern matches path. */
bool ignore_pattern_match(const char *pattern, const char *path);
/* True when path (relative to the context, cleaned) is excluded: the last rule that matches the
 * path or one of its parent directories decides. */
bool ignore_matches(const struct ignore_rules *r, const char *path);

/* Lexically cleans a slash path like Go's path.Clean ("a/./b/../c" -> "a/c", "" -> ".").
 * Returns an allocated string. */
char *path_clean(const char *p);

/* ---- the context ---- */

struct build_context {
        char *dir;  /* the context directory */
        int dfd;    /* O_PATH|O_DIRECTORY fd on it */
        bool owned; /* dir is a temporary extraction that build_context_free removes */
        struct ignore_rules ignore;
};

/* Opens a context directory and reads its .dockerignore. */
int build_context_open_dir(const char *dir, struct build_context **ret, struct err **errp);
/* Extracts a tar stream (optionally compressed) from fd into tmpdir (created, then owned by the
 * context) and opens it. */
int build_context_open_tar(int fd, const char *tmpdir, struct build_context **ret,
                           struct err **errp);
struct build_context *build_context_free(struct build_context *c);
void build_context_freep(struct build_context **c);

/* Resolves a COPY/ADD source against the context: absolute paths are taken relative to the
 * context root, a path that leaves the context lexically (../x) is refused with EPERM, globs
 * (*, ?, [..]) are matched with fnmatch on cleaned relative paths, ignored files never match, a
 * symlink on the way that leads out of the context is refused. Returns the matching relative
 * paths, sorted. A source that matches nothing is ENOENT. */
int build_context_resolve(const struct build_context *c, const char *src, char ***ret,
                          struct err **errp);

/* Ownership and mode for copied files. uid/gid -1 keep the source owner... docker sets 0:0
 * by default, which callers pass explicitly. */
struct copy_attrs {
        uid_t uid;
        gid_t gid;
        mode_t mode; /* 0: keep the source's permission bits */
        bool has_mode;
};

/* Parses --chmod (octal, at most 07777). */
int parse_chmod(const char *s, mode_t *ret, struct err **errp);
/* Resolves --chown "user[:group]" (names or numbers) with the etc/passwd and etc/group found in
 * the first of lower_dirs (top layer first) that has them. A user without a group uses the
 * user's primary group (names) or the same number (numeric). */
int parse_chown(const char *spec, char *const *lower_dirs, uid_t *ret_uid, gid_t *ret_gid,
                struct err **errp);

/* Copies the resolved sources (paths relative to src_dfd) to dest inside the directory
 * dest_root (a new layer directory), following docker's rules: several sources need a
 * destination ending in '/', a directory source copies its contents, missing parents are
 * created (0755). ignore (optional) filters files inside copied directories. */
int build_copy(int src_dfd, char *const *srcs, const struct ignore_rules *ignore,
               const char *dest_root, const char *dest, const struct copy_attrs *attrs,
               struct err **errp);

/* Writes content to dest (a file) under dest_root; used for COPY <<EOF. */
int build_copy_content(const char *content, const char *dest_root, const char *dest,
                       const struct copy_attrs *attrs, struct err **errp);

/* ADD of a local archive: when the source file is a tar (plain, gzip, bzip2, xz, zstd) it is
 * extracted into dest. Returns 1 when extracted, 0 when the file is not an archive. */
int build_add_archive(int src_dfd, const char *src, const char *dest_root, const char *dest,
                      struct err **errp);

/* ADD of an http(s) URL: downloads into dest (a directory when it ends in '/', the file name then
 * comes from the URL path), mode 0600 unless attrs sets one. */
int build_add_url(const char *url, const char *dest_root, const char *dest,
                  const struct copy_attrs *attrs, struct err **errp);

/* Checksum of the sources for the cache key: "sha256:..." over each path, type, mode, size,
 * symlink target and content (not times or owners), directories walked in sorted order with
 * ignored files left out. */
int build_context_checksum(int src_dfd, char *const *srcs, const struct ignore_rules *ignore,
                           char **ret, struct err **errp);
