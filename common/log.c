/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

/* Log settings are one of the few allowed mutable globals (STYLE C12). */
static const char *log_progname = "berth";
static enum log_format log_fmt = LOG_FMT_TEXT;
static enum log_level log_max = LOG_LVL_INFO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[_LOG_LVL_MAX] = {
        [LOG_LVL_ERROR] = "error",
        [LOG_LVL_WARN] = "warn",
        [LOG_LVL_INFO] = "info",
        [LOG_LVL_DEBUG] = "debug",
};

void log_setup(const char *progname, enum log_format fmt, enum log_level max_level) {
        if (progname)
                log_progname = progname;
        log_fmt = fmt;
        log_max = max_level;
}

void log_set_level(enum log_level lvl) {
        log_max = lvl;
}

enum log_level log_get_level(void) {
        return log_max;
}

void log_set_fd(int fd) {
        log_fd = fd;
}

int log_level_from_string(const char *s) {
        for (int i = 0; i < _LOG_LVL_MAX; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        if (strcmp(s, "warning") == 0)
                return LOG_LVL_WARN;
        return -EINVAL;
}

static void log_write(const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(log_fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                buf += n;
                len -= (size_t)n;
        }
}

void log_msgv(enum log_level lvl, const char *id, const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL, *line = NULL;
        int saved = errno;

        if (lvl > log_max || lvl < 0 || lvl >= _LOG_LVL_MAX)
                return;
        msg = xvasprintf(fmt, ap);

        if (log_fmt == LOG_FMT_JSON) {
                struct timespec ts;
                struct tm tm;
                char tbuf[64];
                json_t *o;

                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, ts.tv_nsec / 1000);
                o = json_pack("{s:s,s:s,s:s}", "time", tbuf, "level", level_names[lvl], "msg", msg);
                if (o && id)
                        json_object_set_new(o, "id", json_string(id));
                if (o) {
                        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                        json_decref(o);
                        if (s) {
                                line = xasprintf("%s\n", s);
                                free(s);
                        }
                }
        }
        if (!line) {
                if (id)
                        line = xasprintf("%s: %s%s[%s] %s\n", log_progname,
                                         lvl <= LOG_LVL_WARN ? level_names[lvl] : "",
                                         lvl <= LOG_LVL_WARN ? ": " : "", id, msg);
                else
                        line = xasprintf("%s: %s%s%s\n", log_progname,
                                         lvl <= LOG_LVL_WARN ? level_names[lvl] : "",
                                         lvl <= LOG_LVL_WARN ? ": " : "", msg);
        }
        log_write(line, strlen(line));
        errno = saved;
}

void log_msg(enum log_level lvl, const char *id, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_msgv(lvl, id, fmt, ap);
        va_end(ap);
}
