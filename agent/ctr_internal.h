/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internals shared by the container manager's files (containers.c, ctr_create.c, ctr_start.c,
 * ctr_stream.c). Not for other layers. */

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "containers.h"
#include "ctr_spec.h"
#include "image/store.h"
#include "supervise.h"

/* --userns-remap (ctr_userns.c): the host ids of container root and the ranges' sizes */
struct ctr_remap {
        bool on;
        uint32_t uid, uid_n, gid, gid_n;
};

struct ctr_mgr {
        struct ctr_remap remap;
        struct daemon *d;
        struct ev_loop *loop;
        char *root, *run;
        char *ctr_root; /* <root>/containers */
        char *oci_root; /* <run>/oci: the runtime's state */
        struct image_store *images;
        struct ctr **v; /* newest first */
        size_t n;
};

enum pend_kind { PEND_WAIT, PEND_STOP, PEND_RESTART, PEND_REMOVE, PEND_START, _PEND_MAX };

/* A request answered later. */
struct pend {
        struct pend *next;
        struct ctr *c;
        enum pend_kind kind;
        struct http_req *req;
};

struct follower;
struct ctr_health;
struct exec_sess;
struct ctr_starting;
struct start_watch;

struct ctr {
        struct ctr_mgr *m;
        char *id;
        char *dir;   /* <root>/containers/<id> */
        json_t *rec; /* the record, docker's inspect shape plus Berth* private fields */
        struct sv sv;
        ev_timer sv_timer;
        ev_timer exit_timer; /* the shim was gone before we could connect */
        /* the connection to the shim */
        int shim_fd;
        ev_io shim_io;
        char shim_buf[1024];
        size_t shim_len;
        bool ran;      /* started at least once in this daemon's life or adopted running */
        bool removing; /* rm -f waits for the exit */
        bool remove_volumes;
        struct err *start_err;         /* why the last spawn failed */
        struct ctr_starting *starting; /* ctr_start.c: a start under way, on the loop */
        bool restart_kept; /* the start under way is an immediate restart that kept the rootfs */
        struct pend *pends;
        struct start_watch *start_watches; /* ctr_start_watch() */
        struct follower *followers;
        struct exec_sess *execs;
        struct ctr_health *health;    /* ctr_health.c; NULL without a check or when not running */
        struct attach_sess *attaches; /* ctr_attach.c: attaches waiting for the next start */
};

void ctr_mgr_freep(struct ctr_mgr **m);

/* containers.c */
/* Writes the record durably (fsync of the file and its directory): creation, rename, update. */
int ctr_save(struct ctr *c);
/* Writes the record without fsync, for state transitions (containers.c says why). */
int ctr_save_state(struct ctr *c);
json_t *ctr_state(const struct ctr *c);
void ctr_set_status(struct ctr *c, const char *status);
bool ctr_running(const struct ctr *c);
char *ctr_now_str(void);
const char *ctr_name(const struct ctr *c);
bool ctr_name_taken(struct ctr_mgr *m, const char *name);
struct ctr *ctr_add(struct ctr_mgr *m, char *id_take, json_t *rec_take);
void ctr_pend_add(struct ctr *c, enum pend_kind kind, struct http_req *req);
void ctr_on_exit(struct ctr *c);
void ctr_after_sv(struct ctr *c);
/* The start under way ended: r < 0 with e (owned) on failure. */
void ctr_start_done(struct ctr *c, int r, struct err *e);
int ctr_signal(struct ctr *c, int sig, struct err **errp);

/* ctr_create.c */
/* "SIGTERM", "TERM", "15" -> 15; -EINVAL otherwise. */
int ctr_parse_signal(const char *s);

/* ctr_start.c: mounts the rootfs, writes the bundle and starts a shim whose report is read on
 * the loop. Returns 1 (under way; ctr_start_done() follows from the loop) or a negative errno
 * (recorded in the record already). */
int ctr_do_start(struct ctr *c, struct err **errp);
/* Forgets the start under way (the daemon shuts down; the shim gives up or runs on). */
void ctr_start_cancel(struct ctr *c);
int ctr_shim_connect(struct ctr *c, struct err **errp);
void ctr_shim_disconnect(struct ctr *c);

/* ctr_events.c: publishes a container event on the daemon's bus with name, image and the
 * container's labels as attributes, plus extra_take's (owned, may be NULL). */
void ctr_event(struct ctr *c, const char *action, json_t *extra_take);
void ctr_event_die(struct ctr *c, int exit_code);
void ctr_event_kill(struct ctr *c, int sig);
/* A volume event (create, destroy) of a volume a container made or removed implicitly (docker
 * publishes those too; the volume API publishes its own). */
