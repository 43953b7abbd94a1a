/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "clog.h"
#include "fileio.h"
#include "strv.h"
#include "xalloc.h"

#define CLOG_ENTRY_MAX (CLOG_LINE_MAX * 7 + 256) /* worst-case escaped line plus keys */

static const char *const stream_names[_CLOG_STREAM_MAX] = {
        [CLOG_STDOUT] = "stdout",
        [CLOG_STDERR] = "stderr",
};

struct clog_writer {
        char *path;
        int fd;
        uint64_t size;
        uint64_t max_size;
        unsigned max_files;
        char *partial[_CLOG_STREAM_MAX];
        size_t partial_len[_CLOG_STREAM_MAX];
        char *buf; /* encoding buffer of CLOG_ENTRY_MAX bytes */
};

char *clog_format_time(uint64_t ts_nsec) {
        time_t sec = (time_t)(ts_nsec / NSEC_PER_SEC);
        struct tm tm;
        char b[32];

        gmtime_r(&sec, &tm);
        strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09lluZ", b, (unsigned long long)(ts_nsec % NSEC_PER_SEC));
}

int clog_writer_open(const char *path, uint64_t max_size, unsigned max_files,
                     struct clog_writer **ret, struct err **errp) {
        _cleanup_close_ int fd = -EBADF;
        struct clog_writer *w;
        struct stat st;

        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return err_set(errp, errno, "open log '%s'", path);
        if (fstat(fd, &st) < 0)
                return err_set(errp, errno, "stat log '%s'", path);
        w = xnew0(struct clog_writer, 1);
        w->path = xstrdup(path);
        w->fd = TAKE_FD(fd);
        w->size = (uint64_t)st.st_size;
        w->max_size = max_size;
        w->max_files = max_files ? max_files : 1;
        w->buf = xmalloc(CLOG_ENTRY_MAX);
        for (int i = 0; i < _CLOG_STREAM_MAX; i++)
                w->partial[i] = xmalloc(CLOG_LINE_MAX);
        *ret = w;
        return 0;
}

struct clog_writer *clog_writer_free(struct clog_writer *w) {
        if (!w)
                return NULL;
        safe_close(w->fd);
        for (int i = 0; i < _CLOG_STREAM_MAX; i++)
                free(w->partial[i]);
        free(w->buf);
        free(w->path);
        free(w);
        return NULL;
}

void clog_writer_freep(struct clog_writer **w) {
        *w = clog_writer_free(*w);
}

static int rotate(struct clog_writer *w, struct err **errp) {
        int fd;

        if (w->max_files > 1) {
                for (unsigned i = w->max_files - 1; i > 0; i--) {
                        _cleanup_free_ char *from =
                                i == 1 ? xstrdup(w->path) : xasprintf("%s.%u", w->path, i - 1);
                        _cleanup_free_ char *to = xasprintf("%s.%u", w->path, i);

                        if (rename(from, to) < 0 && errno != ENOENT)
                                return err_set(errp, errno, "rotate log '%s'", from);
                }
                fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
        } else
                fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                          0640);
        if (fd < 0)
                return err_set(errp, errno, "reopen log '%s'", w->path);
        safe_close(w->fd);
        w->fd = fd;
        w->size = 0;
        return 0;
}

/* Encodes one entry into w->buf as a JSON line. Control characters and invalid UTF-8 bytes are
 * escaped (invalid bytes as U+FFFD, as docker does). */
