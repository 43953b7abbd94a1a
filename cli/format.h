/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "err.h"

/* Output formatting for --format, after docker's:
 *   json                 the JSON document
 *   table TEMPLATE       an aligned table with a header row, one row per item
 *   TEMPLATE             the template once per item (or once for a single object)
 * Templates are a small subset of Go's text/template: {{.}}, {{.Field}}, {{.A.B}}, {{json .}},
 * {{json .Field}}, {{upper .X}}, {{lower .X}}, with {{- and -}} trimming. "\t" and "\n" written
 * as two characters are turned into a tab and a newline, as docker does. */

/* Renders tmpl against v. With header true, each action renders as its column title (the
 * upper-cased last field name: {{.Names}} -> NAMES). Errors name the template position. */
int fmt_render(const char *tmpl, const json_t *v, bool header, char **ret, struct err **errp);

/* Aligns tab-separated cells into columns (like Go's tabwriter: min width 10, padding 3). */
char *fmt_align(const char *text);

/* Prints a listing. items is a JSON array. format NULL or "table" uses default_table (which
 * starts with "table "). */
int fmt_print_list(FILE *f, const char *format, const char *default_table, const json_t *items,
                   struct err **errp);

/* For single objects: "json" prints the object, a template renders it. Returns 1 when it
 * printed, 0 when format asks for the command's own human-readable output (NULL / "table"). */
int fmt_print_one(FILE *f, const char *format, const json_t *obj, struct err **errp);

/* What `inspect` prints for the objects of arr: a template (format other than NULL, "json"
 * and "table") rendered per object, else the whole array as indented JSON. */
int fmt_print_all(FILE *f, const char *format, const json_t *arr, struct err **errp);
