/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `berth shim`: one small process per running container (agent/shim.c).
 *
 *   berth shim --root ROOT --run RUN --id ID --status-fd N [--log-max-size B] [--log-max-file N]
 *
 * It creates and starts the OCI bundle <ROOT>/containers/<ID>/bundle with its stdout/stderr on
 * pipes, copies the output into <ROOT>/containers/<ID>/<ID>-json.log (json-file, rotated), and
 * reports on the status fd one line: "ok PID\n" or "err ERRNO MESSAGE\n". It then serves
 * <RUN>/shims/<ID>.sock: every client gets {"status":"running","pid":N}\n at once and
 * {"status":"exited",...exit record...}\n when the container exits; a client may send
 * "kill SIGNUM\n". The exit record {"ExitCode","Signal","OOMKilled","FinishedAt"} is written
 * atomically to <ROOT>/containers/<ID>/exit.json before anyone is told, then the shim removes
 * the runtime state and exits. */

#define SHIM_EXIT_FILE "exit.json"

int shim_main(int argc, char **argv);