static size_t encode(struct clog_writer *w, enum clog_stream s, const char *line, size_t len,
                     uint64_t ts) {
        static const char hex[] = "0123456789abcdef";
        _cleanup_free_ char *t = clog_format_time(ts);
        char *p = w->buf;

        p += sprintf(p, "{\"log\":\"");
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)line[i];

                switch (c) {
                case '"':
                        *p++ = '\\';
                        *p++ = '"';
                        break;
                case '\\':
                        *p++ = '\\';
                        *p++ = '\\';
                        break;
                case '\n':
                        *p++ = '\\';
                        *p++ = 'n';
                        break;
                case '\r':
                        *p++ = '\\';
                        *p++ = 'r';
                        break;
                case '\t':
                        *p++ = '\\';
                        *p++ = 't';
                        break;
                default:
                        if (c < 0x20) {
                                p += sprintf(p, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
                        } else if (c < 0x80) {
                                *p++ = (char)c;
                        } else {
                                /* Copy a complete, valid UTF-8 sequence; else U+FFFD. */
                                size_t n = c >= 0xf0 && c < 0xf5   ? 4
                                           : c >= 0xe0             ? 3
                                           : c >= 0xc2 && c < 0xe0 ? 2
                                                                   : 0;
                                bool ok = n > 0 && i + n <= len && c < 0xf5;
                                for (size_t k = 1; ok && k < n; k++)
                                        ok = ((unsigned char)line[i + k] & 0xc0) == 0x80;
                                if (ok) {
                                        memcpy(p, line + i, n);
                                        p += n;
                                        i += n - 1;
                                } else
                                        p += sprintf(p, "\\ufffd");
                        }
                }
        }
        p += sprintf(p, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream_names[s], t);
        return (size_t)(p - w->buf);
}

static int emit(struct clog_writer *w, enum clog_stream s, const char *line, size_t len,
                uint64_t ts, struct err **errp) {
        size_t n = encode(w, s, line, len, ts);
        int r;

        if (w->max_size > 0 && w->size > 0 && w->size + n > w->max_size) {
                r = rotate(w, errp);
                if (r < 0)
                        return r;
        }
        r = fd_write_full(w->fd, w->buf, n);
        if (r < 0)
                return err_set(errp, -r, "write log '%s'", w->path);
        w->size += n;
        return 0;
}

