/*
 * schema.h — validation of a JSON value against the subset of JSON Schema
 * (2020-12) that the tool registry writes: type (one or a list, "integer"
 * accepting integral numbers), enum, properties / required /
 * additionalProperties:false, items / minItems / maxItems, minLength /
 * maxLength (in Unicode code points), minimum / maximum. Annotations (title,
 * description, default, examples) are ignored; any other keyword is ignored
 * too, so the registry must not rely on one (test_registry checks every tool's
 * schema uses only these).
 *
 * Pure: no I/O. The schema is trusted (ours); the value is untrusted.
 */
#ifndef TOCK_CHAT_SCHEMA_H
#define TOCK_CHAT_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

/*
 * 0 when value satisfies schema; otherwise TOCK_EINVAL with e->field set to the
 * path of the first offending member ("tags[2]", "recurrence.rrule"; "" for
 * the value itself) and e->message to a sentence naming it.
 */
int schema_validate(const json_t *schema, const json_t *value, struct tock_error *e);

/* True when every keyword of schema (recursively) is one schema_validate knows. */
bool schema_supported(const json_t *schema);

#endif
