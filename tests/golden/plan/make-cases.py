#!/usr/bin/env python3
# Writes the planner's golden inputs (desired.json, observed.json) for every case below. The
# expected outputs (plan.expected, apply.expected) are NOT generated here: they are reviewed by
# hand, and `UPDATE=1 build/tests/test-plan-golden` only rewrites them after a deliberate change.
# Each case lists services with a few overrides on a full canonical service (docs/model.md).
import copy, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1_000_000_000_000          # now_usec of every case
LONG_AGO = NOW - 3600_000_000    # pods started an hour ago

def h(tag):
    """A sha256-sized hex hash whose first 12 characters are readable in the plan."""
    return (tag + "0" * 64)[:64]

def service(name, **kw):
    s = {
        "name": name, "kind": "service", "replicas": 1, "container_name": None, "labels": {},
        "depends_on": {},
        "update": {"parallelism": 1, "delay_ms": 0, "order": "stop-first", "failure_action": "pause",
                   "monitor_ms": 5000, "max_failure_ratio": 0},
        "rollback": {"parallelism": 1, "delay_ms": 0, "order": "stop-first", "failure_action": "pause",
                     "monitor_ms": 5000, "max_failure_ratio": 0},
        "placement": {"constraints": [], "max_replicas_per_node": 0},
        "endpoint": {"mode": "vip", "ports": []},
        "hash": h("aaa111"),
        "pod": {
            "hostname": None, "domainname": None, "dns": [], "dns_search": [], "dns_options": [],
            "extra_hosts": [], "network_mode": None, "networks": {"default": {"aliases": [], "ipv4_address": None}},
            "restart": {"policy": "always", "max_retries": 0, "delay_ms": 0, "window_ms": 0},
            "stop_signal": "SIGTERM", "stop_grace_period_ms": 10000, "init_containers": [],
            "containers": [{
                "name": name, "image": "docker.io/library/busybox:latest", "pull_policy": "missing",
                "build": None, "entrypoint": None, "command": ["sleep", "infinity"], "env": {},
                "working_dir": None, "user": None, "ports": [], "expose": [], "mounts": [],
                "resources": {"limits": {"cpus": 0, "memory": 0, "pids": 0},
                              "reservations": {"cpus": 0, "memory": 0}},
                "healthcheck": None,
                "probes": {"liveness": None, "readiness": None, "startup": None},
                "security": {"privileged": False, "read_only": False, "cap_add": [], "cap_drop": [],
                             "no_new_privileges": False, "security_opt": [], "user_ns": None},
                "tmpfs": [], "init": False, "tty": False, "stdin_open": False, "labels": {},
                "logging": {"driver": "json-file", "options": {}}, "ulimits": {}, "sysctls": {},
                "shm_size": 0, "devices": [], "stop_signal": None,
            }],
        },
    }
    c = s["pod"]["containers"][0]
    for k, v in kw.items():
        if k == "healthcheck" and v:
            c["healthcheck"] = {"test": ["CMD", "true"], "interval_ms": 1000, "timeout_ms": 1000,
                                "retries": 3, "start_period_ms": 0, "start_interval_ms": 0}
        elif k == "volume":
            c["mounts"] = [{"type": "volume", "source": v, "target": "/data", "read_only": False,
                            "volume": {"nocopy": False}, "bind": None, "tmpfs": None}]
        elif k == "memory":
            c["resources"]["reservations"]["memory"] = v
        elif k == "restart":
            s["pod"]["restart"]["policy"] = v
        elif k in ("update", "rollback", "placement"):
            s[k].update(v)
        elif k == "deps":
            s["depends_on"] = {d: {"condition": cond, "restart": rs, "required": True}
                               for d, cond, rs in v}
        else:
            s[k] = v
    return s

def stack(services, up=None, volumes=None):
    m = {"version": 1, "name": "shop", "sources": ["/srv/shop/compose.yaml"],
         "services": {s["name"]: s for s in services},
         "networks": {"default": {"name": "shop_default", "driver": "bridge", "external": False,
                                  "internal": False, "attachable": False, "subnet": None,
                                  "gateway": None, "ip_range": None, "options": {}, "labels": {}}},
         "volumes": {}, "secrets": {}, "configs": {}}
    for v in volumes or []:
        m["volumes"][v] = {"name": "shop_" + v, "driver": "local", "external": False,
                           "driver_opts": {}, "labels": {}}
    if up is not None:
        m["up"] = up
    return m