int clog_write(struct clog_writer *w, enum clog_stream s, const char *buf, size_t len,
               uint64_t ts_nsec, struct err **errp) {
        int r;

        if (s < 0 || s >= _CLOG_STREAM_MAX)
                return err_setx(errp, EINVAL, "invalid log stream %d", (int)s);
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                size_t take = nl ? (size_t)(nl - buf) + 1 : len;
                size_t room = CLOG_LINE_MAX - w->partial_len[s];

                if (take > room)
                        take = room;
                memcpy(w->partial[s] + w->partial_len[s], buf, take);
                w->partial_len[s] += take;
                buf += take;
                len -= take;
                if (w->partial[s][w->partial_len[s] - 1] == '\n' ||
                    w->partial_len[s] == CLOG_LINE_MAX) {
                        r = emit(w, s, w->partial[s], w->partial_len[s], ts_nsec, errp);
                        w->partial_len[s] = 0;
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int clog_flush(struct clog_writer *w, uint64_t ts_nsec, struct err **errp) {
        for (int s = 0; s < _CLOG_STREAM_MAX; s++) {
                if (w->partial_len[s] == 0)
                        continue;
                int r = emit(w, s, w->partial[s], w->partial_len[s], ts_nsec, errp);
                w->partial_len[s] = 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_rfc3339(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *p;
        uint64_t frac = 0, scale = NSEC_PER_SEC;
        long off = 0;
        time_t t;

        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                while (isdigit((unsigned char)*p)) {
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t)(*p - '0') * scale;
                        }
                        p++;
                }
        }
        if (*p == 'Z')
                p++;
        else if (*p == '+' || *p == '-') {
                int hh, mm;
                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                        return -EINVAL;
                off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
                p += 6;
        } else if (*p)
                return -EINVAL;
        if (*p)
                return -EINVAL;
        t = timegm(&tm) - off;
        if (t < 0)
                return -EINVAL;
        *ret = (uint64_t)t * NSEC_PER_SEC + frac;
        return 0;
}

int clog_parse_time(const char *s, uint64_t now_nsec, uint64_t *ret, struct err **errp) {
        char *end;

        if (!s || !*s)
                return err_setx(errp, EINVAL, "empty time value");
        if (parse_rfc3339(s, ret) == 0)
                return 0;
        /* Unix timestamp, optional fraction. */
        if (isdigit((unsigned char)s[0])) {
                errno = 0;
                unsigned long long sec = strtoull(s, &end, 10);
                if (errno == 0 && (*end == 0 || *end == '.')) {
                        uint64_t frac = 0, scale = NSEC_PER_SEC;
                        if (*end == '.') {
                                for (end++; isdigit((unsigned char)*end); end++)
                                        if (scale > 1) {
                                                scale /= 10;
                                                frac += (uint64_t)(*end - '0') * scale;
                                        }
                        }
                        if (*end == 0) {
                                *ret = sec * NSEC_PER_SEC + frac;
                                return 0;
                        }
                }
        }
        /* Relative duration: sequence of NUMBER UNIT with h, m, s, ms. */
        {
                const char *p = s;
                uint64_t total = 0;

                while (*p) {
                        uint64_t mul;
                        errno = 0;
                        double v = strtod(p, &end);
                        if (end == p || errno || v < 0)
                                goto bad;
                        p = end;
                        if (p[0] == 'm' && p[1] == 's') {
                                mul = 1000000ULL;
                                p += 2;
                        } else if (*p == 'h') {
                                mul = 3600ULL * NSEC_PER_SEC;
                                p++;
                        } else if (*p == 'm') {
                                mul = 60ULL * NSEC_PER_SEC;
                                p++;
                        } else if (*p == 's') {
                                mul = NSEC_PER_SEC;
                                p++;
                        } else
                                goto bad;
                        total += (uint64_t)(v * (double)mul);
                }
                *ret = total > now_nsec ? 0 : now_nsec - total;
                return 0;
        }
bad:
        return err_setx(errp, EINVAL,
                        "invalid time '%s': expected RFC 3339, a Unix timestamp or a duration "
                        "like 10m",
                        s);
}

int clog_parse_size(const char *s, uint64_t *ret, struct err **errp) {
        char *end;
        unsigned long long v;
        uint64_t mul = 1;

        errno = 0;
        if (!s || !isdigit((unsigned char)s[0]))
                goto bad;
        v = strtoull(s, &end, 10);
        if (errno)
                goto bad;
        switch (tolower((unsigned char)*end)) {
        case 0:
                break;
        case 'k':
                mul = 1024;
                break;
        case 'm':
                mul = 1024 * 1024;
                break;
        case 'g':
                mul = 1024ULL * 1024 * 1024;
                break;
        default:
                goto bad;
        }
        if (*end) {
                end++;
                if (tolower((unsigned char)*end) == 'b')
                        end++;
                if (*end)
                        goto bad;
        }
        if (v > UINT64_MAX / mul)
                goto bad;
        *ret = v * mul;
        return 0;
bad:
        return err_setx(errp, EINVAL, "invalid size '%s': expected a number with k, m or g",
                        s ? s : "");
}

/* Parses one line into an entry; returns 0, or -EINVAL for a line that is not an entry. */
static int parse_entry(const char *line, size_t len, json_t **holder, struct clog_entry *e) {
        json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
        const char *stream, *t;
        json_t *log;

        if (!j)
                return -EINVAL;
        log = json_object_get(j, "log");
        stream = json_string_value(json_object_get(j, "stream"));
        t = json_string_value(json_object_get(j, "time"));
        if (!json_is_string(log) || !stream || !t || parse_rfc3339(t, &e->ts_nsec) < 0) {
                json_decref(j);
                return -EINVAL;
        }
        e->stream = strcmp(stream, "stderr") == 0 ? CLOG_STDERR : CLOG_STDOUT;
        e->log = json_string_value(log);
        e->len = json_string_length(log);
        *holder = j;
        return 0;
}

/* Calls fn for each complete line of the file from *offset; advances *offset past them. */
static int for_each_line(const char *path, uint64_t *offset,
                         int (*fn)(const char *line, size_t len, void *ud), void *ud,
                         struct err **errp) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        struct stat st;

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT)
                        return 0;
                return err_set(errp, errno, "open log '%s'", path);
        }
        if (fstat(fileno(f), &st) < 0)
                return err_set(errp, errno, "stat log '%s'", path);
        if ((uint64_t)st.st_size < *offset)
                *offset = 0; /* rotated under us */
        if (fseeko(f, (off_t)*offset, SEEK_SET) < 0)
                return err_set(errp, errno, "seek log '%s'", path);
        while ((n = getline(&line, &cap, f)) > 0) {
                int r;
                if (line[n - 1] != '\n')
                        break; /* incomplete: the writer is mid-line */
                *offset += (uint64_t)n;
                r = fn(line, (size_t)n - 1, ud);
                if (r < 0)
                        return r;
        }
        return 0;
}

