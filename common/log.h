/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdarg.h>

#include "macro.h"

/* Logging (STYLE C4). common/ and engine/ only log at debug level; errors travel as struct err
 * to a boundary (the CLI's main, the daemons' API and loops), which logs or reports them once.
 * Every line can carry the id of the object it concerns. */
enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, _LOG_LVL_MAX };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

void log_setup(const char *progname, enum log_format fmt, enum log_level max_level);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug"; returns -EINVAL on anything else. */
int log_level_from_string(const char *s);
/* Routes output to an fd (default stderr). */
void log_set_fd(int fd);

void log_msg(enum log_level lvl, const char *id, const char *fmt, ...) _printf_(3, 4);
void log_msgv(enum log_level lvl, const char *id, const char *fmt, va_list ap) _printf_(3, 0);

#define log_error(id, ...) log_msg(LOG_LVL_ERROR, id, __VA_ARGS__)
#define log_warn(id, ...) log_msg(LOG_LVL_WARN, id, __VA_ARGS__)
#define log_info(id, ...) log_msg(LOG_LVL_INFO, id, __VA_ARGS__)
#define log_debug(id, ...)                                                                         \
        do {                                                                                       \
                if (log_get_level() >= LOG_LVL_DEBUG)                                              \
                        log_msg(LOG_LVL_DEBUG, id, __VA_ARGS__);                                   \
        } while (0)
