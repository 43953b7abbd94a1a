/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "macro.h"

/* Container logs in docker's json-file format, one JSON object per line:
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-23T18:00:00.123456789Z"}
 * with size-based rotation (path, path.1, ... path.N-1; docker's max-size / max-file). The shim
 * writes; the daemon reads (tail, since/until, follow from an offset). */

enum clog_stream { CLOG_STDOUT, CLOG_STDERR, _CLOG_STREAM_MAX };

#define CLOG_LINE_MAX (16u << 10) /* a longer line is split, like docker's 16 KiB chunks */

struct clog_writer;

/* max_size 0 = no rotation; max_files >= 1 (1 = truncate in place on rotation). */
int clog_writer_open(const char *path, uint64_t max_size, unsigned max_files,
                     struct clog_writer **ret, struct err **errp);
/* Appends output of one stream; complete lines are written at once, a partial line is held
 * until its newline arrives, CLOG_LINE_MAX is reached, or clog_flush is called. ts_nsec is the
 * wall-clock time of the read. */
int clog_write(struct clog_writer *w, enum clog_stream s, const char *buf, size_t len,
               uint64_t ts_nsec, struct err **errp);
int clog_flush(struct clog_writer *w, uint64_t ts_nsec, struct err **errp);
struct clog_writer *clog_writer_free(struct clog_writer *w);
void clog_writer_freep(struct clog_writer **w);

struct clog_entry {
        enum clog_stream stream;
        uint64_t ts_nsec;
        const char *log; /* the text, newline included when the line was complete */
        size_t len;
};
/* Return < 0 to stop reading (that value is returned by the reader). */
typedef int clog_cb(const struct clog_entry *e, void *userdata);

struct clog_read_opts {
        int64_t tail;        /* last N entries; < 0 for all */
        uint64_t since_nsec; /* 0 = no bound */
        uint64_t until_nsec; /* 0 = no bound */
};

/* Reads the rotated files oldest first, then the current one. Sets *ret_offset (if not NULL)
 * to the end of the current file, for clog_read_from in follow mode. A missing log is empty. */
int clog_read(const char *path, const struct clog_read_opts *o, clog_cb *cb, void *userdata,
              uint64_t *ret_offset, struct err **errp);
/* Reads complete entries of the current file from *offset on and advances *offset. If the
 * file was rotated (it is now shorter than *offset), starts again from 0. */
int clog_read_from(const char *path, uint64_t *offset, clog_cb *cb, void *userdata,
                   struct err **errp);

/* RFC 3339 with nanoseconds, UTC. Returns an allocated string. */
char *clog_format_time(uint64_t ts_nsec);
/* docker's --since/--until: RFC 3339 (with or without fraction), a Unix timestamp with an
 * optional fraction, or a relative duration ("10m", "1h30m", "45s") before now. */
int clog_parse_time(const char *s, uint64_t now_nsec, uint64_t *ret, struct err **errp);
/* Parses docker sizes for max-size: "10m", "1g", "512k", "100" (bytes). */
int clog_parse_size(const char *s, uint64_t *ret, struct err **errp);
