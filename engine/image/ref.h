/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "err.h"
#include "macro.h"

/* Docker image references, parsed and normalised the way docker's distribution/reference
 * package does (ParseNormalizedNamed + TagNameOnly):
 *
 *   [domain[:port]/]path[:tag][@algo:hex]
 *
 * The first path component is a domain when it contains '.' or ':', is "localhost", or holds
 * upper-case letters; otherwise the domain is docker.io. Single-component docker.io names get
 * "library/". A reference without tag and digest gets the tag "latest". */

#define REF_DEFAULT_DOMAIN "docker.io"
#define REF_NAME_MAX 255
#define REF_TAG_MAX 128

struct image_ref {
        char *domain; /* "docker.io", "localhost:5000" */
        char *path;   /* "library/busybox" */
        char *tag;    /* NULL only when digest is set and no tag was given */
        char *digest; /* "sha256:<64 hex>" or NULL */
};

/* Parses and normalises s. Errors read "invalid reference format: ..." and name s. */
int ref_parse(const char *s, struct image_ref **ret, struct err **errp);
/* Like ref_parse but does not add the "latest" tag (for "repository only" arguments). */
int ref_parse_name(const char *s, struct image_ref **ret, struct err **errp);
struct image_ref *ref_free(struct image_ref *r);
void ref_freep(struct image_ref **r);

/* "docker.io/library/busybox" */
char *ref_repository(const struct image_ref *r);
/* "docker.io/library/busybox:latest", with "@sha256:..." when a digest is set. */
char *ref_full(const struct image_ref *r);
/* "busybox:latest": docker.io and library/ dropped as docker shows them. */
char *ref_familiar(const struct image_ref *r);
/* Familiar form of the repository alone ("busybox", "localhost:5000/x"). */
char *ref_familiar_name(const struct image_ref *r);

/* Validates "sha256:<64 lowercase hex>" (the only algorithm berth stores). */
int digest_validate(const char *d, struct err **errp);
/* Validates a tag against [\w][\w.-]{0,127}. */
bool ref_tag_valid(const char *t);
