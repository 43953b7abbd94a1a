/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"

/* A YAML node tree that remembers where every node came from (file, line, column), built with
 * libyaml. Aliases are expanded into copies (so every node has exactly one parent and a path),
 * merge keys "<<" are applied, and the loader enforces limits on input size, nesting depth and
 * total node count after alias expansion (the "billion laughs" defence). */

#define YAML_MAX_FILE_SIZE (8u * 1024 * 1024)
#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES (1u << 20)

enum ynode_kind { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

/* Where a node was read from. dir is the directory relative paths in that file resolve
 * against. Owned by whoever loads; nodes only borrow it. */
struct ysrc {
        char *file;
        char *dir;
};

struct ynode {
        enum ynode_kind kind;
        char *str; /* scalar value (NUL-terminated, may contain NULs before len) */
        size_t len;
        bool plain; /* plain (unquoted) scalar: subject to null/bool/number resolution */
        char *tag;  /* explicit tag, or NULL */
        /* Sequence items, or for a map key,value,key,value... */
        struct ynode **kids;
        size_t n_kids, alloc_kids;
        struct ynode *parent;
        const struct ysrc *src;
        unsigned line, col; /* 1-based */
};

/* Parses every document of buf. On success *ret_docs is an array of *ret_n roots (an empty
 * document gives a null scalar). */
int yaml_load(const char *buf, size_t len, const struct ysrc *src, struct ynode ***ret_docs,
              size_t *ret_n, struct err **errp);
void ynode_free(struct ynode *n);
void ynode_freep(struct ynode **n);
void ynode_docs_free(struct ynode **docs, size_t n);

struct ynode *ynode_new_scalar(const char *s, const struct ysrc *src, unsigned line, unsigned col);
struct ynode *ynode_new(enum ynode_kind kind, const struct ysrc *src, unsigned line, unsigned col);
/* Deep copy (parent of the copy is NULL). */
struct ynode *ynode_copy(const struct ynode *n);
/* Appends a child (takes ownership); for maps call twice (key then value). */
void ynode_append_take(struct ynode *parent, struct ynode *kid);
/* Map helpers. */
size_t ynode_map_len(const struct ynode *n);
struct ynode *ynode_map_get(const struct ynode *n, const char *key);
/* Sets key to v (takes v), replacing an existing value in place. */
void ynode_map_set_take(struct ynode *map, const char *key, struct ynode *v);
/* Removes key if present; returns true if it was there. */
bool ynode_map_del(struct ynode *map, const char *key);
/* Re-links parent pointers below n (after moving subtrees around). */
void ynode_reparent(struct ynode *n);

#define YMAP_FOREACH(k, v, m)                                                                      \
        for (size_t _i_##k = 0; (m) && (m)->kind == YNODE_MAP && _i_##k + 1 < (m)->n_kids &&       \
                                ((k) = (m)->kids[_i_##k], (v) = (m)->kids[_i_##k + 1], 1);         \
             _i_##k += 2)

/* Scalar classification (YAML 1.2 core schema, as compose files are read). */
bool ynode_is_null(const struct ynode *n);
bool ynode_is_scalar(const struct ynode *n);
/* Returns the kind as a word for messages: "a string", "a mapping", "a list", "null". */
const char *ynode_kind_name(const struct ynode *n);

/* The path of a node from its document root: "services.web.ports[1]" ("" for the root). */
char *ynode_path(const struct ynode *n);

/* Sets *errp to "FILE:LINE:COL: PATH: message" with err->field = PATH. Returns -EINVAL. */
int ynode_err(struct err **errp, const struct ynode *n, const char *fmt, ...) _printf_(3, 4);

/* Converts a node tree to JSON using core-schema resolution for plain scalars. */
json_t *ynode_to_json(const struct ynode *n);
/* Emits a JSON value as a YAML document (block style, keys in order). */
int yaml_emit_json(const json_t *j, char **ret, struct err **errp);

#define _cleanup_ynode_ _cleanup_(ynode_freep)