struct read_ctx {
        const struct clog_read_opts *o;
        clog_cb *cb;
        void *ud;
        /* tail ring of raw lines */
        char **ring;
        size_t ring_n, ring_head, ring_count;
};

static bool in_range(const struct clog_read_opts *o, uint64_t ts) {
        if (o && o->since_nsec && ts < o->since_nsec)
                return false;
        if (o && o->until_nsec && ts > o->until_nsec)
                return false;
        return true;
}

static int deliver(const char *line, size_t len, struct read_ctx *c) {
        json_t *holder = NULL;
        struct clog_entry e;
        int r = 0;

        if (parse_entry(line, len, &holder, &e) < 0)
                return 0; /* a torn line after a crash is skipped */
        if (in_range(c->o, e.ts_nsec))
                r = c->cb(&e, c->ud);
        json_decref(holder);
        return r;
}

static int line_cb(const char *line, size_t len, void *ud) {
        struct read_ctx *c = ud;

        if (!c->ring)
                return deliver(line, len, c);
        /* tail mode: keep the last N lines that are in range */
        {
                json_t *holder = NULL;
                struct clog_entry e;
                size_t slot;

                if (parse_entry(line, len, &holder, &e) < 0)
                        return 0;
                bool keep = in_range(c->o, e.ts_nsec);
                json_decref(holder);
                if (!keep)
                        return 0;
                slot = (c->ring_head + c->ring_count) % c->ring_n;
                if (c->ring_count == c->ring_n) {
                        free(c->ring[c->ring_head]);
                        c->ring_head = (c->ring_head + 1) % c->ring_n;
                        slot = (c->ring_head + c->ring_count - 1) % c->ring_n;
                } else
                        c->ring_count++;
                c->ring[slot] = xstrndup(line, len);
        }
        return 0;
}

int clog_read(const char *path, const struct clog_read_opts *o, clog_cb *cb, void *userdata,
              uint64_t *ret_offset, struct err **errp) {
        struct read_ctx c = {.o = o, .cb = cb, .ud = userdata};
        uint64_t off = 0;
        int r = 0;

        if (o && o->tail == 0) {
                /* nothing to print, but report where follow mode should start */
                struct stat st;
                if (ret_offset)
                        *ret_offset = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
                return 0;
        }
        if (o && o->tail > 0) {
                c.ring_n = (size_t)MIN(o->tail, (int64_t)1000000);
                c.ring = xnew0(char *, c.ring_n);
        }
        /* Rotated files, oldest (highest number) first. */
        for (int i = 64; i >= 1 && r >= 0; i--) {
                _cleanup_free_ char *p = xasprintf("%s.%d", path, i);
                uint64_t o2 = 0;
                if (access(p, F_OK) < 0)
                        continue;
                r = for_each_line(p, &o2, line_cb, &c, errp);
        }
        if (r >= 0)
                r = for_each_line(path, &off, line_cb, &c, errp);
        if (c.ring) {
                for (size_t i = 0; i < c.ring_count; i++) {
                        char *l = c.ring[(c.ring_head + i) % c.ring_n];
                        if (r >= 0)
                                r = deliver(l, strlen(l),
                                            &(struct read_ctx){.o = o, .cb = cb, .ud = userdata});
                        free(l);
                }
                free(c.ring);
        }
        if (r >= 0 && ret_offset)
                *ret_offset = off;
        return r;
}

static int follow_cb(const char *line, size_t len, void *ud) {
        return deliver(line, len, ud);
}

int clog_read_from(const char *path, uint64_t *offset, clog_cb *cb, void *userdata,
                   struct err **errp) {
        struct read_ctx c = {.cb = cb, .ud = userdata};

        return for_each_line(path, offset, follow_cb, &c, errp);
}
