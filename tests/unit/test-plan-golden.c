/* SPDX-License-Identifier: Apache-2.0 */
/* Golden tests of the planner: every directory tests/golden/plan/<case>/ holds desired.json (a
 * canonical model with "up" options), observed.json (with "now_usec") and plan.expected (the
 * plan summary, or "ERROR: <message>" when planning must fail). An optional apply.expected holds
 * the recording executor's calls for the plan. One TAP line per case; a mismatch prints a diff.
 * UPDATE=1 rewrites the expected files from the actual output. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "exec.h"
#include "fileio.h"
#include "json.h"
#include "model.h"
#include "plan.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

#define GOLDEN_INPUT_MAX (4u * 1024u * 1024u)

/* tap.c wants this; TAP_MAIN is not used since the number of cases is dynamic. */
struct tap_state tap_st;

static char *run_case(const char *dir, char **ret_apply) {
        _cleanup_free_ char *dp = xasprintf("%s/desired.json", dir);
        _cleanup_free_ char *op = xasprintf("%s/observed.json", dir);
        _cleanup_json_ json_t *dj = NULL, *oj = NULL;
        _cleanup_(model_stack_freep) struct model_stack *d = NULL;
        _cleanup_(observed_freep) struct observed *o = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_(plan_done) struct plan p = {}, p2 = {};
        _cleanup_free_ char *s1 = NULL, *s2 = NULL;
        struct exec_recorder rec = {};
        uint64_t now;
        int r;

        r = json_load_path(dp, GOLDEN_INPUT_MAX, &dj, &e);
        if (r >= 0)
                r = json_load_path(op, GOLDEN_INPUT_MAX, &oj, &e);
        if (r >= 0)
                r = model_stack_from_json(dj, &d, &e);
        if (r >= 0)
                r = observed_from_json(oj, &o, &e);
        if (r < 0)
                return xasprintf("ERROR: %s\n", err_msg(e));
        now = (uint64_t)json_get_int(oj, "now_usec", 0);
        r = plan_compute(d, o, now, &p, &e);
        if (r < 0)
                return xasprintf("ERROR: %s\n", err_msg(e));

        /* Purity: a second run over the same inputs gives the same plan. */
        r = plan_compute(d, o, now, &p2, &e);
        s1 = plan_summary(&p);
        s2 = plan_summary(&p2);
        if (r < 0 || !streq(s1, s2))
                return xasprintf("NOT DETERMINISTIC:\n%s---\n%s", s1, s2);

        (void)plan_apply(&p, &exec_recorder_ops, &rec, NULL);
        strv_push(&rec.lines, "");
        *ret_apply = strv_join(rec.lines, "\n");
        exec_recorder_done(&rec);
        return TAKE_PTR(s1);
}

/* Compares actual with the file; on mismatch prints a diff as TAP comments. Returns true when
 * equal (or updated). */
static bool check(const char *path, const char *actual, bool update) {
        _cleanup_free_ char *expected = NULL, *tmp = NULL, *cmd = NULL;
        size_t len;

        if (update)
                return write_file_atomic(path, actual, strlen(actual), 0644, NULL) >= 0;
        if (read_file(path, GOLDEN_INPUT_MAX, &expected, &len, NULL) < 0) {
                printf("# missing %s; actual:\n", path);
                expected = xstrdup("");
        }
        if (streq(expected, actual))
                return true;
        tmp = xasprintf("/tmp/berth-golden-actual.%d", (int)getpid());
        if (write_file_atomic(tmp, actual, strlen(actual), 0600, NULL) >= 0) {
                cmd = xasprintf("diff -u '%s' '%s' | sed 's/^/# /'", path, tmp);
                fflush(stdout);
                if (system(cmd) < 0)
                        printf("# (diff failed)\n");
                unlink(tmp);
        }
        return false;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
        const char *base = SRCDIR "/tests/golden/plan";
        bool update = getenv("UPDATE") && streq(getenv("UPDATE"), "1");
        _cleanup_closedir_ DIR *dir = opendir(base);
        _cleanup_strv_ char **cases = NULL;
        struct dirent *de;
        size_t n, i = 0;
        int failed = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!dir) {
                printf("1..0 # SKIP no %s\n", base);
                return 77;
        }
        while ((de = readdir(dir)))
                if (de->d_name[0] != '.' && de->d_type == DT_DIR)
                        strv_push(&cases, de->d_name);
        n = strv_length(cases);
        if (n)
                qsort(cases, n, sizeof(char *), name_cmp);
        printf("1..%zu\n", n);
        STRV_FOREACH (c, cases) {
                _cleanup_free_ char *d = xasprintf("%s/%s", base, *c);
                _cleanup_free_ char *pe = xasprintf("%s/plan.expected", d);
                _cleanup_free_ char *ae = xasprintf("%s/apply.expected", d);
                _cleanup_free_ char *apply = NULL, *actual = run_case(d, &apply);
                bool ok = check(pe, actual, update);
                struct stat st;

                if (apply && (stat(ae, &st) == 0 || update))
                        ok = check(ae, apply, update) && ok;
                printf("%s %zu - plan/%s\n", ok ? "ok" : "not ok", ++i, *c);
                failed += !ok;
        }
        return failed ? 1 : 0;
}
