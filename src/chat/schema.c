/*
 * schema.c — the JSON Schema subset of schema.h. Walks schema and value
 * together; stops at the first violation and reports its path, so a caller
 * (an LLM, a person) gets one clear, fixable message.
 */
#include "chat/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN 64

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

static bool is_integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (!json_is_real(v))
        return false;
    double d = json_real_value(v);
    return isfinite(d) && floor(d) == d && fabs(d) < 9007199254740992.0;
}

static bool type_ok(const char *t, const json_t *v)
{
    if (!strcmp(t, "string"))
        return json_is_string(v);
    if (!strcmp(t, "integer"))
        return is_integral(v);
    if (!strcmp(t, "number"))
        return json_is_number(v);
    if (!strcmp(t, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(t, "object"))
        return json_is_object(v);
    if (!strcmp(t, "array"))
        return json_is_array(v);
    if (!strcmp(t, "null"))
        return json_is_null(v);
    return false;
}

/* "a string", "an object", "null". */
static void type_phrase(const char *t, char *out, size_t cap)
{
    if (!strcmp(t, "null"))
        snprintf(out, cap, "null");
    else
        snprintf(out, cap, "%s %s", (t[0] == 'a' || t[0] == 'i' || t[0] == 'o') ? "an" : "a", t);
}

/* "x must be a string or null" from the schema's type. */
static int type_error(const json_t *type, const char *path, struct tock_error *e)
{
    char what[128] = "", one[32];
    if (json_is_string(type)) {
        type_phrase(json_string_value(type), what, sizeof what);
    } else {
        size_t i, n = json_array_size(type), off = 0;
        json_t *t;
        json_array_foreach(type, i, t)
        {
            type_phrase(json_string_value(t), one, sizeof one);
            int w = snprintf(what + off, sizeof what - off, "%s%s",
                             i == 0 ? "" : (i + 1 == n ? " or " : ", "), one);
            if (w < 0 || (size_t)w >= sizeof what - off)
                break;
            off += (size_t)w;
        }
    }
    return tock_fail(e, TOCK_EINVAL, path, "%s must be %s", path[0] ? path : "the value", what);
}

static void child_path(char out[PATH_MAX_LEN], const char *path, const char *key, long idx)
{
    if (key)
        snprintf(out, PATH_MAX_LEN, "%s%s%.48s", path, path[0] ? "." : "", key);
    else
        snprintf(out, PATH_MAX_LEN, "%s[%ld]", path, idx);
}

static int check(const json_t *s, const json_t *v, const char *path, struct tock_error *e)
{
    const char *name = path[0] ? path : "the value";
    const json_t *type = json_object_get(s, "type");
    if (type) {
        bool ok = false;
        if (json_is_string(type)) {
            ok = type_ok(json_string_value(type), v);
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(type, i, t) ok = ok || type_ok(json_string_value(t), v);
        }
        if (!ok)
            return type_error(type, path, e);
    }
    const json_t *en = json_object_get(s, "enum");
    if (en) {
        size_t i;
        json_t *x;
        bool ok = false;
        json_array_foreach(en, i, x) ok = ok || json_equal(x, v);
        if (!ok) {
            char list[200] = "";
            size_t off = 0;
            json_array_foreach(en, i, x)
            {
                if (!json_is_string(x))
                    continue;
                int w = snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "",
                                 json_string_value(x));
                if (w < 0 || (size_t)w >= sizeof list - off)
                    break;
                off += (size_t)w;
            }
            return tock_fail(e, TOCK_EINVAL, path, "%s must be one of: %s", name, list);
        }
    }
    if (json_is_string(v)) {
        size_t n = utf8_chars(json_string_value(v), json_string_length(v));
        const json_t *mn = json_object_get(s, "minLength"), *mx = json_object_get(s, "maxLength");
        if (mn && n < (size_t)json_integer_value(mn))
            return tock_fail(e, TOCK_EINVAL, path, "%s must have at least %lld character%s",
                             name, (long long)json_integer_value(mn),
                             json_integer_value(mn) == 1 ? "" : "s");
        if (mx && n > (size_t)json_integer_value(mx))
            return tock_fail(e, TOCK_EINVAL, path, "%s must have at most %lld characters", name,
                             (long long)json_integer_value(mx));
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        const json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
        if (mn && d < json_number_value(mn))
            return tock_fail(e, TOCK_EINVAL, path, "%s must be at least %g", name,
                             json_number_value(mn));
        if (mx && d > json_number_value(mx))
            return tock_fail(e, TOCK_EINVAL, path, "%s must be at most %g", name,
                             json_number_value(mx));
    }
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        const json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
        if (mn && n < (size_t)json_integer_value(mn))
            return tock_fail(e, TOCK_EINVAL, path, "%s must have at least %lld item%s", name,
                             (long long)json_integer_value(mn),
                             json_integer_value(mn) == 1 ? "" : "s");
        if (mx && n > (size_t)json_integer_value(mx))
            return tock_fail(e, TOCK_EINVAL, path, "%s must have at most %lld items", name,
                             (long long)json_integer_value(mx));
        const json_t *items = json_object_get(s, "items");
        if (items) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                char p[PATH_MAX_LEN];
                child_path(p, path, NULL, (long)i);
                int rc = check(items, x, p, e);
                if (rc)
                    return rc;
            }
        }
    }
    if (json_is_object(v)) {
        const json_t *props = json_object_get(s, "properties");
        const json_t *req = json_object_get(s, "required");
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r)
        {
            const char *k = json_string_value(r);
            if (!json_object_get(v, k)) {
                char p[PATH_MAX_LEN];
                child_path(p, path, k, 0);
                return tock_fail(e, TOCK_EINVAL, p, "%s is required", p);
            }
        }
        const json_t *extra = json_object_get(s, "additionalProperties");
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            char p[PATH_MAX_LEN];
            child_path(p, path, k, 0);
            const json_t *ps = props ? json_object_get(props, k) : NULL;
            if (!ps) {
                if (json_is_false(extra))
                    return tock_fail(e, TOCK_EINVAL, strlen(k) < 48 ? p : path,
                                     "unknown argument %s", strlen(k) < 48 ? p : "(name too long)");
                continue;
            }
            int rc = check(ps, x, p, e);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int schema_validate(const json_t *schema, const json_t *value, struct tock_error *e)
{
    return check(schema, value, "", e);
}

static const char *const known[] = {
    "type", "enum", "properties", "required", "additionalProperties", "items", "minItems",
    "maxItems", "minLength", "maxLength", "minimum", "maximum", "title", "description",
    "default", "examples", "$schema", NULL};

bool schema_supported(const json_t *schema)
{
    if (!json_is_object(schema))
        return false;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)schema, k, x)
    {
        bool ok = false;
        for (const char *const *p = known; *p && !ok; p++)
            ok = !strcmp(*p, k);
        if (!ok)
            return false;
        if (!strcmp(k, "items") && !schema_supported(x))
            return false;
        if (!strcmp(k, "additionalProperties") && !json_is_boolean(x) && !schema_supported(x))
            return false;
        if (!strcmp(k, "properties")) {
            const char *pk;
            json_t *ps;
            json_object_foreach(x, pk, ps)
            {
                if (!schema_supported(ps))
                    return false;
            }
        }
    }
    return true;
}
