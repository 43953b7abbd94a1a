/* SPDX-License-Identifier: Apache-2.0 */
/* tinit: a static test payload for containers. Each subcommand prints one machine-checkable
 * result and exits 0 on success, or prints "FAIL <ERRNO_NAME>" and exits 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e) {
        switch (e) {
        case EPERM:
                return "EPERM";
        case ENOENT:
                return "ENOENT";
        case ESRCH:
                return "ESRCH";
        case EACCES:
                return "EACCES";
        case EROFS:
                return "EROFS";
        case ENOSYS:
                return "ENOSYS";
        case EINVAL:
                return "EINVAL";
        case EAGAIN:
                return "EAGAIN";
        case ENOMEM:
                return "ENOMEM";
        case EBADF:
                return "EBADF";
        case EEXIST:
                return "EEXIST";
        case ENOTDIR:
                return "ENOTDIR";
        case EOPNOTSUPP:
                return "EOPNOTSUPP";
        default:
                return "EOTHER";
        }
}

static int fail(void) {
        int e = errno;
        printf("FAIL %s\n", errname(e));
        return 1;
}

static int cmd_caps(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];

        if (!f)
                return fail();
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0 ||
                    strncmp(line, "Seccomp:", 8) == 0)
                        fputs(line, stdout);
        fclose(f);
        return 0;
}

static int cmd_id(void) {
        gid_t g[64];
        int n = getgroups(64, g);

        printf("uid=%u gid=%u groups=", (unsigned)getuid(), (unsigned)getgid());
        for (int i = 0; i < n; i++)
                printf("%s%u", i ? "," : "", (unsigned)g[i]);
        printf("\n");
        return 0;
}

static int cmd_hog(long mb) {
        for (long i = 0; i < mb; i++) {
                char *p = malloc(1 << 20);
                if (!p)
                        return fail();
                memset(p, 1, 1 << 20);
        }
        printf("OK %ld\n", mb);
        return 0;
}

/* Forks up to n children that wait; reports how many it got, then kills and reaps them. */
static int cmd_forkbomb(long n) {
        static pid_t kids[100000];
        long made = 0;
        int ret = 0;

        if (n > 100000)
                n = 100000;
        for (long i = 0; i < n; i++) {
                pid_t p = fork();
                if (p < 0) {
                        printf("FORK_FAILED_AT %ld %s\n", made, errname(errno));
                        ret = 1;
                        break;
                }
                if (p == 0) {
                        pause();
                        _exit(0);
                }
                kids[made++] = p;
        }
        if (!ret)
                printf("FORKED %ld\n", made);
        fflush(stdout);
        for (long i = 0; i < made; i++)
                kill(kids[i], SIGKILL);
        for (long i = 0; i < made; i++)
                waitpid(kids[i], NULL, 0);
        return ret;
}

static int cmd_serve(int port) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

        if (s < 0)
                return fail();
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
                return fail();
        printf("LISTENING %d\n", port);
        fflush(stdout);
        for (;;) {
                char buf[1024];
                int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
                ssize_t n;
                if (c < 0)
                        continue;
                n = read(c, buf, sizeof(buf));
                if (n > 4 && memcmp(buf, "GET ", 4) == 0) {
                        const char *r = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
                        (void)!write(c, r, strlen(r));
                } else if (n > 0)
                        (void)!write(c, buf, (size_t)n);
                close(c);
        }
}

static int cmd_ls(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        if (!d)
                return fail();
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        printf("%s\n", de->d_name);
        closedir(d);
        return 0;
}

static int cmd_cat(const char *path) {
        char buf[4096];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;
        if (fd < 0)
                return fail();
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t)n, stdout);
        if (n < 0)
                return fail();
        close(fd);
        return 0;
}

static int cmd_open_by_handle(void) {
        /* The "shocker" escape: open a host inode by handle. */
        struct {
                unsigned int handle_bytes;
                int handle_type;
                unsigned char f_handle[8];
        } h = {8, 1, {2, 0, 0, 0, 0, 0, 0, 0}};
        int fd = (int)syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY);
        if (fd < 0)
                return fail();
        printf("OPENED\n");
        return 0;
}