def node(id, **kw):
    n = {"id": id, "name": id + ".example", "role": "worker", "availability": "active",
         "labels": {}, "ready": True, "reported": True, "fenced": False,
         "last_heartbeat_usec": NOW - 1_000_000,
         "allocatable": {"cpu_millis": 4000, "memory": 8 << 30},
         "allocated": {"cpu_millis": 0, "memory": 0}, "volumes": []}
    n.update(kw)
    return n

def pod(service, slot, node, hash=h("aaa111"), state="running", **kw):
    p = {"stack": "shop", "service": service, "slot": slot, "node": node, "hash": hash,
         "state": state, "exit_code": 0, "health": "none", "started_at_usec": LONG_AGO,
         "restarts": 0, "generation": 1}
    p.update(kw)
    return p

def nodes3(**kw):
    return [node("n1", **kw), node("n2", **kw), node("n3", **kw)]

OLD, NEW = h("abc123"), h("def456")
CASES = {}

CASES["scale-up"] = (stack([service("web", replicas=3)]),
    nodes3(), [pod("web", 1, "n1"), pod("web", 2, "n2")])
CASES["scale-down"] = (stack([service("web", replicas=1)]),
    nodes3(), [pod("web", 1, "n1"), pod("web", 2, "n2"), pod("web", 3, "n3")])
CASES["no-change"] = (stack([service("web", replicas=2), service("db", healthcheck=True)]),
    nodes3(), [pod("web", 1, "n1"), pod("web", 2, "n2"), pod("db", 1, "n3", health="healthy")])
CASES["rolling-stop-first"] = (stack([service("web", replicas=3, hash=NEW)]),
    nodes3(), [pod("web", i, "n%d" % i, OLD) for i in (1, 2, 3)])
CASES["rolling-start-first"] = (stack([service("web", replicas=3, hash=NEW,
        update={"parallelism": 2, "order": "start-first"})]),
    nodes3(), [pod("web", i, "n%d" % i, OLD) for i in (1, 2, 3)])
CASES["rolling-gated-on-health"] = (stack([service("web", replicas=3, hash=NEW, healthcheck=True)]),
    nodes3(), [pod("web", 1, "n1", NEW, health="starting", started_at_usec=NOW - 2_000_000),
               pod("web", 2, "n2", OLD, health="healthy"), pod("web", 3, "n3", OLD, health="healthy")])
CASES["rolling-start-first-superseded"] = (stack([service("web", replicas=2, hash=NEW,
        update={"order": "start-first"})]),
    nodes3(), [pod("web", 1, "n1", OLD), pod("web", 1, "n3", NEW, started_at_usec=NOW - 60_000_000),
               pod("web", 2, "n2", OLD)])
CASES["rolling-start-first-in-flight"] = (stack([service("web", replicas=2, hash=NEW, healthcheck=True,
        update={"order": "start-first"})]),
    nodes3(), [pod("web", 1, "n1", OLD, health="healthy"),
               pod("web", 1, "n3", NEW, health="starting", started_at_usec=NOW - 1_000_000),
               pod("web", 2, "n2", OLD, health="healthy")])
CASES["depends-healthy"] = (stack([service("db", healthcheck=True),
        service("web", deps=[("db", "service_healthy", False)])]),
    nodes3(), [pod("db", 1, "n1", health="starting")])
CASES["depends-started"] = (stack([service("db"),
        service("web", replicas=2, deps=[("db", "service_started", False)])]),
    nodes3(), [pod("db", 1, "n1")])
CASES["depends-completed"] = (stack([
        service("migrate", kind="job", restart="no"), service("seed", kind="job", restart="no"),
        service("api", deps=[("migrate", "service_completed_successfully", False)]),
        service("worker", deps=[("seed", "service_completed_successfully", False)])],
        up={"generation": 1}),
    nodes3(), [pod("migrate", 1, "n1", state="exited", exit_code=0),
               pod("seed", 1, "n2", state="exited", exit_code=1)])
CASES["restart-dependent"] = (stack([service("db", hash=NEW),
        service("web", deps=[("db", "service_started", True)]),
        service("cache", deps=[("db", "service_started", False)])]),
    nodes3(), [pod("db", 1, "n1", OLD), pod("web", 1, "n2"), pod("cache", 1, "n3")])
CASES["unhealthy-replaced"] = (stack([service("web", replicas=2, healthcheck=True)]),
    nodes3(), [pod("web", 1, "n1", health="healthy"), pod("web", 2, "n2", health="unhealthy")])
CASES["dead-pod-recreated"] = (stack([service("web", replicas=3)]),
    nodes3(), [pod("web", 1, "n1", state="dead"), pod("web", 3, "n3"),
               pod("web", 4, "n2", state="exited", exit_code=137)])
