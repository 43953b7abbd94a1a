/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "api.h"
#include "err.h"
#include "http_server.h"

/* The container manager (agent/containers.c): records under <root>/containers/<id>/, one shim
 * per running container, exits through the shims' sockets, restart policies through
 * agent/supervise.h. Everything runs on the daemon's libev loop; handlers that must wait (stop,
 * wait, rm -f of a running container, logs --follow, exec) keep their request and answer it
 * from the loop. */

#define CTR_RECORD_VERSION 1

struct ctr_mgr;
struct ctr;

/* Loads every record (a corrupt one is logged and skipped), reconnects to live shims, learns
 * exits that happened while the daemon was down and applies restart policies. */
int ctr_mgr_open(struct daemon *d, struct ctr_mgr **ret, struct err **errp);
struct ctr_mgr *ctr_mgr_free(struct ctr_mgr *m);
/* The daemon is shutting down: ends log streams and exec streams, answers waiting requests
 * with 503, so that the HTTP server can close at once. Containers keep running. */
void ctr_mgr_release_clients(struct ctr_mgr *m);

/* Full id, unique id prefix or name (with or without the leading '/'). -ENOENT "No such
 * container: REF"; an ambiguous prefix is -EINVAL. */
int ctr_lookup(struct ctr_mgr *m, const char *ref, struct ctr **ret, struct err **errp);
/* --userns-remap: removes the shifted layer copies under <root>/userns whose layer is no longer
 * in layers_dir (its image was removed), and copies left half-made by a dead daemon. */
int ctr_userns_gc(const char *root, const char *layers_dir, size_t *ret_freed, struct err **errp);
/* All containers, in creation order (newest first). ret is borrowed. */
size_t ctr_all(struct ctr_mgr *m, struct ctr ***ret);

/* Creates a container from an Engine-API create body. name may be NULL (generated). */
int ctr_create(struct ctr_mgr *m, const char *name, const json_t *body, struct ctr **ret,
               struct err **errp);
/* The same; sync false writes the record without its two fsyncs (ctr_save_state()'s rule),
 * for containers that something else recreates when a power cut loses their record (a stack's
 * pods: the controller's assignments are the durable state, and a record that does not load
 * is skipped). */
int ctr_create_ex(struct ctr_mgr *m, const char *name, const json_t *body, bool sync,
                  struct ctr **ret, struct err **errp);
/* Starts a created or exited container without blocking the loop, for callers that need to know
 * when it runs (pods, whose containers join the first one's namespaces): done(ud, c, r, e) is
 * called once the start is over (r 0: running; < 0: failed, e says why), unless
 * ctr_start_unwatch() came first. Returns 1 when it was running already, 0 when the start is
 * under way, < 0 when it failed at once (done is not called then). */
typedef void ctr_started_fn(void *ud, struct ctr *c, int r, const struct err *e);
int ctr_start_watch(struct ctr *c, ctr_started_fn *done, void *ud, struct err **errp);
void ctr_start_unwatch(struct ctr *c, ctr_started_fn *done, void *ud);
/* Starts a created or exited container without blocking the loop: req (may be NULL) is answered
 * 204 once the shim reports the container running, or with the start's error. */
void ctr_start_req(struct ctr *c, struct http_req *req);
/* Stops with the StopSignal, then SIGKILL after timeout seconds (< 0: the container's
 * StopTimeout, default 10); answers req (204, or 304 when not running) once it exited. */
void ctr_stop(struct ctr *c, int timeout, struct http_req *req);
void ctr_restart(struct ctr *c, int timeout, struct http_req *req);
int ctr_kill(struct ctr *c, int sig, struct err **errp);
int ctr_pause(struct ctr *c, bool pause, struct err **errp);
/* Answers req when the container is gone (force kills a running one first). */
void ctr_remove(struct ctr *c, bool force, bool volumes, struct http_req *req);
/* Answers {"StatusCode":N} when the container is not running (next_exit: at the next exit). */
void ctr_wait(struct ctr *c, bool next_exit, struct http_req *req);
int ctr_rename(struct ctr *c, const char *name, struct err **errp);
/* docker inspect document (new reference). */
json_t *ctr_inspect(const struct ctr *c);
/* The record itself, borrowed and not to be changed: ctr_inspect()'s fields plus Berth*
 * private ones. For readers of a few fields of every container (the pod runtime's passes),
 * where a deep copy per container per pass was quadratic in `up` and `down` of a stack. */
const json_t *ctr_record(const struct ctr *c);
/* `ps` entry: Id, Names, Image, ImageID, Command, Created, State, Status, Labels, Mounts. */
json_t *ctr_summary(const struct ctr *c);
/* {"Titles":[...],"Processes":[[...]...]} */
int ctr_top(struct ctr *c, json_t **ret, struct err **errp);

struct ctr_logs_opts {
        bool follow, timestamps, stdout_, stderr_;
        int64_t tail;
        uint64_t since_nsec, until_nsec;
};
/* Streams the log as NDJSON {"stream","log","time"}; with follow, ends with {"exit":N} when the
 * container stops. */
void ctr_logs(struct ctr *c, const struct ctr_logs_opts *o, struct http_req *req);
/* Runs Cmd in the container; streams {"stream","data"} lines and a final {"ExitCode":N}
 * (Detach: answers 201 at once). body: Cmd, Env, WorkingDir, User, Detach. */
void ctr_exec(struct ctr *c, const json_t *body, struct http_req *req);

/* Pure helpers (unit-tested). */
/* Index of the container ref names among n ids/names: exact id, exact name, then unique id
 * prefix. -ENOENT, or -EINVAL when a prefix is ambiguous. */
int ctr_ref_index(const char *const *ids, const char *const *names, size_t n, const char *ref);
/* docker's ps Status column: "Up 5 seconds", "Exited (0) 3 minutes ago", "Created". */
char *ctr_status_text(const json_t *state, uint64_t now_usec);
/* ps --filter: status=, name=, label=K[=V], id=, exited=. 1 match, 0 no, -EINVAL bad filter. */
int ctr_filter_match(const json_t *rec, const char *filter, struct err **errp);
