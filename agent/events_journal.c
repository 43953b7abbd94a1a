/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's event history on disk (events.h): two segment files of JSON lines under
 * <root>/events/, "events.log" (appended to) and "events.log.1" (the previous one). When the
 * current segment would pass half the bound it is renamed over the previous one and a new one
 * begins, so the pair never holds more than the bound and the oldest half rolls off at once.
 * Each event is one write(2) of one line with O_APPEND, without fsync: a crash can lose the
 * last events or leave a line cut short, which the reader skips (and the next open ends with a
 * newline so the next event starts a line of its own). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "fileio.h"
#include "json.h"
#include "xalloc.h"

struct event_journal {
        char *cur_path, *old_path;
        int fd;
        uint64_t size;    /* of the current segment */
        uint64_t seg_max; /* bytes per segment: half the bound */
};

static int open_current(struct event_journal *j, bool truncate, struct err **errp) {
        int fd = open(j->cur_path,
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0600);
        struct stat st;

        if (fd < 0)
                return err_set(errp, errno, "Failed to open '%s'", j->cur_path);
        if (fstat(fd, &st) < 0) {
                int r = err_set(errp, errno, "Failed to stat '%s'", j->cur_path);
                safe_close(fd);
                return r;
        }
        j->size = (uint64_t)st.st_size;
        if (j->size > 0) {
                /* A daemon killed in the middle of a write left a line without its newline:
                 * end it, so that only that line is lost. */
                _cleanup_close_ int rfd = open(j->cur_path, O_RDONLY | O_CLOEXEC);
                char last = '\n';

                if (rfd >= 0 && pread(rfd, &last, 1, (off_t)(j->size - 1)) == 1 && last != '\n') {
                        if (fd_write_full(fd, "\n", 1) < 0) {
                                int r = err_set(errp, errno, "Failed to write '%s'", j->cur_path);
                                safe_close(fd);
                                return r;
                        }
                        j->size++;
                }
        }
        safe_close(j->fd);
        j->fd = fd;
        return 0;
}

