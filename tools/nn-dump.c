/*
 * nn-dump: print any record stream as JSON Lines, one object per
 * record, for jq and for eyes.  A tensor's data is replaced by a
 * summary (bytes, min, max, mean) unless --data requests the values.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn_cli.h"
#include "nn_err.h"
#include "nn_input.h"
#include "nn_io.h"
#include "nn_record.h"

static const char usage[] =
    "Usage: nn-dump [OPTION]... [FILE]...\n"
    "Print each record as one line of JSON.  Tensor data is summarised\n"
    "as {\"bytes\", \"min\", \"max\", \"mean\"}; non-finite numbers are\n"
    "printed as the strings \"NaN\", \"Infinity\" and \"-Infinity\".\n"
    "\n"
    "  -d, --data             print tensor data as a flat array of numbers\n";

static int show_data;

static void put_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void put_double(double v)
{
    if (isnan(v))
        fputs("\"NaN\"", stdout);
    else if (isinf(v))
        fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", stdout);
    else
        printf("%.17g", v);
}

static double element(const nn_tensor *t, size_t i)
{
    switch (t->dtype) {
    case NN_U8:
        return ((const uint8_t *)t->data)[i];
    case NN_I32: {
        int32_t v;
        memcpy(&v, (const char *)t->data + 4 * i, 4);
        return v;
    }
    case NN_F32: {
        float v;
        memcpy(&v, (const char *)t->data + 4 * i, 4);
        return v;
    }
    default: {
        double v;
        memcpy(&v, (const char *)t->data + 8 * i, 8);
        return v;
    }
    }
}

/* Print the data of a map that contains a valid tensor. */
static void put_tensor_data(const nn_tensor *t)
{
    size_t n = t->n_bytes / nn_dtype_size(t->dtype);

    if (show_data) {
        putchar('[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                putchar(',');
            put_double(element(t, i));
        }
        putchar(']');
        return;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = element(t, i);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    printf("{\"bytes\":%zu,\"min\":", t->n_bytes);
    put_double(n ? lo : 0);
    fputs(",\"max\":", stdout);
    put_double(n ? hi : 0);
    fputs(",\"mean\":", stdout);
    put_double(n ? sum / n : 0);
    putchar('}');
}

static void put_object(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        fputs("null", stdout);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs(o->via.boolean ? "true" : "false", stdout);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        printf("%llu", (unsigned long long)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        printf("%lld", (long long)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        put_double(o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        put_string(o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        printf("{\"bytes\":%u}", o->via.bin.size);
        break;
    case MSGPACK_OBJECT_EXT:
        /* not via.bin: the ext struct puts its type byte first */
        printf("{\"bytes\":%u}", o->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        putchar('[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                putchar(',');
            put_object(&o->via.array.ptr[i]);
        }
        putchar(']');
        break;
    case MSGPACK_OBJECT_MAP: {
        nn_tensor t;
        char err[160];
        int is_tensor = nn_map_get(o, "dtype") &&
                        nn_field_tensor(o, &t, err, sizeof err) == 0;
        putchar('{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (i)
                putchar(',');
            if (kv->key.type == MSGPACK_OBJECT_STR) {
                put_string(kv->key.via.str.ptr, kv->key.via.str.size);
            } else {
                /* Records only use string keys; flag any other. */
                fputs("\"?\"", stdout);
            }
            putchar(':');
            if (is_tensor && kv->val.type == MSGPACK_OBJECT_BIN &&
                kv->key.type == MSGPACK_OBJECT_STR &&
                kv->key.via.str.size == 4 &&
                memcmp(kv->key.via.str.ptr, "data", 4) == 0)
                put_tensor_data(&t);
            else
                put_object(&kv->val);
        }
        putchar('}');
        break;
    }
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", no_argument, NULL, 'd'},
        NN_CLI_COMMON_LONG,
        {NULL, 0, NULL, 0}
    };
    nn_input in;
    int c;

    nn_cli_init(argc, argv, usage);
    while ((c = getopt_long(argc, argv, ":d" NN_CLI_COMMON_SHORT, longopts,
                            NULL)) != -1) {
        if (c == 'd')
            show_data = 1;
        else
            nn_cli_common(c);
    }
    nn_input_init(&in, argv + optind, argc - optind);
    while (nn_input_next(&in) > 0) {
        put_object(in.r.obj);
        putchar('\n');
    }
    nn_input_free(&in);
    return 0;
}
