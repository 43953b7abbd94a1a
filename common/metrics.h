/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

/* A small registry for the Prometheus text exposition format (version 0.0.4): counters and
 * gauges with one optional label, and histograms with fixed buckets. Values kept here are the
 * daemon's own (API requests, restarts); values that live elsewhere (containers by state) are
 * added at render time by collector callbacks. Single-threaded. */

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM, _METRIC_KIND_MAX };

struct metrics;
struct metric_text; /* the output being built, handed to collectors */

struct metrics *metrics_new(void);
struct metrics *metrics_free(struct metrics *m);
void metrics_freep(struct metrics **m);

/* Declares a metric (name must match [a-zA-Z_:][a-zA-Z0-9_:]*). Histograms take ascending
 * upper bounds (without +Inf). Declaring twice returns the same metric. */
void metrics_declare(struct metrics *m, const char *name, enum metric_kind kind, const char *help,
                     const double *buckets, unsigned n_buckets);
/* Adds v to a counter or gauge series (label_value NULL = no label). */
void metrics_add(struct metrics *m, const char *name, const char *label_name,
                 const char *label_value, double v);
void metrics_set(struct metrics *m, const char *name, const char *label_name,
                 const char *label_value, double v);
void metrics_observe(struct metrics *m, const char *name, double v);

typedef void metrics_collect_fn(struct metric_text *t, void *userdata);
/* Registers a collector run at every render (at most 16). */
void metrics_add_collector(struct metrics *m, metrics_collect_fn *fn, void *userdata);
/* For collectors: writes one family header and its samples. */
void metric_text_family(struct metric_text *t, const char *name, enum metric_kind kind,
                        const char *help);
void metric_text_sample(struct metric_text *t, const char *name, const char *label_name,
                        const char *label_value, double v);

/* Renders everything; returns an allocated string. */
char *metrics_render(struct metrics *m);
