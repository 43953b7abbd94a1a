/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "health.h"
#include "json.h"
#include "strv.h"
#include "xalloc.h"

#define DEFAULT_INTERVAL (30 * USEC_PER_SEC)
#define DEFAULT_TIMEOUT (30 * USEC_PER_SEC)
#define DEFAULT_START_INTERVAL (5 * USEC_PER_SEC)
#define DEFAULT_RETRIES 3

static const char *const status_names[_HEALTH_MAX] = {
        [HEALTH_NONE] = "none",
        [HEALTH_STARTING] = "starting",
        [HEALTH_HEALTHY] = "healthy",
        [HEALTH_UNHEALTHY] = "unhealthy",
};

const char *health_status_to_string(enum health_status s) {
        return s >= 0 && s < _HEALTH_MAX ? status_names[s] : "invalid";
}

int health_status_from_string(const char *s) {
        for (int i = 0; i < _HEALTH_MAX; i++)
                if (strcmp(s, status_names[i]) == 0)
                        return i;
        return -EINVAL;
}

void health_config_done(struct health_config *c) {
        c->test = strv_free(c->test);
}

static int take_test(const json_t *hc, const char *what, char ***test, struct err **errp) {
        json_t *t = json_object_get(hc, "Test"), *v;
        size_t i;

        if (!t || json_is_null(t))
                return 0;
        if (!json_is_array(t) || json_array_size(t) == 0)
                return err_setx(errp, EINVAL, "%s Healthcheck.Test: expected a non-empty array",
                                what);
        json_array_foreach (t, i, v)
                if (!json_is_string(v))
                        return err_setx(errp, EINVAL, "%s Healthcheck.Test[%zu]: expected a string",
                                        what, i);
        const char *kind = json_string_value(json_array_get(t, 0));
        if (strcmp(kind, "NONE") && strcmp(kind, "CMD") && strcmp(kind, "CMD-SHELL"))
                return err_setx(errp, EINVAL,
                                "%s Healthcheck.Test: must start with NONE, CMD or CMD-SHELL, "
                                "not '%s'",
                                what, kind);
        if (strcmp(kind, "NONE") != 0 && json_array_size(t) < 2)
                return err_setx(errp, EINVAL, "%s Healthcheck.Test: %s needs a command", what,
                                kind);
        *test = strv_free(*test);
        json_array_foreach (t, i, v)
                strv_push(test, json_string_value(v));
        return 0;
}