CASES["exited-restart-policy"] = (stack([service("web", restart="always"), service("once", restart="no"),
        service("retry", restart="on-failure")]),
    nodes3(), [pod("web", 1, "n1", state="exited", exit_code=1),
               pod("once", 1, "n2", state="exited", exit_code=0),
               pod("retry", 1, "n3", state="exited", exit_code=0)])
CASES["job-once-per-up"] = (stack([service("migrate", kind="job", restart="no"),
        service("report", kind="job", restart="no"), service("backfill", kind="job", restart="no")],
        up={"generation": 2}),
    nodes3(), [pod("migrate", 1, "n1", state="exited", exit_code=0, generation=2),
               pod("report", 1, "n2", state="exited", exit_code=0, generation=1)])
CASES["job-node-down-and-dead"] = (stack([service("migrate", kind="job", restart="no"),
        service("seed", kind="job", restart="no"), service("report", kind="job", restart="no", replicas=2)],
        up={"generation": 3}),
    [node("n1"), node("n2", ready=False), node("n3")],
    [pod("migrate", 1, "n2", state="running", generation=3),
     pod("seed", 1, "n1", state="dead", generation=3),
     pod("report", 1, "n2", state="exited", exit_code=0, generation=3),
     pod("report", 2, "n3", state="running", generation=3)])
CASES["orphans-kept"] = (stack([service("web")]),
    nodes3(), [pod("web", 1, "n1"), pod("old", 1, "n2")])
CASES["orphans-removed"] = (stack([service("web")], up={"remove_orphans": True}),
    nodes3(), [pod("web", 1, "n1"), pod("old", 1, "n2"), pod("old", 2, "n3")])
CASES["nodes-not-reported"] = (stack([service("web", replicas=2), service("api", replicas=1)],
        up={"remove_orphans": True}),
    [node("n1"), node("n2", reported=False), node("n3")],
    [pod("web", 1, "n1"), pod("api", 1, "n1"), pod("api", 2, "n3"), pod("old", 1, "n3")])
CASES["node-down-reschedule"] = (stack([service("web", replicas=3)]),
    [node("n1"), node("n2", last_heartbeat_usec=NOW - 120_000_000), node("n3"), node("n4")],
    [pod("web", 1, "n1"), pod("web", 2, "n2"), pod("web", 3, "n3")])
CASES["node-down-pod-lingers"] = (stack([service("web", replicas=2)]),
    [node("n1"), node("n2"), node("n3", ready=False)],
    [pod("web", 1, "n1"), pod("web", 2, "n3"), pod("web", 2, "n2", started_at_usec=NOW - 5_000_000)])
CASES["stateful-node-down"] = (stack([service("db", volume="data"), service("web")], volumes=["data"]),
    [node("n1"), node("n2", ready=False, volumes=["shop_data"]), node("n3")],
    [pod("db", 1, "n2"), pod("web", 1, "n2")])
CASES["stateful-node-fenced"] = (stack([service("db", volume="data")], volumes=["data"]),
    [node("n1"), node("n2", ready=False, fenced=True, volumes=["shop_data"]), node("n3")],
    [pod("db", 1, "n2")])
CASES["node-drained"] = (stack([service("db", volume="data"), service("web", replicas=2)],
        volumes=["data"]),
    [node("n1"), node("n2", availability="drain", volumes=["shop_data"]), node("n3")],
    [pod("db", 1, "n2"), pod("web", 1, "n1"), pod("web", 2, "n2")])
CASES["node-drained-one-at-a-time"] = (stack([service("web", replicas=3)]),
    [node("n1", availability="drain"), node("n2"), node("n3")],
    [pod("web", 1, "n1"), pod("web", 2, "n1"), pod("web", 3, "n2")])
CASES["node-drained-move-in-flight"] = (stack([service("web", replicas=3, healthcheck=True)]),
    [node("n1", availability="drain"), node("n2"), node("n3")],
    [pod("web", 1, "n1", health="healthy"), pod("web", 1, "n3", state="created",
     started_at_usec=NOW - 1_000_000), pod("web", 2, "n1", health="healthy"),
     pod("web", 3, "n2", health="healthy")])
CASES["node-drained-move-settled"] = (stack([service("web", replicas=2, healthcheck=True)]),
    [node("n1", availability="drain"), node("n2"), node("n3")],
    [pod("web", 1, "n1", health="healthy"), pod("web", 1, "n3", health="healthy",
     started_at_usec=NOW - 1_000_000), pod("web", 2, "n2", health="healthy")])
