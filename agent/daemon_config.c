/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "daemon_config.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "netd.h"
#include "strv.h"
#include "xalloc.h"

#define CONFIG_MAX (1u << 20)

void daemon_config_init(struct daemon_config *c) {
        *c = (struct daemon_config){
                .log_level = -1,
                .max_concurrent_downloads = 3,
                .live_restore = true,
                .shutdown_timeout = 15,
                .restart_backoff_max_ms = 60000,
                .events_journal_size = EVENT_JOURNAL_DEFAULT_BYTES,
        };
}

void daemon_config_done(struct daemon_config *c) {
        strv_free(c->insecure_registries);
        strv_free(c->labels);
        strv_free(c->default_address_pools);
        free(c->userns_remap);
        daemon_config_init(c);
}

static int string_list(const char *path, const char *key, json_t *v, bool need_eq, char ***ret,
                       struct err **errp) {
        size_t i;
        json_t *x;

        if (!json_is_array(v))
                return err_setx(errp, EINVAL, "%s: \"%s\": expected a list of strings", path, key);
        json_array_foreach (v, i, x) {
                const char *s = json_string_value(x);
                if (!s || !*s)
                        return err_setx(errp, EINVAL, "%s: \"%s\"[%zu]: expected a string", path,
                                        key, i);
                if (need_eq && (!strchr(s, '=') || s[0] == '='))
                        return err_setx(errp, EINVAL,
                                        "%s: \"%s\"[%zu]: expected key=value, got '%s'", path, key,
                                        i, s);
                strv_push(ret, s);
        }
        return 0;
}

int daemon_config_load(const char *path, struct daemon_config *ret, struct err **errp) {
        _cleanup_json_ json_t *j = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct daemon_config c;
        const char *key;
        json_t *v;
        int r;

        daemon_config_init(&c);
        r = json_load_path(path, CONFIG_MAX, &j, &e);
        if (r == -ENOENT) {
                *ret = c;
                return 0;
        }
        if (r < 0)
                return err_move(errp, TAKE_PTR(e));
        if (!json_is_object(j))
                return err_setx(errp, EINVAL, "%s: expected a JSON object", path);

        json_object_foreach (j, key, v) {
                if (streq(key, "log-level")) {
                        int l = json_is_string(v) ? log_level_from_string(json_string_value(v))
                                                  : -EINVAL;
                        if (l < 0) {
                                r = err_setx(errp, EINVAL,
                                             "%s: \"log-level\": expected error, warn, info or "
                                             "debug",
                                             path);
                                goto fail;
                        }
                        if (c.log_level < 0)
                                c.log_level = l;
                } else if (streq(key, "debug")) {
                        if (!json_is_boolean(v)) {
                                r = err_setx(errp, EINVAL, "%s: \"debug\": expected true or false",
                                             path);
                                goto fail;
                        }
                        if (json_is_true(v))
                                c.log_level = LOG_LVL_DEBUG;
                } else if (streq(key, "insecure-registries")) {
                        r = string_list(path, key, v, false, &c.insecure_registries, errp);
                        if (r < 0)
                                goto fail;
                } else if (streq(key, "labels")) {
                        r = string_list(path, key, v, true, &c.labels, errp);
                        if (r < 0)
                                goto fail;
                } else if (streq(key, "max-concurrent-downloads")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                            json_integer_value(v) > 64) {
                                r = err_setx(errp, EINVAL,
                                             "%s: \"max-concurrent-downloads\": expected an "
                                             "integer from 1 to 64",
                                             path);
                                goto fail;
                        }
                        c.max_concurrent_downloads = (unsigned)json_integer_value(v);
                } else if (streq(key, "userns-remap")) {
                        if (!json_is_string(v) || !json_string_value(v)[0]) {
                                r = err_setx(errp, EINVAL,
                                             "%s: \"userns-remap\": expected \"default\" or "
                                             "\"USER[:GROUP]\"",
                                             path);
                                goto fail;
                        }
                        free(c.userns_remap);
                        c.userns_remap = xstrdup(json_string_value(v));
                } else if (streq(key, "live-restore")) {
                        if (!json_is_boolean(v)) {
                                r = err_setx(errp, EINVAL,
                                             "%s: \"live-restore\": expected true or false", path);
                                goto fail;
                        }
                        c.live_restore = json_is_true(v);
                } else if (streq(key, "shutdown-timeout")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > 3600) {
                                r = err_setx(errp, EINVAL,
                                             "%s: \"shutdown-timeout\": expected seconds from 0 "
                                             "to 3600",
                                             path);
                                goto fail;
                        }
                        c.shutdown_timeout = (unsigned)json_integer_value(v);
                } else if (streq(key, "restart-backoff-max-ms")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                            json_integer_value(v) > 3600000) {
                                r = err_setx(errp, EINVAL,
                                             "%s: \"restart-backoff-max-ms\": expected "
                                             "milliseconds from 1 to 3600000",
                                             path);
                                goto fail;
                        }
                        c.restart_backoff_max_ms = (unsigned)json_integer_value(v);
                } else if (streq(key, "events-journal-size")) {
                        if (!json_is_integer(v) ||
                            json_integer_value(v) < (json_int_t)EVENT_JOURNAL_MIN_BYTES ||
                            json_integer_value(v) > (json_int_t)1 << 30) {
                                r = err_setx(errp, EINVAL,
                                             "%s: \"events-journal-size\": expected bytes from "
                                             "%u to 1073741824",
                                             path, EVENT_JOURNAL_MIN_BYTES);
                                goto fail;
                        }
                        c.events_journal_size = (uint64_t)json_integer_value(v);
                } else if (streq(key, "default-address-pools")) {
                        r = netd_config_pools(path, v, &c.default_address_pools, errp);
                        if (r < 0)
                                goto fail;
                } else {
                        r = err_setx(errp, EINVAL, "%s: unknown setting \"%s\"", path, key);
                        goto fail;
                }
        }
        *ret = c;
        return 0;
fail:
        daemon_config_done(&c);
        return r;
}