int main(int argc, char **argv) {
        const char *cmd = argc > 1 ? argv[1] : "";
        const char *arg = argc > 2 ? argv[2] : "";

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!strcmp(cmd, "sleep")) {
                sleep((unsigned)atoi(arg));
                printf("SLEPT\n");
                return 0;
        }
        if (!strcmp(cmd, "exit"))
                return atoi(arg);
        if (!strcmp(cmd, "env")) {
                extern char **environ;
                for (char **e = environ; *e; e++)
                        printf("%s\n", *e);
                return 0;
        }
        if (!strcmp(cmd, "id"))
                return cmd_id();
        if (!strcmp(cmd, "caps"))
                return cmd_caps();
        if (!strcmp(cmd, "hog"))
                return cmd_hog(atol(arg));
        if (!strcmp(cmd, "forkbomb"))
                return cmd_forkbomb(atol(arg));
        if (!strcmp(cmd, "serve"))
                return cmd_serve(atoi(arg));
        if (!strcmp(cmd, "write")) {
                int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 ||
                    write(fd, argc > 3 ? argv[3] : "x", strlen(argc > 3 ? argv[3] : "x")) < 0)
                        return fail();
                printf("WROTE\n");
                return 0;
        }
        if (!strcmp(cmd, "read"))
                return cmd_cat(arg);
        if (!strcmp(cmd, "cat"))
                return cmd_cat(arg);
        if (!strcmp(cmd, "ls"))
                return cmd_ls(arg);
        if (!strcmp(cmd, "mount")) {
                if (mount("tmpfs", "/mnt", "tmpfs", 0, NULL) < 0)
                        return fail();
                printf("MOUNTED\n");
                return 0;
        }
        if (!strcmp(cmd, "mknod")) {
                /* /dev/sda is block 8:0 on the host. */
                if (mknod(arg, S_IFBLK | 0600, makedev(8, 0)) < 0)
                        return fail();
                int fd = open(arg, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return fail();
                printf("OPENED_DISK\n");
                return 0;
        }
        if (!strcmp(cmd, "sethostname")) {
                if (sethostname(arg, strlen(arg)) < 0)
                        return fail();
                printf("SET\n");
                return 0;
        }
        if (!strcmp(cmd, "hostname")) {
                char h[256] = "";
                gethostname(h, sizeof(h));
                printf("%s\n", h);
                return 0;
        }
        if (!strcmp(cmd, "kill")) {
                if (kill(atoi(arg), argc > 3 ? atoi(argv[3]) : SIGTERM) < 0)
                        return fail();
                printf("KILLED\n");
                return 0;
        }
        if (!strcmp(cmd, "open_by_handle"))
                return cmd_open_by_handle();
        if (!strcmp(cmd, "keyctl")) {
                /* KEYCTL_GET_KEYRING_ID of the session keyring */
                if (syscall(SYS_keyctl, 0, -3, 0) < 0)
                        return fail();
                printf("KEYCTL_OK\n");
                return 0;
        }
        if (!strcmp(cmd, "unshare")) {
                if (unshare(CLONE_NEWNS | CLONE_NEWUSER) < 0)
                        return fail();
                printf("UNSHARED\n");
                return 0;
        }
        if (!strcmp(cmd, "init_module")) {
                if (syscall(SYS_finit_module, -1, "", 0) < 0)
                        return fail();
                return 0;
        }
        fprintf(stderr, "usage: tinit sleep N|exit N|env|id|caps|hog MB|forkbomb N|serve PORT|"
                        "write PATH [DATA]|read PATH|cat PATH|ls DIR|mount|mknod PATH|"
                        "sethostname NAME|hostname|kill PID [SIG]|open_by_handle|keyctl|unshare|"
                        "init_module\n");
        return 2;
}
