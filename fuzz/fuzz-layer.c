/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "image/layer.h"

/* Layer tarballs are outside input: extraction must never write outside its directory. The
 * target lives in a per-process scratch dir next to a sentinel dir that must stay empty. */
static char base[64];

static void cleanup_base(void) {
        if (base[0])
                (void)rm_rf(base, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char dest[128], outside[128];
        char *diff = NULL;
        struct err *e = NULL;
        int fd, dfd, r;

        if (size > (1 << 20))
                return 0;
        if (!base[0]) {
                strcpy(base, "/tmp/berth-fuzz-layer-XXXXXX");
                if (!mkdtemp(base))
                        abort();
                atexit(cleanup_base);
        }
        snprintf(dest, sizeof(dest), "%s/d/dest", base);
        snprintf(outside, sizeof(outside), "%s/d", base);
        (void)rm_rf(outside, NULL);
        if (mkdir_p(dest, 0755, NULL) < 0)
                abort();
        fd = memfd_create("layer", MFD_CLOEXEC);
        if (fd < 0 || fd_write_full(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                abort();
        dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = layer_unpack_fd(fd, dfd, &diff, NULL, &e);
        if (r < 0)
                err_free(e);
        free(diff);
        close(dfd);
        close(fd);
        /* Only dest may exist in d/. */
        {
                DIR *d = opendir(outside);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.' && strcmp(de->d_name, "dest") != 0)
                                abort();
                if (d)
                        closedir(d);
        }
        return 0;
}
