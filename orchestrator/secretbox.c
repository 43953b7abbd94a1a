/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base64.h"
#include "cleanup.h"
#include "fileio.h"
#include "secretbox.h"
#include "xalloc.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define SEAL_MAX (64u * 1024u * 1024u)

static void evp_ctx_freep(EVP_CIPHER_CTX **p) {
        if (*p)
                EVP_CIPHER_CTX_free(*p);
}

static int fill_random(void *buf, size_t n, struct err **errp) {
        size_t got = 0;

        while (got < n) {
                ssize_t k = getrandom((uint8_t *)buf + got, n - got, 0);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return err_setx(errp, errno, "getrandom");
                got += (size_t)k;
        }
        return 0;
}

static int key_read(int fd, const char *path, struct sbox_key *ret, struct err **errp) {
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return err_setx(errp, errno, "stat '%s'", path);
        if (!S_ISREG(st.st_mode) || st.st_size != SBOX_KEY_LEN)
                return err_setx(errp, EINVAL, "'%s' is not a secrets key (%d bytes expected)", path,
                                SBOX_KEY_LEN);
        if (st.st_mode & 077)
                return err_setx(errp, EPERM,
                                "'%s' is readable by others (mode %04o): it must be 0600", path,
                                (unsigned)(st.st_mode & 07777));
        n = fd_read_full(fd, ret->k, SBOX_KEY_LEN);
        if (n < 0)
                return err_setx(errp, (int)-n, "read '%s'", path);
        if (n != SBOX_KEY_LEN)
                return err_setx(errp, EINVAL, "'%s': short read", path);
        return 0;
}

int sbox_key_load(const char *path, struct sbox_key *ret, struct err **errp) {
        _cleanup_close_ int fd = -EBADF;
        struct sbox_key k;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0)
                return key_read(fd, path, ret, errp);
        if (errno != ENOENT)
                return err_setx(errp, errno, "open '%s'", path);

        r = fill_random(k.k, sizeof(k.k), errp);
        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == EEXIST) {
                /* Made by someone else meanwhile: use theirs. */
                explicit_bzero(&k, sizeof(k));
                return sbox_key_load(path, ret, errp);
        }
        if (fd < 0)
                return err_setx(errp, errno, "create '%s'", path);
        if (fchmod(fd, 0600) < 0 || fd_write_full(fd, k.k, sizeof(k.k)) < 0 || fsync(fd) < 0) {
                r = err_setx(errp, errno, "write '%s'", path);
                (void)unlink(path);
                explicit_bzero(&k, sizeof(k));
                return r;
        }
        *ret = k;
        explicit_bzero(&k, sizeof(k));
        return 0;
}

int sbox_seal(const struct sbox_key *key, const char *aad, const void *data, size_t len, char **ret,
              struct err **errp) {
        _cleanup_(evp_ctx_freep) EVP_CIPHER_CTX *ctx = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        int n = 0, fin = 0, r;

        if (len > SEAL_MAX)
                return err_setx(errp, EFBIG, "value of %zu bytes is too large to seal", len);
        buf = xmalloc(NONCE_LEN + len + TAG_LEN);
        r = fill_random(buf, NONCE_LEN, errp);
        if (r < 0)
                return r;
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
            EVP_EncryptInit_ex(ctx, NULL, NULL, key->k, buf) != 1 ||
            EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
            EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &n, data, (int)len) != 1 ||
            EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + n, &fin) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + len) != 1)
                return err_setx(errp, EIO, "AES-256-GCM encryption failed");
        {
                _cleanup_free_ char *b = base64_encode(buf, NONCE_LEN + len + TAG_LEN);

                *ret = xasprintf("v1:%s", b);
        }
        return 0;
}

int sbox_open(const struct sbox_key *key, const char *aad, const char *text, char **ret,
              size_t *ret_len, struct err **errp) {
        _cleanup_(evp_ctx_freep) EVP_CIPHER_CTX *ctx = NULL;
        _cleanup_free_ char *raw = NULL;
        _cleanup_free_ char *out = NULL;
        size_t n_raw, len;
        int n = 0, fin = 0;

        if (!sbox_is_sealed(text) || base64_decode(text + 3, &raw, &n_raw) < 0 ||
            n_raw < NONCE_LEN + TAG_LEN)
                return err_setx(errp, EINVAL, "not a sealed value");
        len = n_raw - NONCE_LEN - TAG_LEN;
        out = xnew0(char, len + 1);
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
            EVP_DecryptInit_ex(ctx, NULL, NULL, key->k, (const uint8_t *)raw) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
            EVP_DecryptUpdate(ctx, (uint8_t *)out, &n, (const uint8_t *)raw + NONCE_LEN,
                              (int)len) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                (uint8_t *)raw + NONCE_LEN + len) != 1) {
                explicit_bzero(out, len);
                return err_setx(errp, EIO, "AES-256-GCM decryption failed");
        }
        if (EVP_DecryptFinal_ex(ctx, (uint8_t *)out + n, &fin) != 1) {
                explicit_bzero(out, len);
                return err_setx(errp, EBADMSG,
                                "sealed value does not open: changed, or sealed under another "
                                "key");
        }
        out[len] = 0;
        *ret_len = len;
        *ret = TAKE_PTR(out);
        return 0;
}
