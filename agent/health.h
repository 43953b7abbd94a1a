/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* Health-check bookkeeping with docker's semantics (issue #6). Pure: the agent runs the probe
 * (an exec inside the container, bounded by the timeout) and feeds each result in; this module
 * decides the status and keeps the last results for `inspect`.
 *
 *   starting   until the first success, or until retries consecutive failures after the
 *              start period (failures inside the start period do not count)
 *   healthy    after a success
 *   unhealthy  after `retries` consecutive failures outside the start period
 */

enum health_status { HEALTH_NONE, HEALTH_STARTING, HEALTH_HEALTHY, HEALTH_UNHEALTHY, _HEALTH_MAX };

#define HEALTH_LOG_MAX 5
#define HEALTH_OUTPUT_MAX 4096

struct health_config {
        char **test;            /* ["CMD", ...] | ["CMD-SHELL", "cmd"] | ["NONE"]; NULL inherits */
        uint64_t interval_usec; /* default 30 s */
        uint64_t timeout_usec;  /* default 30 s */
        uint64_t start_period_usec;   /* default 0 */
        uint64_t start_interval_usec; /* default 5 s: probe interval during the start period */
        unsigned retries;             /* default 3 */
};

struct health_result {
        uint64_t start_usec, end_usec; /* wall clock */
        int exit_code;                 /* 0 healthy, 1 unhealthy, -1 timed out or could not run */
        char *output;                  /* at most HEALTH_OUTPUT_MAX bytes */
};

struct health {
        enum health_status status;
        unsigned failing_streak;
        uint64_t container_started_usec;
        struct health_result log[HEALTH_LOG_MAX];
        unsigned log_head, log_n;
};

const char *health_status_to_string(enum health_status s);
int health_status_from_string(const char *s);

/* Builds the effective config from the image's Healthcheck and the container's (docker: the
 * container's fields override the image's one by one; Test ["NONE"] disables). Returns 0 with
 * *ret_enabled false when there is no check. Durations in the JSON are nanoseconds. */
int health_config_from_json(const json_t *image_hc, const json_t *ctr_hc, struct health_config *ret,
                            bool *ret_enabled, struct err **errp);
void health_config_done(struct health_config *c);

/* Resets for a new incarnation of the container (status starting). */
void health_reset(struct health *h, uint64_t started_usec);
void health_done(struct health *h);
/* Records one probe result (takes ownership of output) and returns true when the status
 * changed. */
bool health_record(struct health *h, const struct health_config *c, uint64_t start_usec,
                   uint64_t end_usec, int exit_code, char *output_take);
/* How long to wait before the next probe (the start interval inside the start period). */
uint64_t health_next_delay(const struct health *h, const struct health_config *c,
                           uint64_t now_usec);
/* docker's State.Health object: Status, FailingStreak, Log[{Start, End, ExitCode, Output}]. */
json_t *health_to_json(const struct health *h);