CASES["node-back-stale-copy"] = (stack([service("web", replicas=2, healthcheck=True)]),
    nodes3(), [pod("web", 1, "n1", health="healthy", superseded=True),
               pod("web", 1, "n3", health="starting"), pod("web", 2, "n2", health="healthy")])
CASES["node-back-replacement-healthy"] = (stack([service("web", replicas=2, healthcheck=True)]),
    nodes3(), [pod("web", 1, "n1", health="healthy", superseded=True),
               pod("web", 1, "n3", health="healthy"), pod("web", 2, "n2", health="healthy")])
CASES["volume-affinity"] = (stack([service("db", volume="data")], volumes=["data"]),
    [node("n1"), node("n2"), node("n3", volumes=["shop_data"])], [])
CASES["constraint-unsatisfiable"] = (stack([service("web", replicas=2, memory=1 << 30,
        placement={"constraints": ["node.labels.zone==c"]}),
        service("api", placement={"constraints": ["node.labels.zone==d"]}),
        service("big", memory=16 << 30)]),
    [node("n1", labels={"zone": "a"}), node("n2", labels={"zone": "b"}), node("n3", labels={"zone": "c"},
        allocatable={"cpu_millis": 1000, "memory": 1 << 30}, allocated={"cpu_millis": 0, "memory": 1 << 30})],
    [])
CASES["rollback-after-failed-update"] = (stack([service("web", replicas=3, hash=NEW,
        update={"failure_action": "rollback", "monitor_ms": 30000},
        rollout=None, **{"x-rollout": {"state": "updating", "previous_hash": OLD}})]),
    nodes3(), [pod("web", 1, "n1", NEW, state="exited", exit_code=1, started_at_usec=NOW - 10_000_000),
               pod("web", 2, "n2", OLD), pod("web", 3, "n3", OLD)])
CASES["update-failure-tolerated"] = (stack([service("web", replicas=4, hash=NEW,
        update={"failure_action": "rollback", "max_failure_ratio": 0.25, "parallelism": 2},
        **{"x-rollout": {"state": "updating", "previous_hash": OLD}})]),
    [node("n1"), node("n2"), node("n3"), node("n4")],
    [pod("web", 1, "n1", NEW, state="exited", exit_code=2, started_at_usec=NOW - 1_000_000),
     pod("web", 2, "n2", NEW, started_at_usec=NOW - 1_000_000), pod("web", 3, "n3", OLD),
     pod("web", 4, "n4", OLD)])
CASES["update-complete"] = (stack([service("web", replicas=2, hash=NEW, healthcheck=True,
        **{"x-rollout": {"state": "updating", "previous_hash": OLD}}),
        service("api", replicas=2, hash=NEW, healthcheck=True,
        **{"x-rollout": {"state": "updating", "previous_hash": OLD}})]),
    nodes3(), [pod("web", 1, "n1", NEW, health="healthy"), pod("web", 2, "n2", NEW, health="healthy"),
               pod("api", 1, "n1", NEW, health="healthy"), pod("api", 2, "n2", NEW, health="starting")])
CASES["crash-after-update-no-rollback"] = (stack([service("web", hash=NEW,
        update={"failure_action": "rollback"}, **{"x-rollout": {"state": "none", "previous_hash": OLD}})]),
    nodes3(), [pod("web", 1, "n1", NEW, state="exited", exit_code=1, started_at_usec=NOW - 1_000_000)])
CASES["rollback-in-progress"] = (stack([service("web", replicas=3, hash=NEW,
        rollback={"parallelism": 0},
        **{"x-rollout": {"state": "rollback", "previous_hash": OLD}})]),
    nodes3(), [pod("web", 1, "n1", OLD), pod("web", 2, "n2", NEW), pod("web", 3, "n3", NEW)])
CASES["update-paused"] = (stack([service("web", replicas=3, hash=NEW, healthcheck=True,
        **{"x-rollout": {"state": "updating", "previous_hash": OLD}})]),
    nodes3(), [pod("web", 1, "n1", NEW, health="unhealthy", started_at_usec=NOW - 1_000_000),
               pod("web", 2, "n2", OLD, health="healthy"), pod("web", 3, "n3", OLD, health="healthy")])
CASES["spread-three-nodes"] = (stack([service("web", replicas=6)]),
    nodes3(), [pod("other", 1, "n1", stack="blog"), pod("other", 2, "n1", stack="blog")])
CASES["other-stack-reservations"] = (stack([service("web", replicas=2, memory=4 << 30)]),
    nodes3(), [pod("db", 1, "n1", stack="blog", reserved={"cpu_millis": 0, "memory": 6 << 30}),
               pod("db", 2, "n2", stack="blog", reserved={"cpu_millis": 0, "memory": 6 << 30})])