static int take_duration(const json_t *hc, const char *key, const char *what, uint64_t *ret,
                         struct err **errp) {
        json_t *v = json_object_get(hc, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return err_setx(errp, EINVAL, "%s Healthcheck.%s: expected nanoseconds >= 0", what,
                                key);
        if (json_integer_value(v) == 0)
                return 0; /* 0 means "inherit / default", as in docker */
        if (json_integer_value(v) < 1000000)
                return err_setx(errp, EINVAL, "%s Healthcheck.%s: must be at least 1ms", what, key);
        *ret = (uint64_t)json_integer_value(v) / 1000;
        return 0;
}

static int apply(const json_t *hc, const char *what, struct health_config *c, struct err **errp) {
        json_t *r;
        int k;

        if (!hc || json_is_null(hc))
                return 0;
        if (!json_is_object(hc))
                return err_setx(errp, EINVAL, "%s Healthcheck: expected an object", what);
        if ((k = take_test(hc, what, &c->test, errp)) < 0 ||
            (k = take_duration(hc, "Interval", what, &c->interval_usec, errp)) < 0 ||
            (k = take_duration(hc, "Timeout", what, &c->timeout_usec, errp)) < 0 ||
            (k = take_duration(hc, "StartPeriod", what, &c->start_period_usec, errp)) < 0 ||
            (k = take_duration(hc, "StartInterval", what, &c->start_interval_usec, errp)) < 0)
                return k;
        r = json_object_get(hc, "Retries");
        if (r && !json_is_null(r)) {
                if (!json_is_integer(r) || json_integer_value(r) < 0 ||
                    json_integer_value(r) > 1000000)
                        return err_setx(errp, EINVAL,
                                        "%s Healthcheck.Retries: expected an integer >= 0", what);
                if (json_integer_value(r) > 0)
                        c->retries = (unsigned)json_integer_value(r);
        }
        return 0;
}

int health_config_from_json(const json_t *image_hc, const json_t *ctr_hc, struct health_config *ret,
                            bool *ret_enabled, struct err **errp) {
        struct health_config c = {
                .interval_usec = DEFAULT_INTERVAL,
                .timeout_usec = DEFAULT_TIMEOUT,
                .start_interval_usec = DEFAULT_START_INTERVAL,
                .retries = DEFAULT_RETRIES,
        };
        int r;

        r = apply(image_hc, "image", &c, errp);
        if (r >= 0)
                r = apply(ctr_hc, "container", &c, errp);
        if (r < 0) {
                health_config_done(&c);
                return r;
        }
        *ret_enabled = c.test && strcmp(c.test[0], "NONE") != 0;
        if (!*ret_enabled)
                health_config_done(&c);
        *ret = c;
        return 0;
}

void health_done(struct health *h) {
        for (unsigned i = 0; i < HEALTH_LOG_MAX; i++) {
                free(h->log[i].output);
                h->log[i].output = NULL;
        }
        h->log_n = h->log_head = 0;
}

void health_reset(struct health *h, uint64_t started_usec) {
        health_done(h);
        h->status = HEALTH_STARTING;
        h->failing_streak = 0;
        h->container_started_usec = started_usec;
}

bool health_record(struct health *h, const struct health_config *c, uint64_t start_usec,
                   uint64_t end_usec, int exit_code, char *output_take) {
        enum health_status old = h->status;
        unsigned slot;
        bool in_start_period = start_usec < h->container_started_usec + c->start_period_usec;

        if (output_take && strlen(output_take) > HEALTH_OUTPUT_MAX)
                output_take[HEALTH_OUTPUT_MAX] = 0;
        if (h->log_n == HEALTH_LOG_MAX) {
                slot = h->log_head;
                free(h->log[slot].output);
                h->log_head = (h->log_head + 1) % HEALTH_LOG_MAX;
        } else
                slot = (h->log_head + h->log_n++) % HEALTH_LOG_MAX;
        h->log[slot] = (struct health_result){
                .start_usec = start_usec,
                .end_usec = end_usec,
                .exit_code = exit_code,
                .output = output_take,
        };

        if (exit_code == 0) {
                h->failing_streak = 0;
                h->status = HEALTH_HEALTHY;
        } else if (!(in_start_period && h->status == HEALTH_STARTING)) {
                /* failures during the start period do not count while still starting */
                h->failing_streak++;
                if (h->failing_streak >= c->retries)
                        h->status = HEALTH_UNHEALTHY;
        }
        return h->status != old;
}

uint64_t health_next_delay(const struct health *h, const struct health_config *c,
                           uint64_t now_usec) {
        if (h->status == HEALTH_STARTING &&
            now_usec < h->container_started_usec + c->start_period_usec)
                return MIN(c->start_interval_usec, c->interval_usec);
        return c->interval_usec;
}

static json_t *time_json(uint64_t usec) {
        time_t s = (time_t)(usec / USEC_PER_SEC);
        struct tm tm;
        char b[40];

        gmtime_r(&s, &tm);
        strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
        return json_sprintf("%s.%06lluZ", b, (unsigned long long)(usec % USEC_PER_SEC));
}

json_t *health_to_json(const struct health *h) {
        json_t *log = json_array();

        for (unsigned i = 0; i < h->log_n; i++) {
                const struct health_result *r = &h->log[(h->log_head + i) % HEALTH_LOG_MAX];
                json_t *e = json_object();

                json_object_set_new(e, "Start", time_json(r->start_usec));
                json_object_set_new(e, "End", time_json(r->end_usec));
                json_object_set_new(e, "ExitCode", json_integer(r->exit_code));
                json_object_set_new(e, "Output", json_string(r->output ? r->output : ""));
                json_array_append_new(log, e);
        }
        return json_pack("{s:s,s:i,s:o}", "Status", health_status_to_string(h->status),
                         "FailingStreak", (int)h->failing_streak, "Log", log);
}
