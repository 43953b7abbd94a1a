/* SPDX-License-Identifier: Apache-2.0 */
/* `berth cert`: the cluster PKI from the command line. Works on <root>/pki directly: no daemon
 * needed (the files are root's, so this runs as root on the daemon's host). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "pki.h"
#include "xalloc.h"

#define DEFAULT_ROOT "/var/lib/berth"

static int cmd_cert_issue(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth cert issue NAME [--out DIR] [--root DIR]\n\n"
                "Issue a client certificate NAME.crt and key NAME.key, signed by the cluster CA\n"
                "in <root>/pki. Use them with --tlscert, --tlskey and --tlscacert "
                "<root>/pki/ca.crt\n"
                "against a daemon started with --listen.\n\n"
                "Options:\n"
                "  -o, --out DIR   where to write the files (default: the current directory)\n"
                "      --root DIR  the daemon's state directory (default " DEFAULT_ROOT ")\n"
                "  -h, --help      this help\n";
        static const struct option opts[] = {
                {"out", required_argument, NULL, 'o'},
                {"root", required_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *pki = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *out = ".", *root = DEFAULT_ROOT;
        int c, r;

        (void)ctx;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        out = optarg;
                        break;
                case 'r':
                        root = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        }
        if (argc - optind != 1) {
                fprintf(stderr, "berth cert issue: expected exactly one NAME\n%s", usage);
                return EXIT_USAGE;
        }
        pki = xasprintf("%s/pki", root);
        r = pki_issue(pki, argv[optind], PKI_CLIENT, NULL, out, &e);
        if (r < 0)
                return cli_report(TAKE_PTR(e),
                                  r == -EINVAL || r == -EEXIST ? EXIT_USAGE : EXIT_BERTH_FAILED);
        printf("%s/%s.crt\n%s/%s.key\n", out, argv[optind], out, argv[optind]);
        return 0;
}

static int cmd_cert_fingerprint(const struct cli_ctx *ctx, int argc, char **argv) {
        static const char usage[] =
                "Usage: berth cert fingerprint [--root DIR]\n\n"
                "Print the sha256 fingerprint of the cluster CA.\n\n"
                "Options:\n"
                "      --root DIR  the daemon's state directory (default " DEFAULT_ROOT ")\n"
                "  -h, --help      this help\n";
        static const struct option opts[] = {
                {"root", required_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *ca = NULL, *fp = NULL;
        _cleanup_err_ struct err *e = NULL;
        const char *root = DEFAULT_ROOT;
        int c;

        (void)ctx;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        root = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berth cert fingerprint: unexpected argument '%s'\n%s",
                        argv[optind], usage);
                return EXIT_USAGE;
        }
        ca = xasprintf("%s/pki/ca.crt", root);
        if (pki_fingerprint(ca, &fp, &e) < 0)
                return cli_report(TAKE_PTR(e), EXIT_BERTH_FAILED);
        printf("%s\n", fp);
        return 0;
}

const struct cli_cmd cli_cert_cmds[] = {
        {"cert issue", "Issue a client certificate signed by the cluster CA", cmd_cert_issue},
        {"cert fingerprint", "Print the cluster CA's sha256 fingerprint", cmd_cert_fingerprint},
        {},
};
