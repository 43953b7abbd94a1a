/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>

#include "cleanup.h"
#include "metrics.h"
#include "strv.h"
#include "xalloc.h"

#define MAX_COLLECTORS 16

struct series {
        char *label_name, *label_value;
        double v;
};

struct metric {
        char *name, *help;
        enum metric_kind kind;
        struct series *series;
        size_t n_series;
        double *buckets;
        uint64_t *counts; /* n_buckets + 1 (the last is +Inf) */
        unsigned n_buckets;
        double sum;
        uint64_t count;
};

struct metrics {
        struct metric *list;
        size_t n;
        struct {
                metrics_collect_fn *fn;
                void *ud;
        } collectors[MAX_COLLECTORS];
        unsigned n_collectors;
};

struct metric_text {
        char *buf;
        size_t len, cap;
};

static const char *const kind_names[_METRIC_KIND_MAX] = {
        [METRIC_COUNTER] = "counter",
        [METRIC_GAUGE] = "gauge",
        [METRIC_HISTOGRAM] = "histogram",
};

struct metrics *metrics_new(void) {
        return xnew0(struct metrics, 1);
}

struct metrics *metrics_free(struct metrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n; i++) {
                struct metric *x = &m->list[i];
                for (size_t k = 0; k < x->n_series; k++) {
                        free(x->series[k].label_name);
                        free(x->series[k].label_value);
                }
                free(x->series);
                free(x->name);
                free(x->help);
                free(x->buckets);
                free(x->counts);
        }
        free(m->list);
        free(m);
        return NULL;
}

void metrics_freep(struct metrics **m) {
        *m = metrics_free(*m);
}

static struct metric *find(struct metrics *m, const char *name) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->list[i].name, name) == 0)
                        return &m->list[i];
        return NULL;
}

void metrics_declare(struct metrics *m, const char *name, enum metric_kind kind, const char *help,
                     const double *buckets, unsigned n_buckets) {
        struct metric *x;

        if (find(m, name))
                return;
        m->list = xreallocarray(m->list, m->n + 1, sizeof(*m->list));
        x = &m->list[m->n++];
        *x = (struct metric){.name = xstrdup(name), .help = xstrdup(help), .kind = kind};
        if (kind == METRIC_HISTOGRAM) {
                x->n_buckets = n_buckets;
                x->buckets = xmemdup(buckets, sizeof(double) * n_buckets);
                x->counts = xnew0(uint64_t, n_buckets + 1);
        }
}

static struct series *series_get(struct metric *x, const char *ln, const char *lv) {
        for (size_t i = 0; i < x->n_series; i++)
                if (streq_ptr(x->series[i].label_name, ln) &&
                    streq_ptr(x->series[i].label_value, lv))
                        return &x->series[i];
        x->series = xreallocarray(x->series, x->n_series + 1, sizeof(*x->series));
        x->series[x->n_series] =
                (struct series){.label_name = xstrdup(ln), .label_value = xstrdup(lv)};
        return &x->series[x->n_series++];
}

void metrics_add(struct metrics *m, const char *name, const char *label_name,
                 const char *label_value, double v) {
        struct metric *x = find(m, name);

        if (x && x->kind != METRIC_HISTOGRAM)
                series_get(x, label_name, label_value)->v += v;
}

void metrics_set(struct metrics *m, const char *name, const char *label_name,
                 const char *label_value, double v) {
        struct metric *x = find(m, name);

        if (x && x->kind != METRIC_HISTOGRAM)
                series_get(x, label_name, label_value)->v = v;
}

void metrics_observe(struct metrics *m, const char *name, double v) {
        struct metric *x = find(m, name);
        unsigned i;

        if (!x || x->kind != METRIC_HISTOGRAM)
                return;
        for (i = 0; i < x->n_buckets && v > x->buckets[i]; i++)
                ;
        x->counts[i]++;
        x->sum += v;
        x->count++;
}

void metrics_add_collector(struct metrics *m, metrics_collect_fn *fn, void *userdata) {
        if (m->n_collectors >= MAX_COLLECTORS)
                return;
        m->collectors[m->n_collectors].fn = fn;
        m->collectors[m->n_collectors++].ud = userdata;
}

static void put(struct metric_text *t, const char *fmt, ...) _printf_(2, 3);
static void put(struct metric_text *t, const char *fmt, ...) {
        va_list ap;
        char *s;
        size_t k;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        k = strlen(s);
        XGROW(t->buf, t->cap, t->len + k + 1);
        memcpy(t->buf + t->len, s, k + 1);
        t->len += k;
        free(s);
}

static void put_value(struct metric_text *t, double v) {
        if (isinf(v))
                put(t, "%s\n", v > 0 ? "+Inf" : "-Inf");
        else if (isnan(v))
                put(t, "NaN\n");
        else if (v == (double)(int64_t)v && fabs(v) < 1e15)
                put(t, "%lld\n", (long long)v);
        else
                put(t, "%.9g\n", v);
}

/* Label values escape backslash, double quote and newline. */
static void put_label(struct metric_text *t, const char *ln, const char *lv) {
        put(t, "{%s=\"", ln);
        for (const char *p = lv; *p; p++) {
                if (*p == '\\' || *p == '"')
                        put(t, "\\%c", *p);
                else if (*p == '\n')
                        put(t, "\\n");
                else
                        put(t, "%c", *p);
        }
        put(t, "\"}");
}

void metric_text_family(struct metric_text *t, const char *name, enum metric_kind kind,
                        const char *help) {
        put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind_names[kind]);
}

void metric_text_sample(struct metric_text *t, const char *name, const char *label_name,
                        const char *label_value, double v) {
        put(t, "%s", name);
        if (label_name && label_value)
                put_label(t, label_name, label_value);
        put(t, " ");
        put_value(t, v);
}

char *metrics_render(struct metrics *m) {
        struct metric_text t = {};

        put(&t, "%s", "");
        for (size_t i = 0; i < m->n; i++) {
                struct metric *x = &m->list[i];

                metric_text_family(&t, x->name, x->kind, x->help);
                if (x->kind != METRIC_HISTOGRAM) {
                        for (size_t k = 0; k < x->n_series; k++)
                                metric_text_sample(&t, x->name, x->series[k].label_name,
                                                   x->series[k].label_value, x->series[k].v);
                        continue;
                }
                uint64_t cum = 0;
                for (unsigned b = 0; b <= x->n_buckets; b++) {
                        char le[32];
                        cum += x->counts[b];
                        if (b < x->n_buckets)
                                snprintf(le, sizeof(le), "%g", x->buckets[b]);
                        else
                                snprintf(le, sizeof(le), "+Inf");
                        put(&t, "%s_bucket{le=\"%s\"} %llu\n", x->name, le,
                            (unsigned long long)cum);
                }
                put(&t, "%s_sum ", x->name);
                put_value(&t, x->sum);
                put(&t, "%s_count %llu\n", x->name, (unsigned long long)x->count);
        }
        for (unsigned c = 0; c < m->n_collectors; c++)
                m->collectors[c].fn(&t, m->collectors[c].ud);
        return t.buf;
}
