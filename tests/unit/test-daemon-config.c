/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon_config.h"
#include "fileio.h"
#include "log.h"
#include "tap.h"
#include "xalloc.h"

static char *write_tmp(const char *text) {
        char path[] = "/tmp/berth-dcfg-XXXXXX";
        int fd = mkstemp(path);

        if (fd < 0 || fd_write_full(fd, text, strlen(text)) < 0)
                abort();
        close(fd);
        return xstrdup(path);
}

static void test_full(void) {
        _cleanup_free_ char *p = write_tmp(
                "{\"log-level\":\"debug\",\"insecure-registries\":[\"reg:5000\"],"
                "\"labels\":[\"zone=a\"],\"max-concurrent-downloads\":5,\"live-restore\":false,"
                "\"shutdown-timeout\":3}");
        struct daemon_config c;

        ASSERT_OK(daemon_config_load(p, &c, NULL));
        ASSERT_EQ(c.log_level, LOG_LVL_DEBUG);
        ASSERT_STREQ(c.insecure_registries[0], "reg:5000");
        ASSERT_STREQ(c.labels[0], "zone=a");
        ASSERT_EQ(c.max_concurrent_downloads, 5);
        ASSERT_FALSE(c.live_restore);
        ASSERT_EQ(c.shutdown_timeout, 3);
        daemon_config_done(&c);
        unlink(p);
}

static void test_missing_is_empty(void) {
        struct daemon_config c;

        ASSERT_OK(daemon_config_load("/nonexistent/berth/daemon.json", &c, NULL));
        ASSERT_EQ(c.log_level, -1);
        ASSERT_TRUE(c.live_restore);
        ASSERT_EQ(c.max_concurrent_downloads, 3);
        daemon_config_done(&c);
}

static void test_errors_name_file_and_key(void) {
        _cleanup_free_ char *p1 = write_tmp("{\"log-levl\":\"debug\"}");
        _cleanup_free_ char *p2 = write_tmp("{\"labels\":[\"novalue\"]}");
        _cleanup_free_ char *p3 = write_tmp("{\"max-concurrent-downloads\":0}");
        _cleanup_free_ char *p4 = write_tmp("[1,2]");
        _cleanup_free_ char *p5 = write_tmp("{bad json");
        _cleanup_err_ struct err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL;
        struct daemon_config c;

        ASSERT_ERR(daemon_config_load(p1, &c, &e1), EINVAL);
        ASSERT_NOT_NULL(strstr(e1->msg, p1));
        ASSERT_NOT_NULL(strstr(e1->msg, "unknown setting \"log-levl\""));
        ASSERT_ERR(daemon_config_load(p2, &c, &e2), EINVAL);
        ASSERT_NOT_NULL(strstr(e2->msg, "\"labels\"[0]"));
        ASSERT_ERR(daemon_config_load(p3, &c, &e3), EINVAL);
        ASSERT_ERR(daemon_config_load(p4, &c, &e4), EINVAL);
        ASSERT_ERR(daemon_config_load(p5, &c, &e5), EINVAL);
        unlink(p1);
        unlink(p2);
        unlink(p3);
        unlink(p4);
        unlink(p5);
}

/* ctr: the userns-remap key (a non-empty string; resolved when the daemon starts) */
static void test_userns_remap(void) {
        _cleanup_free_ char *ok = write_tmp("{\"userns-remap\":\"default\"}");
        _cleanup_free_ char *bad = write_tmp("{\"userns-remap\":\"\"}");
        _cleanup_err_ struct err *e = NULL;
        struct daemon_config c;

        ASSERT_OK(daemon_config_load(ok, &c, NULL));
        ASSERT_STREQ(c.userns_remap, "default");
        daemon_config_done(&c);
        ASSERT_NULL(c.userns_remap);
        ASSERT_ERR(daemon_config_load(bad, &c, &e), EINVAL);
        ASSERT_NOT_NULL(strstr(e->msg, "\"userns-remap\""));
        unlink(ok);
        unlink(bad);
}

TAP_MAIN(test_full, test_missing_is_empty, test_errors_name_file_and_key, test_userns_remap)