void ctr_volume_event(struct ctr_mgr *m, const char *action, const char *name);

/* ctr_health.c: (re)starts the checks of a running c (adopted: after a daemon restart, keeping
 * the last status), and stops them (exit, removal). */
struct health_config;
void ctr_health_start(struct ctr *c, bool adopted);
void ctr_health_stop(struct ctr *c);
int ctr_health_config(const json_t *rec, struct health_config *ret, bool *ret_enabled,
                      struct err **errp);
/* At create: keeps the image's check in the record and checks the merged one and
 * HostConfig.HealthOnFailure (none, kill, restart, stop). */
struct healthcheck;
int ctr_health_prepare(json_t *rec, const struct healthcheck *image_hc, struct err **errp);

/* ctr_stats.c: docker's stats of a running container (precpu_stats from precpu or empty); the
 * stats route (one answer after a second, or NDJSON every second while stream); the update
 * route (Memory, NanoCpus, PidsLimit written to the cgroup of a running container, RestartPolicy;
 * all kept in the record). */
int ctr_stats_sample(struct ctr *c, const json_t *precpu, json_t **ret, struct err **errp);
void ctr_stats_request(struct ctr *c, bool stream, struct http_req *req);
/* docker's one-shot=1 (with stream=0): one sample at once, precpu_stats empty. */
void ctr_stats_once(struct ctr *c, struct http_req *req);
int ctr_update(struct ctr *c, const json_t *body, struct err **errp);

/* ctr_metrics.c: the container collectors and counters on the daemon's metrics. */
void ctr_metrics_register(struct ctr_mgr *m);
void ctr_metrics_restart(struct ctr *c);

/* ctr_attach.c: POST /attach (an upgraded connection relayed to the shim's attach socket;
 * waits for the next start when c is not running), /resize (the console's size). */
struct attach_sess;
void ctr_attach(struct ctr *c, struct http_req *req);
bool ctr_attach_pending(const struct ctr *c);
/* From ctr_do_start, while the container's process waits: connects the waiting attaches. */
void ctr_attach_connect_pending(struct ctr *c);
/* Ends the waiting attaches (removal). */
void ctr_attach_end(struct ctr *c);
int ctr_resize(struct ctr *c, unsigned h, unsigned w, struct err **errp);
/* docker's detach keys ("ctrl-p,ctrl-q") -> "16,17" for the shim. */
int ctr_parse_detach_keys(const char *spec, char **ret, struct err **errp);

/* ctr_exec.c: runs body's Cmd (with Env, WorkingDir, User) inside c through a forked helper whose
 * stdout and stderr are out_fd and err_fd; *ret_pid is the helper, which exits with the command's
 * status and kills the command when it gets SIGTERM. */
int ctr_exec_spawn(struct ctr *c, const json_t *body, int out_fd, int err_fd, pid_t *ret_pid,
                   struct err **errp);
/* ctr_stream.c */
/* JSON string of bytes that may not be UTF-8 (invalid bytes become U+FFFD). */
json_t *ctr_json_bytes(const char *s, size_t len);
/* The container exited: followers get the rest of the log and {"exit":N}. */
void ctr_streams_exit(struct ctr *c);
/* Ends every stream of c (removal). */
void ctr_streams_end(struct ctr *c);

/* ctr_exec.c: exec instances (docker's create/start/resize/inspect; one-shot execs from
 * ctr_exec()). Ids are 64 hex characters; lookups are exact. */
struct exec_sess *ctr_exec_find(struct ctr_mgr *m, const char *id);
/* POST /exec/{id}/start with body start ({Detach, ConsoleSize, DetachKeys}; may be NULL). */
void ctr_exec_start(struct exec_sess *x, const json_t *start, struct http_req *req);
int ctr_exec_resize(struct exec_sess *x, unsigned h, unsigned w, struct err **errp);
json_t *ctr_exec_inspect(const struct exec_sess *x);
/* Ends every exec session and record of c (removal, daemon shutdown). */
void ctr_exec_end(struct ctr *c);

/* ctr_userns.c: --userns-remap. init resolves spec (NULL/"": off; "default" creates the
 * berth-remap user and its ranges); create (from ctr_create) checks HostConfig.UsernsMode and, for
 * a remapped container, records the mapping (BerthUserns, BerthRootUid/Gid), points its lower
 * dirs at the shifted copies and prepares its upper dir and empty volumes; spec adds the user
 * namespace and its maps to the OCI config. */
int ctr_userns_init(struct ctr_mgr *m, const char *spec, struct err **errp);
int ctr_userns_create(struct ctr_mgr *m, json_t *rec, struct err **errp);