int event_journal_open(const char *dir, uint64_t max_bytes, struct event_journal **ret,
                       struct err **errp) {
        _cleanup_(event_journal_freep) struct event_journal *j = NULL;
        int r;

        if (max_bytes < EVENT_JOURNAL_MIN_BYTES)
                return err_setx(errp, EINVAL, "event journal size %llu: at least %u bytes",
                                (unsigned long long)max_bytes, EVENT_JOURNAL_MIN_BYTES);
        r = mkdir_p(dir, 0700, errp);
        if (r < 0)
                return r;
        j = xnew0(struct event_journal, 1);
        j->fd = -EBADF;
        j->cur_path = xasprintf("%s/events.log", dir);
        j->old_path = xasprintf("%s/events.log.1", dir);
        j->seg_max = max_bytes / 2;
        r = open_current(j, false, errp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

struct event_journal *event_journal_free(struct event_journal *j) {
        if (!j)
                return NULL;
        safe_close(j->fd);
        free(j->cur_path);
        free(j->old_path);
        free(j);
        return NULL;
}

void event_journal_freep(struct event_journal **j) {
        *j = event_journal_free(*j);
}

static char *event_line(const struct event *ev, size_t *ret_len) {
        _cleanup_json_ json_t *o = json_object();
        char *s;

        json_object_set_new(o, "time", json_integer((json_int_t)ev->time_nsec));
        json_object_set_new(o, "type", json_string(ev->type));
        json_object_set_new(o, "action", json_string(ev->action));
        json_object_set_new(o, "id", json_string(ev->id ? ev->id : ""));
        json_object_set_new(o, "attributes",
                            ev->attributes ? json_incref(ev->attributes) : json_object());
        s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s)
                return NULL;
        *ret_len = strlen(s);
        s = xrealloc(s, *ret_len + 2);
        s[(*ret_len)++] = '\n';
        s[*ret_len] = 0;
        return s;
}

int event_journal_append(struct event_journal *j, const struct event *ev, struct err **errp) {
        _cleanup_free_ char *line = NULL;
        size_t len = 0;
        int r;

        line = event_line(ev, &len);
        if (!line)
                return err_setx(errp, EINVAL, "event '%s %s' cannot be written as JSON", ev->type,
                                ev->action);
        if (len > j->seg_max)
                return err_setx(errp, EFBIG,
                                "event '%s %s' of %zu bytes is larger than a journal "
                                "segment (%llu bytes)",
                                ev->type, ev->action, len, (unsigned long long)j->seg_max);
        if (j->fd < 0 || j->size + len > j->seg_max) {
                if (j->fd >= 0 && rename(j->cur_path, j->old_path) < 0)
                        return err_set(errp, errno, "Failed to rotate '%s'", j->cur_path);
                r = open_current(j, true, errp);
                if (r < 0)
                        return r;
        }
        r = fd_write_full(j->fd, line, len);
        if (r < 0) {
                /* A short write leaves a partial line: end it at the next open, and start a new
                 * segment then (the partial one may be at any size). */
                j->fd = safe_close(j->fd);
                return err_set(errp, -r, "Failed to write '%s'", j->cur_path);
        }
        j->size += len;
        return 0;
}

/* One journal line back into an event; false for a line that is cut short or not ours. */
static bool parse_line(const char *line, size_t len, struct event *ret, json_t **ret_obj) {
        json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
        json_t *t, *attrs;

        if (!o)
                return false;
        t = json_object_get(o, "time");
        attrs = json_object_get(o, "attributes");
        if (!json_is_integer(t) || json_integer_value(t) < 0 ||
            !json_is_string(json_object_get(o, "type")) ||
            !json_is_string(json_object_get(o, "action")) ||
            !json_is_string(json_object_get(o, "id")) || !json_is_object(attrs)) {
                json_decref(o);
                return false;
        }
        *ret = (struct event){
                .time_nsec = (uint64_t)json_integer_value(t),
                .type = (char *)json_string_value(json_object_get(o, "type")),
                .action = (char *)json_string_value(json_object_get(o, "action")),
                .id = (char *)json_string_value(json_object_get(o, "id")),
                .attributes = attrs,
        };
        *ret_obj = o;
        return true;
}

static int read_segment(const char *path, uint64_t since_nsec, uint64_t until_nsec,
                        const struct event_filter *f, event_cb *cb, void *userdata,
                        unsigned *skipped, bool *past_until, struct err **errp) {
        _cleanup_fclose_ FILE *fp = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (!fp) {
                if (errno == ENOENT)
                        return 0;
                return err_set(errp, errno, "Failed to open '%s'", path);
        }
        while ((n = getline(&line, &cap, fp)) > 0) {
                struct event ev;
                json_t *o = NULL;

                /* the last line of a segment written by a daemon that died mid-write */
                if (line[n - 1] != '\n' || !parse_line(line, (size_t)n - 1, &ev, &o)) {
                        (*skipped)++;
                        continue;
                }
                if (until_nsec && ev.time_nsec > until_nsec) {
                        json_decref(o);
                        *past_until = true;
                        return 0;
                }
                if (ev.time_nsec >= since_nsec && (!f || event_filter_match(f, &ev)))
                        cb(&ev, userdata);
                json_decref(o);
        }
        if (ferror(fp))
                return err_set(errp, EIO, "Failed to read '%s'", path);
        return 0;
}

int event_journal_read(struct event_journal *j, uint64_t since_nsec, uint64_t until_nsec,
                       const struct event_filter *f, event_cb *cb, void *userdata,
                       unsigned *ret_skipped, struct err **errp) {
        unsigned skipped = 0;
        bool past_until = false;
        int r;

        r = read_segment(j->old_path, since_nsec, until_nsec, f, cb, userdata, &skipped,
                         &past_until, errp);
        if (r >= 0 && !past_until)
                r = read_segment(j->cur_path, since_nsec, until_nsec, f, cb, userdata, &skipped,
                                 &past_until, errp);
        if (ret_skipped)
                *ret_skipped = skipped;
        return r;
}
