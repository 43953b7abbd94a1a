/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* s as a host-order IPv4 address; false for NULL or anything but a dotted quad. */
bool ip4_parse(const char *s, uint32_t *ret);
/* ip (host order) as a dotted quad (allocated). */
char *ip4_format(uint32_t ip);
