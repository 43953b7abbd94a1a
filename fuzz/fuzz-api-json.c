/* SPDX-License-Identifier: Apache-2.0 */
/* API JSON bodies under the daemon's limits: parse, dump and re-parse (must be equal), read an
 * error envelope the way the CLI does, and render a template over the value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "format.h"
#include "http_request.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_json_ json_t *j = NULL, *again = NULL;
        _cleanup_free_ char *dump = NULL, *out = NULL;
        json_t *e;

        if (size > HTTP_DEFAULT_MAX_BODY_SIZE)
                return 0;
        if (json_parse((const char *)data, size, "request body", &j, NULL) < 0)
                return 0;
        dump = json_dump_str(j, false);
        if (json_parse(dump, strlen(dump), "dump", &again, NULL) < 0 || !json_equal(j, again))
                abort();
        e = json_object_get(j, "error");
        (void)json_get_str(e, "message", NULL);
        (void)json_get_str(e, "field", NULL);
        (void)json_get_int(j, "Pid", 0);
        if (fmt_render("{{.Name}}\\t{{json .error}} {{upper .error.code}}", j, false, &out, NULL) <
            0)
                abort();
        return 0;
}