CASES["spread-least-allocated"] = (stack([service("web", replicas=6, memory=2 << 30)]),
    [node("n1", allocated={"cpu_millis": 0, "memory": 6 << 30}), node("n2"), node("n3")], [])
CASES["selected-services"] = (stack([service("db"), service("web", deps=[("db", "service_started", False)]),
        service("cache")], up={"services": ["web"]}),
    nodes3(), [pod("cache", 1, "n1", OLD)])
CASES["force-recreate"] = (stack([service("web", replicas=2, update={"parallelism": 0})],
        up={"force_recreate": True}),
    nodes3(), [pod("web", 1, "n1"), pod("web", 2, "n2")])
CASES["no-recreate"] = (stack([service("web", hash=NEW)], up={"no_recreate": True}),
    nodes3(), [pod("web", 1, "n1", OLD)])
CASES["error-dependency-cycle"] = (stack([service("x", deps=[("y", "service_started", False)]),
        service("y", deps=[("z", "service_started", False)]),
        service("z", deps=[("y", "service_healthy", False)])]), nodes3(), [])
CASES["error-bad-constraint"] = (stack([service("web", placement={"constraints": ["node.zone==a"]})]),
    nodes3(), [])
CASES["error-bad-replicas"] = (stack([service("web", replicas=-1)]), nodes3(), [])

# Rebalancing (docs/cluster.md): a node that joined or came back gets work, one pod at a time.
CASES["rebalance-node-joined"] = (stack([service("web", replicas=4, healthcheck=True,
        placement={"constraints": ["node.labels.zone==a"]})]),
    [node("n1", labels={"zone": "a"}), node("n2", labels={"zone": "b"}),
     node("n3", labels={"zone": "a"}), node("n4", labels={"zone": "a"})],
    [pod("web", 1, "n1", health="healthy"), pod("web", 2, "n1", health="healthy"),
     pod("web", 3, "n1", health="healthy"), pod("web", 4, "n3", health="healthy")])
CASES["rebalance-in-flight"] = (stack([service("web", replicas=4, healthcheck=True)]),
    nodes3(), [pod("web", 1, "n1", health="healthy"), pod("web", 2, "n1", health="healthy"),
               pod("web", 3, "n1", health="healthy", superseded=True),
               pod("web", 3, "n3", health="starting", started_at_usec=NOW - 1_000_000),
               pod("web", 4, "n2", health="healthy")])
CASES["rebalance-settled"] = (stack([service("web", replicas=4, healthcheck=True)]),
    nodes3(), [pod("web", 1, "n1", health="healthy"), pod("web", 2, "n1", health="healthy"),
               pod("web", 3, "n1", health="healthy", superseded=True),
               pod("web", 3, "n3", health="healthy", started_at_usec=NOW - 1_000_000),
               pod("web", 4, "n2", health="healthy")])
CASES["rebalance-balanced"] = (stack([service("web", replicas=4)]),
    nodes3(), [pod("web", 1, "n1"), pod("web", 2, "n1"), pod("web", 3, "n2"), pod("web", 4, "n3")])
CASES["rebalance-not-stateful-or-starting"] = (stack([
        service("db", replicas=2, volume="data"),
        service("web", replicas=2, healthcheck=True)], volumes=["data"]),
    [node("n1", volumes=["shop_data"]), node("n2"), node("n3")],
    [pod("db", 1, "n1"), pod("db", 2, "n1"),
     pod("web", 1, "n1", health="healthy"), pod("web", 2, "n1", health="starting")])
# Every node silent at once: the controller was stalled or cut off, nothing moves.
CASES["nodes-all-silent"] = (stack([service("web", replicas=3)]),
    [node("n1", last_heartbeat_usec=NOW - 120_000_000),
     node("n2", last_heartbeat_usec=NOW - 121_000_000),
     node("n3", last_heartbeat_usec=NOW - 120_500_000)],
    [pod("web", 1, "n1"), pod("web", 2, "n2"), pod("web", 3, "n3")])

def main():
    for name, (desired, nodes, pods) in CASES.items():
        for s in desired["services"].values():
            s.pop("rollout", None)
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "desired.json"), "w") as f:
            json.dump(desired, f, indent=2)
            f.write("\n")
        with open(os.path.join(d, "observed.json"), "w") as f:
            json.dump({"version": 1, "now_usec": NOW, "nodes": nodes, "pods": pods}, f, indent=2)
            f.write("\n")
    print("wrote %d cases" % len(CASES))

main()
