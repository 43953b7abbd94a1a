/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `berth oci ...`: an OCI runtime command line compatible with runc/crun. */
int oci_main(int argc, char **argv);

/* Foreground terminal plumbing for `oci run`/`oci exec -t` (oci_tty.c): receives the pty master
 * from the console socket, copies between the caller's stdio and the pty until pid exits and
 * returns its wait status. */
int oci_tty_receive_master(int sock);
int oci_tty_proxy_and_wait(int master, int pid, int *ret_status);
