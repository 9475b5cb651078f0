/* The X12 reader's compiled core: the byte-level work of claimback.x12 in one pass per piece.
 *
 * claimback.x12.core drives it; the Polars code in tokenize.py / structure.py / remit.py /
 * claims837.py is the reference implementation it must equal (tests/x12/test_core.py compares
 * every table).
 *
 *   isa_starts(text)      -> every ISA that opens an interchange, with its separators
 *                            (tokenize.isa_starts; ASCII text only)
 *   Scan(runs, seen, st_before, clp_before, clm_before)
 *       runs: [(file_id, offset, text, element, terminator, component, repetition)], in file
 *       order; text must be ASCII (character offsets are byte offsets), else ValueError and the
 *       caller reads the piece with the reference path. Splits the runs into segments exactly as
 *       tokenize._tokenize does and gives each row its transaction set, interchange, group and
 *       CLP/CLM ordinal as structure.with_context / reader._context do.
 *   .counts()             -> (segments, ST, CLP, CLM) of the piece
 *   .context(which, txns) -> the segment frame: every row, the rows of some sets, or the rows the
 *                            envelope checks read
 *   .transactions()       -> one row per set: structure.transaction_info
 *   .hashes()             -> one row per set: its content hash (structure.transaction_hashes)
 *   .remit(txns, specs)   -> the 835 sets `txns` (sorted int64 bytes): per segment id asked for,
 *                            the rows with remit.with_loops' columns and elements e1..eN as
 *                            fields.with_elements splits them; and "claims", "lines", "adjustments":
 *                            remit.claim_rows, service_line_rows, adjustment_rows
 *   .claims837(txns, specs) -> the 837 sets: per segment id, claims837.with_loops' columns + elements
 *   .close()              -> frees the rows and lets go of the texts
 *
 * Results cross into Polars through the Arrow C data interface (__arrow_c_array__), so neither
 * pyarrow nor numpy is imported. The heavy loops run without the GIL: the reader's two worker
 * threads build two pieces at once.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE /* memmem */
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>
#include <dlfcn.h>

#define KEY_SPAN (((int64_t)1) << 40)

/* ---- Arrow C data interface (https://arrow.apache.org/docs/format/CDataInterface.html) ---- */

#define ARROW_FLAG_NULLABLE 2

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

/* ---- buffers: large ones straight from mmap ----
 * Sized once from counts taken first (no growth in the usual case) and mapped rather than taken
 * from the heap: glibc raises its mmap threshold after each large free, so buffers of a few MB
 * allocated and freed piece after piece otherwise fragment the heap (measured: +140 MB of peak
 * on the 57 MB file). Pages reserved but never written cost no memory (until the cache below
 * hands a written one out again). */

#define BIG ((size_t)1 << 16)
#define HEAD 16 /* keeps the data 16-byte aligned */

/* Mapped buffers let go are kept (up to CACHE_BYTES) and handed out again for a request of the
 * same size class: a fresh mapping costs a page fault and a zeroed page per 4 KB touched, which
 * was a third of the 835 rows' time and, with the rows of every piece, ~15% of a large file's CPU.
 * Buffers are let go by Polars' threads too (the Arrow release callbacks): hence the lock. */
#define CACHE_SLOTS 64
#define CACHE_BYTES ((size_t)16 << 20)
static struct { char *p; size_t size; } cache[CACHE_SLOTS];
static size_t cache_bytes;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* the size mapped for `total` bytes: whole pages, rounded up to 1, 1.25, 1.5 or 1.75 times a power of two */
static size_t size_class(size_t total) {
    size_t pages = (total + 4095) >> 12, top = 1;
    while ((top << 1) <= pages) top <<= 1;
    size_t step = top >= 4 ? top / 4 : 1, cls = top;
    while (cls < pages) cls += step;
    return cls << 12;
}

static void *buf_alloc(size_t n) {
    size_t total = n + HEAD;
    char *p = NULL;
    if (total >= BIG) {
        total = size_class(total);
        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (cache[i].p && cache[i].size == total) {
                p = cache[i].p;
                cache[i].p = NULL;
                cache_bytes -= total;
                break;
            }
        }
        pthread_mutex_unlock(&cache_lock);
        if (!p) {
            p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) return NULL;
        }
    } else {
        p = malloc(total);
        if (!p) return NULL;
    }
    *(size_t *)p = total;
    return p + HEAD;
}

static void buf_free(void *q) {
    if (!q) return;
    char *p = (char *)q - HEAD;
    size_t total = *(size_t *)p;
    if (total < BIG) { free(p); return; }
    pthread_mutex_lock(&cache_lock);
    if (cache_bytes + total <= CACHE_BYTES) {
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (!cache[i].p) {
                cache[i].p = p;
                cache[i].size = total;
                cache_bytes += total;
                p = NULL;
                break;
            }
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (p) munmap(p, total);
}

static void *buf_realloc(void *q, size_t old, size_t n) {
    void *r = buf_alloc(n);
    if (!r) return NULL;
    if (q) {
        memcpy(r, q, old < n ? old : n);
        buf_free(q);
    }
    return r;
}

/* ---- columns, each with a validity bitmap: int64 'l', utf8 'u', the contract's money 'd'
 * (decimal128 with scale 2: cents), date32 'D' (days since 1970-01-01) and list of utf8 'L'
 * (offsets here, its strings in `child`) ---- */

typedef struct Col {
    char kind;
    char *name;
    int64_t length, cap, null_count;
    int64_t *i64; /* the values of a fixed-width kind ('l', 'd': two int64 each, 'D': int32) */
    int32_t *offsets;
    char *data;
    int64_t data_len, data_cap;
    uint8_t *valid;
    struct Col *child; /* 'L': the strings of every list */
    int failed; /* an allocation failed */
} Col;

static inline size_t col_width(char kind) { return kind == 'd' ? 16 : kind == 'D' ? 4 : 8; }
static inline int col_fixed(char kind) { return kind == 'l' || kind == 'd' || kind == 'D'; }

static void col_free(Col *c);

static void col_init(Col *c, char kind, const char *name) {
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->name = strdup(name);
    if (!c->name) c->failed = 1;
    if (kind == 'L') {
        c->child = calloc(1, sizeof(Col));
        if (c->child) col_init(c->child, 'u', "item");
        else c->failed = 1;
    }
}

static void col_free(Col *c) {
    free(c->name);
    buf_free(c->i64);
    buf_free(c->offsets);
    buf_free(c->data);
    buf_free(c->valid);
    if (c->child) { col_free(c->child); free(c->child); }
    memset(c, 0, sizeof(*c));
}

static int col_resize(Col *c, int64_t cap) {
    size_t old_bits = (size_t)((c->cap + 7) / 8), bits = (size_t)((cap + 7) / 8);
    uint8_t *valid = buf_realloc(c->valid, old_bits, bits);
    if (!valid) { c->failed = 1; return 0; }
    memset(valid + old_bits, 0, bits - old_bits);
    c->valid = valid;
    if (col_fixed(c->kind)) {
        size_t w = col_width(c->kind);
        int64_t *v = buf_realloc(c->i64, (size_t)c->cap * w, (size_t)cap * w);
        if (!v) { c->failed = 1; return 0; }
        c->i64 = v;
    } else {
        int first = c->offsets == NULL;
        int32_t *o = buf_realloc(c->offsets, (size_t)(c->cap + 1) * sizeof(int32_t), (size_t)(cap + 1) * sizeof(int32_t));
        if (!o) { c->failed = 1; return 0; }
        if (first) o[0] = 0;
        c->offsets = o;
    }
    c->cap = cap;
    return 1;
}

/* room for `rows` values and `bytes` of text, taken once */
static void col_reserve(Col *c, int64_t rows, int64_t bytes) {
    if (rows > c->cap) col_resize(c, rows);
    if (c->kind == 'u' && bytes > c->data_cap) {
        char *d = buf_realloc(c->data, (size_t)c->data_len, (size_t)bytes);
        if (!d) { c->failed = 1; return; }
        c->data = d;
        c->data_cap = bytes;
    }
}

/* A column reserved far beyond its length, cut to size: integer columns are handed to Polars
 * without a copy and kept in the tables until they are written, slack and all (and a buffer from
 * the cache has its slack in memory). */
static void col_shrink(Col *c) {
    if (!col_fixed(c->kind) || c->cap <= c->length + c->length / 4 + 1024) return;
    size_t w = col_width(c->kind), bits = (size_t)((c->length + 7) / 8);
    int64_t *v = buf_alloc((size_t)c->length * w + 16);
    uint8_t *valid = buf_alloc(bits + 16);
    if (!v || !valid) { buf_free(v); buf_free(valid); return; } /* keeps the larger buffers */
    memcpy(v, c->i64, (size_t)c->length * w);
    memcpy(valid, c->valid, bits);
    buf_free(c->i64);
    buf_free(c->valid);
    c->i64 = v;
    c->valid = valid;
    c->cap = c->length;
}

static int col_grow(Col *c) {
    if (c->length < c->cap) return 1;
    return col_resize(c, c->cap ? c->cap * 2 : 1024);
}

static inline void col_set_valid(Col *c) { c->valid[c->length >> 3] |= (uint8_t)(1u << (c->length & 7)); }

static void col_i64(Col *c, int64_t v) {
    if (!col_grow(c)) return;
    c->i64[c->length] = v;
    col_set_valid(c);
    c->length++;
}

static void col_null(Col *c) {
    if (!col_grow(c)) return;
    if (col_fixed(c->kind)) memset((char *)c->i64 + (size_t)c->length * col_width(c->kind), 0, col_width(c->kind));
    else c->offsets[c->length + 1] = c->offsets[c->length];
    c->null_count++;
    c->length++;
}

static void col_str(Col *c, const char *s, int64_t n) {
    if (!col_grow(c)) return;
    if (c->data_len + n > c->data_cap) {
        int64_t cap = c->data_cap ? c->data_cap : 4096;
        while (cap < c->data_len + n) cap *= 2;
        char *d = buf_realloc(c->data, (size_t)c->data_len, (size_t)cap);
        if (!d) { c->failed = 1; return; }
        c->data = d;
        c->data_cap = cap;
    }
    if (c->data_len + n > INT32_MAX) { c->failed = 1; return; }
    memcpy(c->data + c->data_len, s, (size_t)n);
    c->data_len += n;
    c->offsets[c->length + 1] = (int32_t)c->data_len;
    col_set_valid(c);
    c->length++;
}

static void col_opt_i64(Col *c, int64_t v) { /* 0 or less is null (ordinals count from 1) */
    if (v > 0) col_i64(c, v); else col_null(c);
}

static void col_cents(Col *c, int64_t cents) { /* decimal128: the low word, then the sign */
    if (!col_grow(c)) return;
    c->i64[2 * c->length] = cents;
    c->i64[2 * c->length + 1] = cents < 0 ? -1 : 0;
    col_set_valid(c);
    c->length++;
}

static void col_days(Col *c, int32_t days) {
    if (!col_grow(c)) return;
    ((int32_t *)c->i64)[c->length] = days;
    col_set_valid(c);
    c->length++;
}

/* a list of utf8: its strings are added to c->child first, then the list is closed */
static void col_close_list(Col *c) {
    if (!col_grow(c)) return;
    if (c->child->length > INT32_MAX) { c->failed = 1; return; }
    c->offsets[c->length + 1] = (int32_t)c->child->length;
    col_set_valid(c);
    c->length++;
}

/* ---- a table: columns exported once as an Arrow struct array ---- */

typedef struct {
    PyObject_HEAD
    Col *cols;
    int ncols;
    int64_t length;
    int single; /* exported as the column itself, not a struct of one */
} TableObject;

static PyTypeObject TableType;

static void child_schema_release(struct ArrowSchema *s) {
    for (int64_t i = 0; i < s->n_children; i++) {
        if (s->children[i]->release) s->children[i]->release(s->children[i]);
        free(s->children[i]);
    }
    free(s->children);
    free((void *)s->name);
    s->release = NULL;
}

static void struct_schema_release(struct ArrowSchema *s) {
    for (int64_t i = 0; i < s->n_children; i++) {
        if (s->children[i]->release) s->children[i]->release(s->children[i]);
        free(s->children[i]);
    }
    free(s->children);
    s->release = NULL;
}

static void child_array_release(struct ArrowArray *a) {
    for (int64_t i = 0; i < a->n_children; i++) {
        if (a->children[i]->release) a->children[i]->release(a->children[i]);
        free(a->children[i]);
    }
    free(a->children);
    Col *c = (Col *)a->private_data;
    col_free(c);
    free(c);
    free(a->buffers);
    a->release = NULL;
}

/* Move column `src` into an exported schema and array (src is left empty); 0 when out of memory. */
static int export_col(Col *src, struct ArrowSchema *cs, struct ArrowArray *ca) {
    Col *own = malloc(sizeof(Col));
    const void **bufs = calloc(3, sizeof(void *));
    if (!own || !bufs) { free(own); free(bufs); return 0; }
    *own = *src;
    memset(src, 0, sizeof(*src));
    if ((own->kind == 'u' || own->kind == 'L') && !own->offsets) { /* an empty column still needs offsets[0] */
        own->offsets = buf_alloc(sizeof(int32_t));
        if (own->offsets) own->offsets[0] = 0;
    }
    cs->format = own->kind == 'l' ? "l" : own->kind == 'u' ? "u" : own->kind == 'd' ? "d:12,2"
               : own->kind == 'D' ? "tdD" : "+l";
    cs->name = strdup(own->name ? own->name : "");
    cs->flags = ARROW_FLAG_NULLABLE;
    cs->release = child_schema_release;
    ca->length = own->length;
    ca->null_count = own->null_count;
    ca->n_buffers = own->kind == 'u' ? 3 : 2;
    bufs[0] = own->null_count ? own->valid : NULL;
    if (col_fixed(own->kind)) bufs[1] = own->i64;
    else { bufs[1] = own->offsets; bufs[2] = own->data; }
    ca->buffers = bufs;
    ca->release = child_array_release;
    ca->private_data = own;
    if (own->kind == 'L') { /* its strings as the one child, owned by that child */
        cs->children = calloc(1, sizeof(void *));
        ca->children = calloc(1, sizeof(void *));
        struct ArrowSchema *gs = calloc(1, sizeof(*gs));
        struct ArrowArray *ga = calloc(1, sizeof(*ga));
        Col *strings = own->child;
        own->child = NULL;
        if (!cs->children || !ca->children || !gs || !ga || !strings || !export_col(strings, gs, ga)) {
            free(gs); free(ga);
            if (strings) { col_free(strings); free(strings); }
            return 0; /* the caller releases what was made */
        }
        free(strings);
        cs->children[0] = gs;
        ca->children[0] = ga;
        cs->n_children = ca->n_children = 1;
    }
    return 1;
}

static void struct_array_release(struct ArrowArray *a) {
    for (int64_t i = 0; i < a->n_children; i++) {
        if (a->children[i]->release) a->children[i]->release(a->children[i]);
        free(a->children[i]);
    }
    free(a->children);
    free(a->buffers);
    a->release = NULL;
}

static void schema_capsule_free(PyObject *cap) {
    struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");
    if (s) {
        if (s->release) s->release(s);
        free(s);
    }
}

static void array_capsule_free(PyObject *cap) {
    struct ArrowArray *a = PyCapsule_GetPointer(cap, "arrow_array");
    if (a) {
        if (a->release) a->release(a);
        free(a);
    }
}

static PyObject *table_new(Col *cols, int ncols, int64_t length) {
    TableObject *t = PyObject_New(TableObject, &TableType);
    if (!t) return NULL;
    t->cols = cols;
    t->ncols = ncols;
    t->length = length;
    t->single = 0;
    return (PyObject *)t;
}

static void table_dealloc(TableObject *t) {
    if (t->cols) {
        for (int i = 0; i < t->ncols; i++) col_free(&t->cols[i]);
        free(t->cols);
    }
    PyObject_Free(t);
}

static PyObject *table_arrow(TableObject *t, PyObject *args, PyObject *kw) {
    if (!t->cols) {
        PyErr_SetString(PyExc_RuntimeError, "a core table can be exported once");
        return NULL;
    }
    int n = t->ncols;
    struct ArrowSchema *schema = calloc(1, sizeof(*schema));
    struct ArrowArray *array = calloc(1, sizeof(*array));
    struct ArrowSchema **schild = calloc((size_t)n + 1, sizeof(void *));
    struct ArrowArray **achild = calloc((size_t)n + 1, sizeof(void *));
    const void **sbuf = calloc(1, sizeof(void *));
    if (!schema || !array || !schild || !achild || !sbuf) goto nomem;
    for (int i = 0; i < n; i++) {
        schild[i] = calloc(1, sizeof(struct ArrowSchema));
        achild[i] = calloc(1, sizeof(struct ArrowArray));
        if (!schild[i] || !achild[i]) goto nomem;
    }
    for (int i = 0; i < n; i++) {
        if (!export_col(&t->cols[i], schild[i], achild[i])) goto nomem;
    }
    if (t->single) { /* the one column alone: Polars holds each column's buffers on their own */
        struct ArrowSchema *cs = schild[0];
        struct ArrowArray *ca = achild[0];
        free(schema); free(array); free(schild); free(achild); free(sbuf);
        free(t->cols);
        t->cols = NULL;
        PyObject *sc1 = PyCapsule_New(cs, "arrow_schema", schema_capsule_free);
        if (!sc1) { cs->release(cs); free(cs); ca->release(ca); free(ca); return NULL; }
        PyObject *ac1 = PyCapsule_New(ca, "arrow_array", array_capsule_free);
        if (!ac1) { Py_DECREF(sc1); ca->release(ca); free(ca); return NULL; }
        PyObject *out1 = PyTuple_Pack(2, sc1, ac1);
        Py_DECREF(sc1);
        Py_DECREF(ac1);
        return out1;
    }
    schema->format = "+s";
    schema->name = "";
    schema->n_children = n;
    schema->children = schild;
    schema->release = struct_schema_release;
    array->length = t->length;
    array->n_buffers = 1;
    array->buffers = sbuf;
    array->n_children = n;
    array->children = achild;
    array->release = struct_array_release;
    free(t->cols);
    t->cols = NULL;
    PyObject *sc = PyCapsule_New(schema, "arrow_schema", schema_capsule_free);
    if (!sc) { schema->release(schema); free(schema); array->release(array); free(array); return NULL; }
    PyObject *ac = PyCapsule_New(array, "arrow_array", array_capsule_free);
    if (!ac) { Py_DECREF(sc); array->release(array); free(array); return NULL; }
    PyObject *out = PyTuple_Pack(2, sc, ac);
    Py_DECREF(sc);
    Py_DECREF(ac);
    return out;
nomem: /* columns already moved out are released with their buffers */
    if (schild) for (int i = 0; i < n; i++) { if (schild[i] && schild[i]->release) schild[i]->release(schild[i]); free(schild[i]); }
    if (achild) for (int i = 0; i < n; i++) { if (achild[i] && achild[i]->release) achild[i]->release(achild[i]); free(achild[i]); }
    free(schema); free(array); free(schild); free(achild); free(sbuf);
    return PyErr_NoMemory();
}

static PyObject *table_len(TableObject *t, PyObject *unused) { return PyLong_FromLongLong(t->length); }

/* [(name, column)]: each column exported on its own. A struct's children are released together,
 * so one zero-copy integer column kept by Polars would keep every text column's buffers alive
 * (measured: ~3x the frame's size held per piece). */
static PyObject *table_columns(TableObject *t, PyObject *unused) {
    if (!t->cols) {
        PyErr_SetString(PyExc_RuntimeError, "a core table can be exported once");
        return NULL;
    }
    PyObject *out = PyList_New(t->ncols);
    if (!out) return NULL;
    for (int i = 0; i < t->ncols; i++) {
        Col *one = calloc(1, sizeof(Col));
        if (!one) { Py_DECREF(out); return PyErr_NoMemory(); }
        *one = t->cols[i];
        memset(&t->cols[i], 0, sizeof(Col));
        PyObject *name = PyUnicode_FromString(one->name ? one->name : "");
        TableObject *col = (TableObject *)table_new(one, 1, one->length);
        if (!col || !name) {
            Py_XDECREF(name);
            if (col) Py_DECREF(col); else { col_free(one); free(one); }
            Py_DECREF(out);
            return NULL;
        }
        col->single = 1;
        PyList_SET_ITEM(out, i, Py_BuildValue("NN", name, (PyObject *)col));
    }
    for (int i = 0; i < t->ncols; i++) col_free(&t->cols[i]);
    free(t->cols);
    t->cols = NULL;
    return out;
}

static PyMethodDef table_methods[] = {
    {"__arrow_c_array__", (PyCFunction)(void (*)(void))table_arrow, METH_VARARGS | METH_KEYWORDS, NULL},
    {"rows", (PyCFunction)table_len, METH_NOARGS, NULL},
    {"columns", (PyCFunction)table_columns, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "claimback.x12._core.Table",
    .tp_basicsize = sizeof(TableObject),
    .tp_dealloc = (destructor)table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Columns built by the core, handed to Polars once through __arrow_c_array__.",
    .tp_methods = table_methods,
};

/* ---- the scan ---- */

typedef struct {
    int64_t file_id, offset;
    const char *text;
    Py_ssize_t len;
    char elem, term, comp0;
    char rep0; /* 0: none */
} RunIn;

typedef struct { /* one segment */
    const char *p;           /* the segment's text (stripped), inside its run's text */
    int64_t len;
    int64_t offset;          /* character offset of the piece in its file */
    int64_t seg_index, txn, isa_seq, gs_seq, clp, clm;
    int32_t run;
    uint32_t code;           /* the segment id packed (tag_code), 0 when longer than 3 characters */
    int16_t tag_start, tag_len; /* the segment id, within p */
    char comp, rep;          /* rep 0: none ("") */
} Row;

/* A segment id of up to three characters as one integer, so comparing ids is one instruction. */
#define CODE(a, b, c, n) (((uint32_t)(n) << 24) | ((uint32_t)(unsigned char)(a) << 16) | \
                          ((uint32_t)(unsigned char)(b) << 8) | (uint32_t)(unsigned char)(c))
static inline uint32_t tag_code(const char *t, int n) {
    if (n < 1 || n > 3) return 0;
    return CODE(t[0], n > 1 ? t[1] : 0, n > 2 ? t[2] : 0, n);
}
#define T_ISA CODE('I', 'S', 'A', 3)
#define T_GS CODE('G', 'S', 0, 2)
#define T_GE CODE('G', 'E', 0, 2)
#define T_IEA CODE('I', 'E', 'A', 3)
#define T_TA1 CODE('T', 'A', '1', 3)
#define T_ST CODE('S', 'T', 0, 2)
#define T_SE CODE('S', 'E', 0, 2)
#define T_CLP CODE('C', 'L', 'P', 3)
#define T_CLM CODE('C', 'L', 'M', 3)
#define T_SVC CODE('S', 'V', 'C', 3)
#define T_LX CODE('L', 'X', 0, 2)
#define T_PLB CODE('P', 'L', 'B', 3)
#define T_CAS CODE('C', 'A', 'S', 3)
#define T_DTM CODE('D', 'T', 'M', 3)
#define T_AMT CODE('A', 'M', 'T', 3)
#define T_REF CODE('R', 'E', 'F', 3)
#define T_NM1 CODE('N', 'M', '1', 3)

typedef struct {
    PyObject_HEAD
    PyObject *texts; /* keeps the run texts alive: rows point into them */
    RunIn *runs;
    Py_ssize_t nruns;
    Row *rows;
    int64_t nrows, cap;
    int64_t n_st, n_clp, n_clm;
} ScanObject;

static PyTypeObject ScanType;

static inline int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; }
static inline int is_alnum(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static inline int is_regex_space(char c) { /* \s of the Rust regex crate, ASCII part */
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static inline int tag_is(const Row *r, uint32_t code) { return r->code == code; }

/* ISA12 (`n` characters at `v`) names version 00501 or later: ISA11 is then the repetition separator */
static inline int version_has_repetition(const char *v, int64_t n) {
    if (n <= 0) return 0;
    int c = memcmp(v, "00501", (size_t)(n < 5 ? n : 5));
    return c > 0 || (c == 0 && n >= 5);
}

/* the n-th element (0 = the id) of a segment: pointer and length, or -1 when absent */
static inline int64_t element_at(const char *p, int64_t len, char sep, int k, const char **out) {
    int64_t i = 0;
    for (int e = 0; e < k; e++) {
        const char *q = memchr(p + i, sep, (size_t)(len - i));
        if (!q) return -1;
        i = (q - p) + 1;
    }
    const char *q = memchr(p + i, sep, (size_t)(len - i));
    int64_t end = q ? (q - p) : len;
    *out = p + i;
    return end - i;
}

static int scan_rows(ScanObject *s, int64_t seen, int64_t st_before, int64_t clp_before, int64_t clm_before) {
    int64_t file = -1, pos = 0, n_st = 0, n_isa = 0, n_gs = 0, n_clp = 0, n_clm = 0;
    int64_t txn = 0;
    int prev_se = 0;
    /* at most one row per terminator (plus one per run): room for them all, taken once */
    int64_t most = 0;
    for (Py_ssize_t r = 0; r < s->nruns; r++) {
        const char *t = s->runs[r].text, *end = t + s->runs[r].len, *q = t;
        most++;
        while ((q = memchr(q, s->runs[r].term, (size_t)(end - q))) != NULL) { most++; q++; }
    }
    s->rows = buf_alloc((size_t)most * sizeof(Row));
    if (!s->rows) return 0;
    s->cap = most;
    for (Py_ssize_t r = 0; r < s->nruns; r++) {
        const RunIn *run = &s->runs[r];
        const char *t = run->text;
        int64_t L = run->len, start = 0;
        char comp = run->comp0, rep = run->rep0;
        while (start <= L) {
            const char *q = start < L ? memchr(t + start, run->term, (size_t)(L - start)) : NULL;
            int64_t end = q ? (q - t) : L;
            int64_t a = start, b = end;
            while (a < b && is_ws(t[a])) a++;
            while (b > a && is_ws(t[b - 1])) b--;
            if (b > a) {
                if (s->nrows == s->cap) {
                    int64_t cap = s->cap ? s->cap * 2 : 4096;
                    Row *rows = buf_realloc(s->rows, (size_t)s->cap * sizeof(Row), (size_t)cap * sizeof(Row));
                    if (!rows) return 0;
                    s->rows = rows;
                    s->cap = cap;
                }
                Row *row = &s->rows[s->nrows++];
                row->p = t + a;
                row->len = b - a;
                row->offset = run->offset + start;
                row->run = (int32_t)r;
                /* the id: text before the first element separator, spaces stripped */
                const char *sep = memchr(row->p, run->elem, (size_t)row->len);
                int64_t ts = 0, te = sep ? (sep - row->p) : row->len;
                while (ts < te && row->p[ts] == ' ') ts++;
                while (te > ts && row->p[te - 1] == ' ') te--;
                if (ts > INT16_MAX) ts = te = 0; /* not an id anyone reads: the set is rejected on it */
                if (te - ts > INT16_MAX) te = ts + INT16_MAX;
                row->tag_start = (int16_t)ts;
                row->tag_len = (int16_t)(te - ts);
                row->code = tag_code(row->p + ts, (int)(te - ts));
                int first_of_file = run->file_id != file;
                if (first_of_file) {
                    file = run->file_id;
                    pos = n_st = n_isa = n_gs = n_clp = n_clm = 0;
                }
                int64_t base = file * KEY_SPAN;
                row->seg_index = base + seen + pos++;
                int is_isa = tag_is(row, T_ISA);
                if (is_isa) {
                    /* ISA16 (component) and ISA11 (repetition, 5010) of this interchange */
                    const char *e;
                    int64_t n16 = element_at(row->p, row->len, run->elem, 16, &e);
                    if (n16 > 0) comp = e[0];
                    const char *e11, *e12;
                    int64_t n11 = element_at(row->p, row->len, run->elem, 11, &e11);
                    int64_t n12 = element_at(row->p, row->len, run->elem, 12, &e12);
                    int ok = n11 == 1 && !is_alnum(e11[0]) && !is_regex_space(e11[0]) &&
                             version_has_repetition(e12, n12);
                    rep = ok ? e11[0] : 0;
                    n_isa++;
                }
                row->comp = comp;
                row->rep = rep;
                if (tag_is(row, T_GS)) n_gs++;
                if (tag_is(row, T_ST)) {
                    n_st++;
                    txn = base + st_before + n_st;
                } else if (is_isa || tag_is(row, T_GS) || tag_is(row, T_GE) || tag_is(row, T_IEA) ||
                           tag_is(row, T_TA1) || prev_se || first_of_file) {
                    txn = 0;
                }
                row->txn = txn;
                row->isa_seq = base + n_isa;
                row->gs_seq = base + n_gs;
                if (tag_is(row, T_CLP)) { n_clp++; s->n_clp++; row->clp = base + clp_before + n_clp; }
                else row->clp = 0;
                if (tag_is(row, T_CLM)) { n_clm++; s->n_clm++; row->clm = base + clm_before + n_clm; }
                else row->clm = 0;
                if (tag_is(row, T_ST)) s->n_st++;
                prev_se = tag_is(row, T_SE);
            }
            if (!q) break;
            start = end + 1;
        }
    }
    return 1;
}

static int parse_runs(ScanObject *s, PyObject *runs) {
    PyObject *seq = PySequence_Fast(runs, "runs must be a sequence");
    if (!seq) return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    s->runs = calloc((size_t)n + 1, sizeof(RunIn));
    s->texts = PyList_New(n);
    if (!s->runs || !s->texts) { Py_DECREF(seq); PyErr_NoMemory(); return 0; }
    s->nruns = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        long long fid, off;
        PyObject *text;
        const char *el, *term, *comp, *rep;
        Py_ssize_t nel, nterm, ncomp, nrep;
        if (!PyArg_ParseTuple(item, "LLUs#s#s#s#", &fid, &off, &text, &el, &nel, &term, &nterm, &comp, &ncomp,
                              &rep, &nrep)) {
            Py_DECREF(seq);
            return 0;
        }
        if (!PyUnicode_IS_ASCII(text)) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "not ASCII: read with the reference path");
            return 0;
        }
        if (nel != 1 || nterm != 1 || ncomp != 1 || nrep > 1) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "separators must be single characters");
            return 0;
        }
        Py_INCREF(text);
        PyList_SET_ITEM(s->texts, i, text);
        RunIn *r = &s->runs[i];
        r->file_id = fid;
        r->offset = off;
        r->text = (const char *)PyUnicode_DATA(text);
        r->len = PyUnicode_GET_LENGTH(text);
        r->elem = el[0];
        r->term = term[0];
        r->comp0 = comp[0];
        r->rep0 = nrep ? rep[0] : 0;
    }
    Py_DECREF(seq);
    return 1;
}

static int scan_init(ScanObject *s, PyObject *args, PyObject *kw) {
    PyObject *runs;
    long long seen = 0, st_before = 0, clp_before = 0, clm_before = 0;
    if (!PyArg_ParseTuple(args, "O|LLLL", &runs, &seen, &st_before, &clp_before, &clm_before)) return -1;
    if (!parse_runs(s, runs)) return -1;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = scan_rows(s, seen, st_before, clp_before, clm_before);
    Py_END_ALLOW_THREADS
    if (!ok) { PyErr_NoMemory(); return -1; }
    return 0;
}

static void scan_dealloc(ScanObject *s) {
    Py_XDECREF(s->texts);
    free(s->runs);
    buf_free(s->rows);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static Col *cols_new(int n) { return calloc((size_t)n, sizeof(Col)); }

static int cols_failed(Col *c, int n) {
    for (int i = 0; i < n; i++) if (c[i].failed || (c[i].child && c[i].child->failed)) return 1;
    return 0;
}

static PyObject *finish_table(Col *cols, int n, int64_t length) {
    if (cols_failed(cols, n)) {
        for (int i = 0; i < n; i++) col_free(&cols[i]);
        free(cols);
        return PyErr_NoMemory();
    }
    PyObject *t = table_new(cols, n, length);
    if (!t) { for (int i = 0; i < n; i++) col_free(&cols[i]); free(cols); }
    return t;
}

/* Whether a sorted array of wanted transaction sets holds `txn`; rows come in set order, so the
 * cursor only moves forward. */
typedef struct { const int64_t *want; Py_ssize_t n, at; } Wanted;

static inline int wanted(Wanted *w, int64_t txn) {
    if (txn <= 0) return 0;
    while (w->at < w->n && w->want[w->at] < txn) w->at++;
    return w->at < w->n && w->want[w->at] == txn;
}

static inline int is_envelope_tag(const Row *r) {
    return tag_is(r, T_ISA) || tag_is(r, T_GS) || tag_is(r, T_GE) || tag_is(r, T_IEA) || tag_is(r, T_TA1);
}

/* ---- which interchanges structure.envelope_findings can find something in ----
 * Its group and interchange rules compare GE01 with the group's ST count, GE02 with GS06, IEA01
 * with the interchange's GS count and IEA02 with ISA13 (leading and trailing zeros aside). An
 * interchange whose values agree, all plain, has no such finding, so its rows need not reach
 * Polars; any other shape (a missing or doubled ISA or IEA, a count that is not digits, a segment
 * outside every set) keeps its rows, and a group split across interchanges every row. */

typedef struct { const char *p; int64_t n; } Text; /* an element, spaces stripped; n < 0: null */

static Text env_element(const ScanObject *s, const Row *r, int k) {
    const char *v;
    int64_t n = element_at(r->p, r->len, s->runs[r->run].elem, k, &v);
    Text t = {NULL, -1};
    if (n < 0) return t;
    while (n > 0 && *v == ' ') { v++; n--; }
    while (n > 0 && v[n - 1] == ' ') n--;
    if (n > 0) { t.p = v; t.n = n; }
    return t;
}

static int count_is(Text t, int64_t count) { /* the element is digits giving `count` */
    if (t.n < 1 || t.n > 18) return 0;
    int64_t v = 0;
    for (int64_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9') return 0;
        v = v * 10 + (t.p[i] - '0');
    }
    return v == count;
}

static int same_control(Text a, Text b) { /* both sent and equal once zeros are stripped from both ends */
    if (a.n < 0 || b.n < 0) return 0;
    while (a.n > 0 && *a.p == '0') { a.p++; a.n--; }
    while (a.n > 0 && a.p[a.n - 1] == '0') a.n--;
    while (b.n > 0 && *b.p == '0') { b.p++; b.n--; }
    while (b.n > 0 && b.p[b.n - 1] == '0') b.n--;
    return a.n == b.n && memcmp(a.p, b.p, (size_t)a.n) == 0;
}

static inline int is_stray(const Row *r) { return r->txn == 0 && !is_envelope_tag(r) && !tag_is(r, T_SE); }

/* Whether the interchange of rows [a, b) (one isa_seq) is plain: one ISA, one IEA, every count and
 * control number agreeing. */
static int plain_interchange(const ScanObject *s, int64_t a, int64_t b) {
    int64_t n_isa = 0, n_iea = 0, n_gs = 0;
    const Row *isa = NULL, *iea = NULL;
    for (int64_t i = a; i < b; i++) {
        const Row *r = &s->rows[i];
        if (is_stray(r)) return 0; /* reported per file, its location from this ISA: kept with it */
        if (tag_is(r, T_ISA)) { n_isa++; isa = r; }
        else if (tag_is(r, T_IEA)) { n_iea++; iea = r; }
        else if (tag_is(r, T_GS)) n_gs++;
    }
    if (n_isa != 1 || n_iea != 1) return 0;
    if (!count_is(env_element(s, iea, 1), n_gs) || !same_control(env_element(s, iea, 2), env_element(s, isa, 13)))
        return 0;
    for (int64_t i = a; i < b; i++) {
        const Row *ge = &s->rows[i];
        if (!tag_is(ge, T_GE)) continue;
        const Row *gs = NULL;
        int64_t n_st = 0, n_gs_same = 0;
        for (int64_t j = a; j < b; j++) {
            const Row *r = &s->rows[j];
            if (r->gs_seq != ge->gs_seq) continue;
            if (tag_is(r, T_ST)) n_st++;
            else if (tag_is(r, T_GS)) { gs = r; n_gs_same++; }
        }
        if (n_gs_same != 1 || !count_is(env_element(s, ge, 1), n_st) ||
            !same_control(env_element(s, ge, 2), env_element(s, gs, 6)))
            return 0;
    }
    return 1;
}

/* keep[i]: row i belongs to an interchange envelope_findings may find something in; NULL when
 * every row must be kept. */
static uint8_t *envelope_keep(const ScanObject *s) {
    uint8_t *keep = malloc((size_t)s->nrows + 1);
    if (!keep) return NULL;
    int64_t a = 0, last_gs = -1, last_gs_isa = -1;
    for (int64_t i = 0; i < s->nrows; i++) {
        const Row *r = &s->rows[i];
        /* a group's GS, GE and STs in two interchanges: its counts are not the interchange's own (the
         * rows after a group, the next ISA included, carry its gs_seq, which no rule reads) */
        int grouped = tag_is(r, T_GS) || tag_is(r, T_GE) || tag_is(r, T_ST);
        if (grouped && r->gs_seq == last_gs && r->isa_seq != last_gs_isa) { free(keep); return NULL; }
        if (grouped && r->gs_seq != last_gs) {
            if (r->gs_seq < last_gs) { free(keep); return NULL; }
            last_gs = r->gs_seq;
            last_gs_isa = r->isa_seq;
        }
        if (i > 0 && r->isa_seq < s->rows[i - 1].isa_seq) { free(keep); return NULL; }
        if (i + 1 == s->nrows || s->rows[i + 1].isa_seq != r->isa_seq) { /* the end of an interchange */
            uint8_t k = !plain_interchange(s, a, i + 1);
            memset(keep + a, k, (size_t)(i + 1 - a));
            a = i + 1;
        }
    }
    return keep;
}

/* The segment frame, columns as reader._context returns them (integers as Int64).
 * which: 0 every row; 1 the rows of the sets in `txns`; 2 the rows structure.envelope_findings
 * reads (ISA, GS, GE, IEA, ST, and rows outside any set that are not SE) of the interchanges it
 * may find something in (envelope_keep). */
static PyObject *scan_context(ScanObject *s, PyObject *args) {
    int which = 0;
    Py_buffer txns = {0};
    if (!PyArg_ParseTuple(args, "|iy*", &which, &txns)) return NULL;
    static const char *names[] = {"offset", "tag", "segment", "elem", "comp", "rep", "seg_index", "txn",
                                  "isa_seq", "gs_seq", "clp_ordinal", "clm_ordinal"};
    static const char kinds[] = "luuuuulllll" "l";
    int n = 12;
    Col *c = cols_new(n);
    if (!c) { if (txns.buf) PyBuffer_Release(&txns); return PyErr_NoMemory(); }
    for (int i = 0; i < n; i++) col_init(&c[i], kinds[i], names[i]);
    int64_t rows = 0;
    Py_BEGIN_ALLOW_THREADS
    uint8_t *keep = which == 2 ? envelope_keep(s) : NULL;
    for (int pass = 0; pass < 2; pass++) {
        Wanted w = {txns.buf, txns.buf ? txns.len / (Py_ssize_t)sizeof(int64_t) : 0, 0};
        int64_t text = 0, tags = 0;
        rows = 0;
        for (int64_t i = 0; i < s->nrows; i++) {
            const Row *r = &s->rows[i];
            if (which == 1 && !wanted(&w, r->txn)) continue;
            if (keep && !keep[i]) continue;
            if (which == 2 && !(tag_is(r, T_ISA) || tag_is(r, T_GS) || tag_is(r, T_GE) || tag_is(r, T_IEA) ||
                                tag_is(r, T_ST) || is_stray(r)))
                continue;
            rows++;
            if (pass == 0) { text += r->len; tags += r->tag_len; continue; }
            const RunIn *run = &s->runs[r->run];
            col_i64(&c[0], r->offset);
            col_str(&c[1], r->p + r->tag_start, r->tag_len);
            col_str(&c[2], r->p, r->len);
            col_str(&c[3], &run->elem, 1);
            col_str(&c[4], &r->comp, 1);
            col_str(&c[5], &r->rep, r->rep ? 1 : 0);
            col_i64(&c[6], r->seg_index);
            col_i64(&c[7], r->txn);
            col_i64(&c[8], r->isa_seq);
            col_i64(&c[9], r->gs_seq);
            col_opt_i64(&c[10], r->clp);
            col_opt_i64(&c[11], r->clm);
        }
        if (pass == 0)
            for (int i = 0; i < n; i++) col_reserve(&c[i], rows, i == 1 ? tags : i == 2 ? text : rows);
    }
    free(keep);
    Py_END_ALLOW_THREADS
    if (txns.buf) PyBuffer_Release(&txns);
    return finish_table(c, n, rows);
}

/* element k of a row (1-based), spaces stripped, empty or absent as null: fields.with_elements */
static void col_element(Col *c, const Row *r, char sep, int k) {
    const char *e;
    if (!r) { col_null(c); return; }
    int64_t n = element_at(r->p, r->len, sep, k, &e);
    if (n < 0) { col_null(c); return; }
    while (n > 0 && e[0] == ' ') { e++; n--; }
    while (n > 0 && e[n - 1] == ' ') n--;
    if (n > 0) col_str(c, e, n); else col_null(c);
}

/* X12 segment ids: a capital letter then one or two capitals or digits (structure._TAG_PATTERN) */
static inline int valid_tag(const Row *r) {
    const char *t = r->p + r->tag_start;
    int n = r->tag_len;
    if (n < 2 || n > 3 || !(t[0] >= 'A' && t[0] <= 'Z')) return 0;
    for (int i = 1; i < n; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9'))) return 0;
    return 1;
}

/* One row per transaction set: structure.transaction_info's shape, header, trailer and envelope
 * values (the ISA and GS the set sits in: the latest of the same file). */
static PyObject *scan_transactions(ScanObject *s, PyObject *unused) {
    static const char *names[] = {"txn", "first_seg", "offset", "segments", "last_tag", "bad_tags", "first_bad",
                                  "isa_seq", "gs_seq", "st01", "st02", "st03", "se01", "se02", "isa13", "isa06",
                                  "isa08", "isa09", "isa10", "gs02", "gs03", "gs04", "gs05", "gs06", "gs08"};
    int n = 25;
    Col *c = cols_new(n);
    if (!c) return PyErr_NoMemory();
    for (int i = 0; i < n; i++) col_init(&c[i], (i <= 3 || (i >= 5 && i <= 8)) ? 'l' : 'u', names[i]);
    int64_t sets = 0;
    Py_BEGIN_ALLOW_THREADS
    const Row *isa = NULL, *gs = NULL, *first = NULL, *last = NULL, *se = NULL, *bad = NULL;
    int64_t count = 0, nbad = 0, file = -1;
    for (int64_t i = 0; i <= s->nrows; i++) {
        const Row *r = i < s->nrows ? &s->rows[i] : NULL;
        if (first && (!r || r->txn != first->txn)) { /* the set that ends here */
            char el = s->runs[first->run].elem;
            const Row *isa_row = first->isa_seq % KEY_SPAN ? isa : NULL, *gs_row = first->gs_seq % KEY_SPAN ? gs : NULL;
            col_i64(&c[0], first->txn);
            col_i64(&c[1], first->seg_index);
            col_i64(&c[2], first->offset);
            col_i64(&c[3], count);
            col_str(&c[4], last->p + last->tag_start, last->tag_len);
            col_i64(&c[5], nbad);
            if (bad) col_i64(&c[6], bad->seg_index); else col_null(&c[6]);
            col_i64(&c[7], first->isa_seq);
            col_i64(&c[8], first->gs_seq);
            for (int k = 1; k <= 3; k++) col_element(&c[8 + k], tag_is(first, T_ST) ? first : NULL, el, k);
            col_element(&c[12], se, el, 1);
            col_element(&c[13], se, el, 2);
            static const int isa_k[] = {13, 6, 8, 9, 10}, gs_k[] = {2, 3, 4, 5, 6, 8};
            for (int k = 0; k < 5; k++) col_element(&c[14 + k], isa_row, isa_row ? s->runs[isa_row->run].elem : el, isa_k[k]);
            for (int k = 0; k < 6; k++) col_element(&c[19 + k], gs_row, gs_row ? s->runs[gs_row->run].elem : el, gs_k[k]);
            sets++;
            first = NULL;
        }
        if (!r) break;
        if (s->runs[r->run].file_id != file) { file = s->runs[r->run].file_id; isa = gs = NULL; }
        if (tag_is(r, T_ISA)) isa = r;
        if (tag_is(r, T_GS)) gs = r;
        if (r->txn <= 0) continue;
        if (!first) { first = r; count = nbad = 0; se = bad = NULL; }
        last = r;
        count++;
        if (!valid_tag(r)) { nbad++; if (!bad) bad = r; }
        if (tag_is(r, T_SE)) se = r;
    }
    Py_END_ALLOW_THREADS
    return finish_table(c, n, sets);
}

static PyObject *scan_counts(ScanObject *s, PyObject *unused) {
    return Py_BuildValue("LLLL", (long long)s->nrows, (long long)s->n_st, (long long)s->n_clp, (long long)s->n_clm);
}

/* ---- SHA-256 for the sets' content hashes: hashed here, without the GIL, instead of one hashlib
 * call per set from Python (≈ 10 ms a 4 MB piece, all of it holding the GIL). The digest is
 * OpenSSL's SHA256 where the process has libcrypto (Python's hashlib loads it: it uses the CPU's SHA
 * instructions, ≈ 3.5x this file's portable FIPS 180-4 code, which is used where it is absent). ---- */

typedef struct { uint32_t h[8]; uint8_t block[64]; size_t used; uint64_t bytes; } Sha256;

static const uint32_t SHA_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t *h, const uint8_t *b) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)b[4 * t] << 24 | (uint32_t)b[4 * t + 1] << 16 | (uint32_t)b[4 * t + 2] << 8 | b[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[t] + w[t];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = bb; bb = a; a = t1 + t2;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha_init(Sha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->used = 0;
    s->bytes = 0;
}

static void sha_update(Sha256 *s, const uint8_t *p, size_t n) {
    s->bytes += n;
    if (s->used) {
        size_t take = 64 - s->used < n ? 64 - s->used : n;
        memcpy(s->block + s->used, p, take);
        s->used += take; p += take; n -= take;
        if (s->used < 64) return;
        sha_block(s->h, s->block);
        s->used = 0;
    }
    for (; n >= 64; p += 64, n -= 64) sha_block(s->h, p);
    memcpy(s->block, p, n);
    s->used = n;
}

/* the first `nhex` hex digits (at most 64) of the digest */
static void sha_hex(Sha256 *s, char *out, int nhex) {
    uint64_t bits = s->bytes * 8;
    uint8_t pad = 0x80;
    sha_update(s, &pad, 1);
    pad = 0;
    while (s->used != 56) sha_update(s, &pad, 1);
    uint8_t len[8];
    for (int k = 0; k < 8; k++) len[k] = (uint8_t)(bits >> (56 - 8 * k));
    sha_update(s, len, 8);
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < nhex; k++) out[k] = hex[(s->h[k / 8] >> (28 - 4 * (k % 8))) & 0xf];
}

typedef unsigned char *(*Sha256Fn)(const unsigned char *data, size_t n, unsigned char *digest);
static Sha256Fn openssl_sha256; /* found once, at import (module init) */

static void find_openssl_sha256(void) {
    static const char *names[] = {"libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"};
    for (int k = 0; k < 3 && !openssl_sha256; k++) {
        void *lib = dlopen(names[k], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD); /* only one already loaded */
        if (!lib) lib = dlopen(names[k], RTLD_NOW | RTLD_LOCAL);
        if (lib) *(void **)&openssl_sha256 = dlsym(lib, "SHA256");
    }
}

/* the first 32 hex digits of the sha256 of p[0..n), by `fn` (OpenSSL's), else the portable code */
static void sha256_hex32(const char *p, size_t n, char *out, Sha256Fn fn) {
    static const char hex[] = "0123456789abcdef";
    if (fn) {
        unsigned char d[32];
        fn((const unsigned char *)p, n, d);
        for (int k = 0; k < 16; k++) { out[2 * k] = hex[d[k] >> 4]; out[2 * k + 1] = hex[d[k] & 0xf]; }
        return;
    }
    Sha256 s;
    sha_init(&s);
    sha_update(&s, (const uint8_t *)p, n);
    sha_hex(&s, out, 32);
}

/* Each transaction set's content hash (structure.transaction_hashes): its body (no ST/SE) re-joined
 * with the canonical separators * : ^ and '~' between segments, the first 32 hex digits of its
 * sha256. One row per set, in set order. */
static PyObject *scan_hashes(ScanObject *s, PyObject *unused) {
    Col *c = cols_new(2);
    if (!c) return PyErr_NoMemory();
    col_init(&c[0], 'l', "txn");
    col_init(&c[1], 'u', "transaction_hash");
    int64_t sets = 0;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    char *text = NULL, hex[32];
    size_t cap = 0, w = 0;
    int64_t cur = -1;
    for (int64_t i = 0; i <= s->nrows; i++) {
        const Row *r = i < s->nrows ? &s->rows[i] : NULL;
        int opens = r && tag_is(r, T_ST) && r->txn > 0;
        if (cur >= 0 && (!r || opens)) { /* the set open so far ends: its text has no '~' after the last segment */
            sha256_hex32(text, w ? w - 1 : 0, hex, openssl_sha256);
            col_i64(&c[0], cur);
            col_str(&c[1], hex, 32);
            sets++;
        }
        if (!r) break;
        if (opens) {
            cur = r->txn;
            w = 0;
            continue;
        }
        if (r->txn <= 0 || r->txn != cur || tag_is(r, T_SE)) continue;
        if (w + (size_t)r->len + 1 > cap) {
            size_t want = (w + (size_t)r->len + 1) * 2 + 4096;
            char *grown = realloc(text, want);
            if (!grown) { failed = 1; break; }
            text = grown;
            cap = want;
        }
        char el = s->runs[r->run].elem, comp = r->comp, rep = r->rep;
        char *out = text + w;
        memcpy(out, r->p, (size_t)r->len);
        if (el != '*' || (comp && comp != ':') || (rep && rep != '^')) {
            for (int64_t k = 0; k < r->len; k++) { /* each character mapped once: '|' for elements
                                                    * and '*' for composites must not both end as ':' */
                char ch = out[k];
                if (el != '*' && ch == el) ch = '*';
                else if (comp && comp != ':' && ch == comp) ch = ':';
                else if (rep && rep != '^' && ch == rep) ch = '^';
                out[k] = ch;
            }
        }
        w += (size_t)r->len;
        text[w++] = '~';
    }
    free(text);
    Py_END_ALLOW_THREADS
    if (failed) { for (int i = 0; i < 2; i++) col_free(&c[i]); free(c); return PyErr_NoMemory(); }
    return finish_table(c, 2, sets);
}

/* ---- 835: loops and elements per segment id ---- */

typedef struct {
    char tag[8];
    int tag_len;
    uint32_t code;
    int header;     /* only the rows outside any claim or line (remit._header) */
    int nfixed;     /* columns before the elements */
    int n;          /* elements e1..en */
    Col *cols;      /* seg_index, offset, txn, comp, claim_ordinal, line_seq, line_number, e1..en */
    int64_t rows;
} TagOut;

#define REMIT_FIXED 7

static inline int find_tag(const TagOut *outs, Py_ssize_t ntags, const Row *r) {
    for (Py_ssize_t k = 0; k < ntags; k++)
        if (outs[k].code == r->code && r->code) return (int)k;
    return -1;
}

static void row_elements(TagOut *o, const Row *r, const RunIn *run);

static void remit_row(TagOut *o, const Row *r, const RunIn *run, int64_t claim, int64_t line, int64_t number) {
    Col *c = o->cols;
    col_i64(&c[0], r->seg_index);
    col_i64(&c[1], r->offset);
    col_i64(&c[2], r->txn);
    col_str(&c[3], &r->comp, 1);
    col_opt_i64(&c[4], claim);
    col_opt_i64(&c[5], line);
    if (line > 0) col_i64(&c[6], number); else col_null(&c[6]);
    row_elements(o, r, run);
}

/* elements 1..n after the fixed columns: split on the run's separator, spaces stripped, empty is null */
static void row_elements(TagOut *o, const Row *r, const RunIn *run) {
    Col *c = o->cols;
    const int f = o->nfixed;
    const char *p = r->p;
    int64_t len = r->len, i;
    const char *q = memchr(p, run->elem, (size_t)len);
    i = q ? (q - p) + 1 : len + 1;
    for (int e = 1; e <= o->n; e++) {
        if (i > len) { col_null(&c[f + e - 1]); continue; }
        q = memchr(p + i, run->elem, (size_t)(len - i));
        int64_t end = q ? (q - p) : len;
        int64_t a = i, b = end;
        while (a < b && p[a] == ' ') a++;
        while (b > a && p[b - 1] == ' ') b--;
        if (b > a) col_str(&c[f + e - 1], p + a, b - a);
        else col_null(&c[f + e - 1]);
        i = end + 1;
    }
    o->rows++;
}

/* ---- 835: the rows of remit_claims, remit_service_lines and remit_adjustments with the raw values
 * they are read from (remit.claim_rows, service_line_rows, adjustment_rows) ---- */

typedef struct { const char *p; int32_t n; } Val; /* an element; n < 0: null */

#define MAX_EL 24

/* elements 1..max of a row, spaces stripped, empty or absent as null (fields.with_elements) */
static void split_elements(const Row *r, char sep, Val *v, int max) {
    const char *p = r->p, *q = memchr(p, sep, (size_t)r->len);
    int64_t len = r->len, i = q ? (q - p) + 1 : len + 1;
    for (int e = 1; e <= max; e++) {
        v[e].p = NULL;
        v[e].n = -1;
        if (i > len) continue;
        q = memchr(p + i, sep, (size_t)(len - i));
        int64_t end = q ? (q - p) : len, a = i, b = end;
        while (a < b && p[a] == ' ') a++;
        while (b > a && p[b - 1] == ' ') b--;
        if (b > a) { v[e].p = p + a; v[e].n = (int32_t)(b - a); }
        i = end + 1;
    }
}

static const Val NO_VALUE = {NULL, -1}; /* null: no such segment, or the element not sent */

/* ---- values: what fields.money and fields.date8 make of an element, where that is certain ----
 * A piece whose values all pass here has its money and dates from the core; a piece with one
 * amount that is not an X12 amount, or a date that is not eight digits, is converted by the
 * Polars expressions instead (remit.py), which also word the messages: rare, and exact. */

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* fields.AMOUNT_PATTERN, ^-?0*(?:\d{1,8}(?:\.\d{0,2})?|\.\d{1,2})$, and the value in cents as
 * the cast to Decimal(12, 2) gives it: 1 when `v` is an X12 amount */
static int amount_cents(Val v, int64_t *cents) {
    const char *p = v.p;
    int32_t n = v.n, i = 0;
    int neg = n > 0 && p[0] == '-';
    i = neg;
    int32_t a = i;
    while (i < n && p[i] == '0') i++;
    int32_t zeros = i - a, b = i;
    while (i < n && is_digit(p[i])) i++;
    int32_t significant = i - b, frac = -1, f0 = 0;
    if (i < n && p[i] == '.') {
        f0 = ++i;
        while (i < n && is_digit(p[i])) i++;
        frac = i - f0;
    }
    if (i != n || significant > 8 || frac > 2) return 0;
    if (zeros + significant == 0 && frac < 1) return 0; /* no digit before the point needs one after it */
    int64_t whole = 0, part = 0;
    for (int32_t k = b; k < b + significant; k++) whole = whole * 10 + (p[k] - '0');
    for (int32_t k = 0; k < 2; k++) part = part * 10 + (k < frac ? p[f0 + k] - '0' : 0);
    *cents = neg ? -(whole * 100 + part) : whole * 100 + part;
    return 1;
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static int32_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

/* fields.date8 where it is certain: the first eight characters all digits (CCYYMMDD) give the date
 * or, when there is no such day, null (1 with *days set, or 0); anything else shorter or not digits
 * is for Polars to read (-1). */
static int date8_days(Val v, int32_t *days) {
    if (v.n < 8) return -1;
    for (int k = 0; k < 8; k++) if (!is_digit(v.p[k])) return -1;
    int y = (v.p[0] - '0') * 1000 + (v.p[1] - '0') * 100 + (v.p[2] - '0') * 10 + (v.p[3] - '0');
    int m = (v.p[4] - '0') * 10 + (v.p[5] - '0'), d = (v.p[6] - '0') * 10 + (v.p[7] - '0');
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap)) return 0;
    *days = days_from_civil(y, m, d);
    return 1;
}

/* money into `c`; counts into *odd an amount that is not an X12 amount; returns the cents, 0 when
 * absent or not an X12 amount (money(...).fill_null(0) in findings.py) */
static int64_t col_money(Col *c, Val v, int64_t *odd) {
    int64_t cents = 0;
    if (v.n < 0) col_null(c);
    else if (amount_cents(v, &cents)) col_cents(c, cents);
    else { col_null(c); (*odd)++; cents = 0; }
    return cents;
}

/* a date into `c`; counts into *odd a value only Polars can read */
static void col_date8(Col *c, Val v, int64_t *odd) {
    int32_t days;
    int got = v.n < 0 ? 0 : date8_days(v, &days);
    if (got == 1) col_days(c, days);
    else { col_null(c); if (got < 0) (*odd)++; }
}

/* fields.claim_key: the file's sha256 prefix ("<16 hex>-", by file id) and the claim's ordinal in its
 * file, at least seven digits; null without a claim */
typedef struct { const char **prefix; Py_ssize_t n; } Prefixes;

static void col_claim_key(Col *c, const Prefixes *keys, int64_t claim) {
    int64_t file = claim / KEY_SPAN, own = claim % KEY_SPAN;
    if (claim <= 0 || file >= keys->n) { col_null(c); return; }
    char digits[24], buf[64];
    int nd = 0;
    do { digits[nd++] = (char)('0' + own % 10); own /= 10; } while (own); /* snprintf cost ~7 ms a piece */
    while (nd < 7) digits[nd++] = '0';
    size_t np = strlen(keys->prefix[file]);
    if (np + (size_t)nd > sizeof(buf)) { c->failed = 1; return; }
    memcpy(buf, keys->prefix[file], np);
    for (int k = 0; k < nd; k++) buf[np + (size_t)k] = digits[nd - 1 - k];
    col_str(c, buf, (int64_t)np + nd);
}

/* A row's converted values into consecutive columns from c: money, dates, the claim key, then
 * `_odd`, how many of them only the Polars expressions can read (returned). */
static int64_t col_values(Col *c, const Val *money, int n_money, const Val *dates, int n_dates, const Prefixes *keys,
                          int64_t claim) {
    int64_t odd = 0;
    for (int k = 0; k < n_money; k++) col_money(c++, money[k], &odd);
    for (int k = 0; k < n_dates; k++) col_date8(c++, dates[k], &odd);
    col_claim_key(c++, keys, claim);
    col_i64(c, odd);
    return odd;
}

/* fields.part: component k (0-based) of a composite split on `comp`, empty as null */
static Val component(Val v, char comp, int k) {
    if (v.n < 0) return NO_VALUE;
    int32_t i = 0;
    for (int j = 0; j < k; j++) {
        const char *q = memchr(v.p + i, comp, (size_t)(v.n - i));
        if (!q) return NO_VALUE;
        i = (int32_t)(q - v.p) + 1;
    }
    const char *q = memchr(v.p + i, comp, (size_t)(v.n - i));
    int32_t end = q ? (int32_t)(q - v.p) : v.n;
    Val out = {v.p + i, end - i};
    return out.n > 0 ? out : NO_VALUE;
}

/* fields.modifiers: components 3 to 6 of a procedure composite, empty ones left out; [] when absent */
static void col_modifiers(Col *c, Val v, char comp) {
    for (int k = 2; k < 6; k++) {
        Val m = component(v, comp, k);
        if (m.n > 0) col_str(c->child, m.p, m.n);
    }
    col_close_list(c);
}

/* the core's conversions, for the tests to hold against the Polars expressions:
 * [(cents or None, is an X12 amount)] and [days, None, or "polars" where Polars must read] */
static PyObject *amount_of(Val v) {
    int64_t cents = 0;
    return amount_cents(v, &cents) ? Py_BuildValue("(LO)", (long long)cents, Py_True)
                                   : Py_BuildValue("(OO)", Py_None, Py_False);
}

static PyObject *date_of(Val v) {
    int32_t days = 0;
    int got = date8_days(v, &days);
    return got == 1 ? PyLong_FromLong(days) : got == 0 ? Py_NewRef(Py_None) : PyUnicode_FromString("polars");
}

static PyObject *each_str(PyObject *seq, PyObject *(*one)(Val)) {
    PyObject *fast = PySequence_Fast(seq, "a sequence of str");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        Py_ssize_t len;
        const char *t = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(fast, i), &len);
        PyObject *item = t ? one((Val){t, (int32_t)len}) : NULL;
        if (!item) { Py_CLEAR(out); break; }
        PyList_SET_ITEM(out, i, item);
    }
    Py_DECREF(fast);
    return out;
}

static PyObject *core_amounts(PyObject *mod, PyObject *seq) { return each_str(seq, amount_of); }

static PyObject *core_dates(PyObject *mod, PyObject *seq) { return each_str(seq, date_of); }

static inline int val_is(Val v, const char *t) {
    size_t n = strlen(t);
    return v.n == (int32_t)n && memcmp(v.p, t, n) == 0;
}

static inline void col_val(Col *c, Val v) {
    if (v.n >= 0) col_str(c, v.p, v.n); else col_null(c);
}

enum { C_F8, C_82, C_QC, C_IL, C_232, C_233, C_050, C_AU };
typedef struct {
    const Row *row;
    int64_t claim;
    Val clp[12];
    Val ref_f8, nm1_82_e8, nm1_82_e9, qc_e3, qc_e4, qc_e9, il_e9, dtm_232, dtm_233, dtm_050, amt_au;
    unsigned found;
    int64_t cas_cents; /* its CAS amounts, claim and line level (findings.claim_balance) */
} ClaimRec;

enum { L_472, L_150, L_151, L_B6, L_6R };
typedef struct {
    const Row *row;
    int64_t line, claim, number;
    Val svc[7];
    Val dtm_472, dtm_150, dtm_151, amt_b6, ref_6r;
    unsigned found;
    int64_t cas_cents; /* its CAS amounts (findings.line_balance) */
} LineRec;

#define FIRST(rec, bit, cond) (!((rec)->found & (1u << (bit))) && (cond) && ((rec)->found |= (1u << (bit))))

typedef struct { void *items; int64_t n, cap; size_t size; int failed; } Vec;

static void *vec_push(Vec *v) {
    if (v->n == v->cap) {
        int64_t cap = v->cap ? v->cap * 2 : 256;
        void *items = buf_realloc(v->items, (size_t)v->cap * v->size, (size_t)cap * v->size);
        if (!items) { v->failed = 1; return NULL; }
        v->items = items;
        v->cap = cap;
    }
    void *it = (char *)v->items + (size_t)v->n * v->size;
    memset(it, 0, v->size);
    v->n++;
    return it;
}

static Col *named_cols(const char **names, const char *kinds, int n) {
    Col *c = cols_new(n);
    if (c) for (int i = 0; i < n; i++) col_init(&c[i], kinds[i], names[i]);
    return c;
}

/* an amount in cents, 0 when absent or not an X12 amount (money(...).fill_null(0) in findings.py) */
static inline int64_t cents_or_zero(Val v) {
    int64_t cents = 0;
    return v.n >= 0 && amount_cents(v, &cents) ? cents : 0;
}

/* findings._unbalanced's `expected`: charge minus payment, each 0 when null */
static inline int64_t charge_minus_paid(Val charge, Val paid) { return cents_or_zero(charge) - cents_or_zero(paid); }

/* The transaction sets the reader will not load for a value read here (reader._without_rejected_sets:
 * CLP01 empty; CLP03, CLP04, SVC02, SVC03 or a CAS amount not an X12 amount), sorted: their claims
 * and lines leave before the balance checks, so they are not counted as unbalanced. */
static void doom(Vec *doomed, int64_t txn) {
    if (doomed->n && ((int64_t *)doomed->items)[doomed->n - 1] == txn) return;
    int64_t *slot = vec_push(doomed);
    if (slot) *slot = txn;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static inline int bad_amount(Val v) {
    int64_t cents;
    return v.n >= 0 && !amount_cents(v, &cents);
}

static void doom_claims_and_lines(Vec *doomed, const Vec *claims, const Vec *lines) {
    for (int64_t i = 0; i < claims->n; i++) {
        const ClaimRec *r = (const ClaimRec *)claims->items + i;
        if (r->clp[1].n < 0 || bad_amount(r->clp[3]) || bad_amount(r->clp[4])) doom(doomed, r->row->txn);
    }
    for (int64_t i = 0; i < lines->n; i++) {
        const LineRec *r = (const LineRec *)lines->items + i;
        if (bad_amount(r->svc[2]) || bad_amount(r->svc[3])) doom(doomed, r->row->txn);
    }
    if (doomed->n > 1) qsort(doomed->items, (size_t)doomed->n, sizeof(int64_t), cmp_i64);
}

static int is_doomed(const Vec *doomed, int64_t txn) {
    return doomed->n && bsearch(&txn, doomed->items, (size_t)doomed->n, sizeof(int64_t), cmp_i64) != NULL;
}

#define CAS_COLS 13
#define CLAIM_COLS 34
/* remit.claim_rows' columns, then what remit.claim_values makes of them (money, dates, claim_key)
 * and `_odd`, how many of a row's values only the Polars expressions can read; *odd counts such rows */
static Col *claim_cols(Vec *v, const Prefixes *keys, int64_t *odd, int64_t *unbalanced, const Vec *doomed) {
    static const char *names[] = {"txn", "claim_ordinal", "seg_index", "offset", "e1", "e2", "e3", "e4", "e5", "e6",
                                  "e7", "e8", "e9", "e11", "ref_f8", "nm1_82_e8", "nm1_82_e9", "qc_e3", "qc_e4",
                                  "qc_e9", "il_e9", "dtm_232", "dtm_233", "dtm_050", "amt_au",
                                  "charge_amount", "paid_amount", "patient_responsibility_amount", "allowed_amount",
                                  "statement_from", "statement_to", "received_date", "claim_key", "_odd"};
    int n = CLAIM_COLS;
    Col *c = named_cols(names, "lllluuuuuuuuuuuuuuuuuuuuu" "dddd" "DDD" "ul", n);
    if (!c) return NULL;
    static const int clp_e[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11};
    int64_t bytes[CLAIM_COLS] = {0};
    for (int64_t i = 0; i < v->n; i++) { /* the exact text of each column, so none grows */
        ClaimRec *r = (ClaimRec *)v->items + i;
        for (int k = 0; k < 10; k++) bytes[4 + k] += r->clp[clp_e[k]].n > 0 ? r->clp[clp_e[k]].n : 0;
        Val vals[] = {r->ref_f8, r->nm1_82_e8, r->nm1_82_e9, r->qc_e3, r->qc_e4, r->qc_e9, r->il_e9, r->dtm_232,
                      r->dtm_233, r->dtm_050, r->amt_au};
        for (int k = 0; k < 11; k++) bytes[14 + k] += vals[k].n > 0 ? vals[k].n : 0;
    }
    bytes[32] = 32 * v->n;
    for (int i = 0; i < n; i++) col_reserve(&c[i], v->n, bytes[i]);
    for (int64_t i = 0; i < v->n; i++) {
        ClaimRec *r = (ClaimRec *)v->items + i;
        col_i64(&c[0], r->row->txn);
        col_i64(&c[1], r->claim);
        col_i64(&c[2], r->row->seg_index);
        col_i64(&c[3], r->row->offset);
        Val money[] = {r->clp[3], r->clp[4], r->clp[5], r->amt_au}, dates[] = {r->dtm_232, r->dtm_233, r->dtm_050};
        int64_t row_odd = col_values(&c[25], money, 4, dates, 3, keys, r->claim);
        /* the raw text of what was converted only where the expressions convert it (row_odd) */
        for (int k = 0; k < 10; k++)
            col_val(&c[4 + k], row_odd || clp_e[k] < 3 || clp_e[k] > 5 ? r->clp[clp_e[k]] : NO_VALUE);
        Val vals[] = {r->ref_f8, r->nm1_82_e8, r->nm1_82_e9, r->qc_e3, r->qc_e4, r->qc_e9, r->il_e9, r->dtm_232,
                      r->dtm_233, r->dtm_050, r->amt_au};
        for (int k = 0; k < 11; k++) col_val(&c[14 + k], row_odd || k < 7 ? vals[k] : NO_VALUE);
        *odd += row_odd > 0;
        *unbalanced += charge_minus_paid(r->clp[3], r->clp[4]) != r->cas_cents && !is_doomed(doomed, r->row->txn);
    }
    return c;
}

#define LINE_COLS 30
/* remit.service_line_rows' columns, then what remit.service_line_values makes of them (procedure
 * parts and modifiers, money, dates, claim_key); *odd as for claims */
static Col *line_cols(Vec *v, const Prefixes *keys, int64_t *odd, int64_t *unbalanced, const Vec *doomed) {
    static const char *names[] = {"txn", "line_seq", "claim_ordinal", "line_number", "seg_index", "offset", "comp",
                                  "e1", "e2", "e3", "e4", "e5", "e6", "dtm_472", "dtm_150", "dtm_151", "amt_b6",
                                  "ref_6r",
                                  "procedure_qualifier", "procedure_code", "modifiers", "original_procedure_code",
                                  "charge_amount", "paid_amount", "allowed_amount", "d472", "d150", "service_date_to",
                                  "claim_key", "_odd"};
    int n = LINE_COLS;
    Col *c = named_cols(names, "llllllu" "uuuuuu" "uuuuu" "uuLu" "ddd" "DDD" "ul", n);
    if (!c) return NULL;
    int64_t bytes[LINE_COLS] = {0};
    bytes[6] = v->n;
    for (int64_t i = 0; i < v->n; i++) { /* the exact text of each column, so none grows */
        LineRec *r = (LineRec *)v->items + i;
        for (int k = 1; k <= 6; k++) bytes[6 + k] += r->svc[k].n > 0 ? r->svc[k].n : 0;
        Val vals[] = {r->dtm_472, r->dtm_150, r->dtm_151, r->amt_b6, r->ref_6r};
        for (int k = 0; k < 5; k++) bytes[13 + k] += vals[k].n > 0 ? vals[k].n : 0;
    }
    bytes[18] = bytes[19] = bytes[7]; /* parts of SVC01 and SVC06: at most the composites */
    bytes[21] = bytes[12];
    bytes[28] = 32 * v->n;
    for (int i = 0; i < n; i++) col_reserve(&c[i], v->n, bytes[i]);
    col_reserve(c[20].child, 2 * v->n, bytes[7]);
    for (int64_t i = 0; i < v->n; i++) {
        LineRec *r = (LineRec *)v->items + i;
        char comp = r->row->comp;
        col_i64(&c[0], r->row->txn);
        col_i64(&c[1], r->line);
        col_opt_i64(&c[2], r->claim);
        col_i64(&c[3], r->number);
        col_i64(&c[4], r->row->seg_index);
        col_i64(&c[5], r->row->offset);
        col_str(&c[6], &comp, 1);
        col_val(&c[18], component(r->svc[1], comp, 0));
        col_val(&c[19], component(r->svc[1], comp, 1));
        col_modifiers(&c[20], r->svc[1], comp);
        col_val(&c[21], component(r->svc[6], comp, 1));
        Val money[] = {r->svc[2], r->svc[3], r->amt_b6}, dates[] = {r->dtm_472, r->dtm_150, r->dtm_151};
        int64_t row_odd = col_values(&c[22], money, 3, dates, 3, keys, r->claim);
        /* the raw text of what was converted only where the expressions convert it (row_odd):
         * SVC04 and SVC05 (revenue code, units) and REF*6R are read as they are */
        for (int k = 1; k <= 6; k++) col_val(&c[6 + k], row_odd || k == 4 || k == 5 ? r->svc[k] : NO_VALUE);
        Val vals[] = {r->dtm_472, r->dtm_150, r->dtm_151, r->amt_b6, r->ref_6r};
        for (int k = 0; k < 5; k++) col_val(&c[13 + k], row_odd || k == 4 ? vals[k] : NO_VALUE);
        *odd += row_odd > 0;
        *unbalanced += charge_minus_paid(r->svc[2], r->svc[3]) != r->cas_cents && !is_doomed(doomed, r->row->txn);
    }
    return c;
}

/* The per-segment-id outputs asked for: [(tag, elements[, header only])], each with the fixed
 * columns named first. NULL with an exception set on a bad spec. */
static TagOut *tag_outputs(PyObject *seq, Py_ssize_t ntags, const char **fixed, const char *kinds, int nfixed) {
    TagOut *outs = calloc((size_t)ntags + 1, sizeof(TagOut));
    if (!outs) { PyErr_NoMemory(); return NULL; }
    for (Py_ssize_t k = 0; k < ntags; k++) {
        const char *tag;
        Py_ssize_t tlen;
        int n, header = 0;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, k), "s#i|p", &tag, &tlen, &n, &header) || tlen > 7 ||
            n < 0 || n > 99) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad spec");
            return outs; /* the caller frees what was made */
        }
        memcpy(outs[k].tag, tag, (size_t)tlen);
        outs[k].tag_len = (int)tlen;
        outs[k].code = tag_code(tag, (int)tlen);
        outs[k].header = header;
        outs[k].n = n;
        outs[k].nfixed = nfixed;
        outs[k].cols = cols_new(nfixed + n);
        if (!outs[k].cols) { PyErr_NoMemory(); return outs; }
        for (int i = 0; i < nfixed; i++) col_init(&outs[k].cols[i], kinds[i], fixed[i]);
        for (int e = 1; e <= n; e++) {
            char name[8];
            snprintf(name, sizeof(name), "e%d", e);
            col_init(&outs[k].cols[nfixed + e - 1], 'u', name);
        }
    }
    return outs;
}

static void free_outputs(TagOut *outs, Py_ssize_t ntags) {
    if (!outs) return;
    for (Py_ssize_t k = 0; k < ntags; k++) {
        if (outs[k].cols) {
            for (int i = 0; i < outs[k].nfixed + outs[k].n; i++) col_free(&outs[k].cols[i]);
            free(outs[k].cols);
        }
    }
    free(outs);
}

/* Move each output into `result` as a table (the outputs are left empty). */
static int outputs_into(PyObject *result, TagOut *outs, Py_ssize_t ntags) {
    for (Py_ssize_t k = 0; k < ntags; k++) {
        PyObject *t = finish_table(outs[k].cols, outs[k].nfixed + outs[k].n, outs[k].rows);
        outs[k].cols = NULL;
        if (!t || PyDict_SetItemString(result, outs[k].tag, t) < 0) { Py_XDECREF(t); return 0; }
        Py_DECREF(t);
    }
    return 1;
}

static PyObject *scan_remit(ScanObject *s, PyObject *args) {
    Py_buffer txns;
    PyObject *specs, *prefix_list;
    if (!PyArg_ParseTuple(args, "y*OO", &txns, &specs, &prefix_list)) return NULL;
    PyObject *seq = PySequence_Fast(specs, "specs must be a sequence of (tag, elements)");
    if (!seq) { PyBuffer_Release(&txns); return NULL; }
    /* the claim keys' prefixes by file id, borrowed from the list for the call */
    PyObject *pseq = PySequence_Fast(prefix_list, "prefixes must be a sequence of str");
    Prefixes keys = {NULL, 0};
    if (pseq) {
        keys.n = PySequence_Fast_GET_SIZE(pseq);
        keys.prefix = calloc((size_t)keys.n + 1, sizeof(char *));
        for (Py_ssize_t i = 0; keys.prefix && i < keys.n; i++)
            if (!(keys.prefix[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(pseq, i)))) { free(keys.prefix); keys.prefix = NULL; }
    }
    if (!keys.prefix) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        Py_XDECREF(pseq); Py_DECREF(seq); PyBuffer_Release(&txns);
        return NULL;
    }
    Py_ssize_t ntags = PySequence_Fast_GET_SIZE(seq);
    static const char *fixed[] = {"seg_index", "offset", "txn", "comp", "claim_ordinal", "line_seq", "line_number"};
    PyObject *result = NULL;
    TagOut *outs = tag_outputs(seq, ntags, fixed, "lllulll", REMIT_FIXED);
    if (!outs || PyErr_Occurred()) goto done;
    const int64_t *want = (const int64_t *)txns.buf;
    Py_ssize_t nwant = txns.len / (Py_ssize_t)sizeof(int64_t);
    Vec claims = {NULL, 0, 0, sizeof(ClaimRec), 0}, lines = {NULL, 0, 0, sizeof(LineRec), 0};
    static const char *cas_names[] = {"txn", "seg_index", "claim_ordinal", "line_number", "line_seq", "triplet",
                                      "group_code", "reason_code", "amount_text", "quantity_text", "amount",
                                      "claim_key", "_odd"};
    Col *cas = named_cols(cas_names, "llllllu" "uuu" "dul", CAS_COLS);
    int64_t odd_claims = 0, odd_lines = 0, odd_cas = 0, unbalanced_claims = 0, unbalanced_lines = 0;
    int unsure = 0; /* a CAS whose claim or line was not the one open: let the balance checks run */
    Vec doomed = {NULL, 0, 0, sizeof(int64_t), 0};
    Col *claim_c = NULL, *line_c = NULL;
    Val v[MAX_EL + 1];
    Py_BEGIN_ALLOW_THREADS
    /* first the rows and bytes per segment id, so every column is sized once */
    int64_t *count = calloc((size_t)ntags + 1, sizeof(int64_t)), *bytes = calloc((size_t)ntags + 1, sizeof(int64_t));
    int64_t cas_rows = 0, cas_bytes = 0, n_clp = 0, n_svc = 0;
    if (count && bytes) {
        Py_ssize_t v = 0;
        for (int64_t i = 0; i < s->nrows; i++) {
            const Row *r = &s->rows[i];
            if (r->txn <= 0) continue;
            while (v < nwant && want[v] < r->txn) v++;
            if (v >= nwant) break;
            if (want[v] != r->txn) continue;
            int k = find_tag(outs, ntags, r);
            if (k >= 0) { count[k]++; bytes[k] += r->len; } /* an upper bound where only the header is kept */
            if (tag_is(r, T_CAS)) { cas_rows++; cas_bytes += r->len; }
            else if (tag_is(r, T_CLP)) n_clp++;
            else if (tag_is(r, T_SVC)) n_svc++;
        }
        for (Py_ssize_t k = 0; k < ntags; k++) {
            for (int i = 0; i < REMIT_FIXED + outs[k].n; i++)
                col_reserve(&outs[k].cols[i], count[k], i == 3 ? count[k] : bytes[k]);
        }
    }
    free(count);
    free(bytes);
    if (cas) for (int i = 0; i < CAS_COLS; i++) /* pages never written cost nothing */
        col_reserve(&cas[i], 6 * cas_rows, i == 11 ? 6 * 32 * cas_rows : cas_bytes);
    if (n_clp) { claims.items = buf_alloc((size_t)n_clp * claims.size); claims.cap = claims.items ? n_clp : 0; }
    if (n_svc) { lines.items = buf_alloc((size_t)n_svc * lines.size); lines.cap = lines.items ? n_svc : 0; }
    /* remit.with_loops over the rows of the wanted sets, in order: a CLP opens a claim and an SVC a
     * line, forward-filled until a closer; line numbers count the SVCs of each stretch of one claim. */
    int64_t claim = 0, line = 0, svc_total = 0, stretch_base = 0, prev_claim = -1;
    int first = 1;
    Py_ssize_t w = 0;
    for (int64_t i = 0; i < s->nrows; i++) {
        const Row *r = &s->rows[i];
        if (r->txn <= 0) continue;
        while (w < nwant && want[w] < r->txn) w++;
        if (w >= nwant) break;
        if (want[w] != r->txn) continue;
        int is_clp = tag_is(r, T_CLP), is_svc = tag_is(r, T_SVC);
        int closes = tag_is(r, T_ST) || tag_is(r, T_SE) || tag_is(r, T_LX) || tag_is(r, T_PLB);
        if (is_clp) claim = r->clp;
        else if (closes) claim = 0;
        if (is_svc) { svc_total++; line = svc_total; }
        else if (closes || is_clp) line = 0;
        int64_t claim_value = claim > 0 ? claim : 0;
        if (first || claim_value != prev_claim) stretch_base = svc_total - is_svc;
        first = 0;
        prev_claim = claim_value;
        int64_t number = svc_total - stretch_base;
        int k = find_tag(outs, ntags, r);
        if (k >= 0 && !(outs[k].header && (claim_value > 0 || line > 0)))
            remit_row(&outs[k], r, &s->runs[r->run], claim_value, line, number);
        char sep = s->runs[r->run].elem;
        if (is_clp) {
            ClaimRec *c = vec_push(&claims);
            if (c) {
                c->row = r; c->claim = claim_value; split_elements(r, sep, c->clp, 11);
                c->ref_f8 = c->nm1_82_e8 = c->nm1_82_e9 = c->qc_e3 = c->qc_e4 = c->qc_e9 = c->il_e9 = c->dtm_232 =
                    c->dtm_233 = c->dtm_050 = c->amt_au = NO_VALUE;
            }
        } else if (is_svc) {
            LineRec *l = vec_push(&lines);
            if (l) {
                l->row = r; l->line = line; l->claim = claim_value; l->number = number;
                split_elements(r, sep, l->svc, 6);
                l->dtm_472 = l->dtm_150 = l->dtm_151 = l->amt_b6 = l->ref_6r = NO_VALUE;
            }
        } else if (tag_is(r, T_CAS) && claim_value > 0 && cas) {
            split_elements(r, sep, v, 19);
            for (int t = 0; t < 6; t++) {
                if (v[2 + 3 * t].n < 0) continue;
                col_i64(&cas[0], r->txn);
                col_i64(&cas[1], r->seg_index);
                col_i64(&cas[2], claim_value);
                if (line > 0) { col_i64(&cas[3], number); col_i64(&cas[4], line); }
                else { col_null(&cas[3]); col_null(&cas[4]); }
                col_i64(&cas[5], t);
                col_val(&cas[6], v[1]);
                col_val(&cas[7], v[2 + 3 * t]);
                int64_t row_odd = 0;
                int64_t cents = col_money(&cas[10], v[3 + 3 * t], &row_odd); /* the amount read once */
                if (row_odd) doom(&doomed, r->txn);
                col_val(&cas[8], row_odd ? v[3 + 3 * t] : NO_VALUE); /* the amount's text where it is not one */
                col_val(&cas[9], v[4 + 3 * t]);
                col_claim_key(&cas[11], &keys, claim_value);
                col_i64(&cas[12], row_odd);
                odd_cas += row_odd;
                /* the claim's and the line's CAS totals, for the balance checks */
                ClaimRec *open = claims.n ? (ClaimRec *)claims.items + claims.n - 1 : NULL;
                if (open && open->claim == claim_value) open->cas_cents += cents;
                else unsure = 1;
                if (line > 0) {
                    LineRec *l = lines.n ? (LineRec *)lines.items + lines.n - 1 : NULL;
                    if (l && l->line == line) l->cas_cents += cents;
                    else unsure = 1;
                }
            }
        } else if (line > 0 && lines.n && (tag_is(r, T_DTM) || tag_is(r, T_AMT) || tag_is(r, T_REF))) {
            /* line level: the first DTM*472/150/151, AMT*B6, REF*6R of the open line */
            LineRec *l = (LineRec *)lines.items + lines.n - 1;
            split_elements(r, sep, v, 2);
            if (tag_is(r, T_DTM)) {
                if (FIRST(l, L_472, val_is(v[1], "472"))) l->dtm_472 = v[2];
                if (FIRST(l, L_150, val_is(v[1], "150"))) l->dtm_150 = v[2];
                if (FIRST(l, L_151, val_is(v[1], "151"))) l->dtm_151 = v[2];
            } else if (tag_is(r, T_AMT)) {
                if (FIRST(l, L_B6, val_is(v[1], "B6"))) l->amt_b6 = v[2];
            } else if (FIRST(l, L_6R, val_is(v[1], "6R"))) {
                l->ref_6r = v[2];
            }
        } else if (claim_value > 0 && line == 0 && claims.n &&
                   (tag_is(r, T_REF) || tag_is(r, T_NM1) || tag_is(r, T_DTM) || tag_is(r, T_AMT))) {
            /* claim level: the first REF*F8, NM1*82 / QC / IL, DTM*232/233/050, AMT*AU of the open claim */
            ClaimRec *c = (ClaimRec *)claims.items + claims.n - 1;
            split_elements(r, sep, v, tag_is(r, T_NM1) ? 9 : 2);
            if (tag_is(r, T_REF)) {
                if (FIRST(c, C_F8, val_is(v[1], "F8"))) c->ref_f8 = v[2];
            } else if (tag_is(r, T_NM1)) {
                if (FIRST(c, C_82, val_is(v[1], "82"))) { c->nm1_82_e8 = v[8]; c->nm1_82_e9 = v[9]; }
                if (FIRST(c, C_QC, val_is(v[1], "QC"))) { c->qc_e3 = v[3]; c->qc_e4 = v[4]; c->qc_e9 = v[9]; }
                if (FIRST(c, C_IL, val_is(v[1], "IL"))) c->il_e9 = v[9];
            } else if (tag_is(r, T_DTM)) {
                if (FIRST(c, C_232, val_is(v[1], "232"))) c->dtm_232 = v[2];
                if (FIRST(c, C_233, val_is(v[1], "233"))) c->dtm_233 = v[2];
                if (FIRST(c, C_050, val_is(v[1], "050"))) c->dtm_050 = v[2];
            } else if (FIRST(c, C_AU, val_is(v[1], "AU"))) {
                c->amt_au = v[2];
            }
        }
    }
    doom_claims_and_lines(&doomed, &claims, &lines);
    if (!claims.failed) claim_c = claim_cols(&claims, &keys, &odd_claims, &unbalanced_claims, &doomed);
    if (!lines.failed) line_c = line_cols(&lines, &keys, &odd_lines, &unbalanced_lines, &doomed);
    if (unsure || doomed.failed) unbalanced_claims = unbalanced_lines = -1;
    if (cas) for (int i = 0; i < CAS_COLS; i++) col_shrink(&cas[i]); /* reserved for six triplets a CAS */
    buf_free(doomed.items);
    Py_END_ALLOW_THREADS
    result = PyDict_New();
    if (result) {
        PyObject *ct = claim_c ? finish_table(claim_c, CLAIM_COLS, claims.n) : PyErr_NoMemory();
        PyObject *lt = line_c ? finish_table(line_c, LINE_COLS, lines.n) : NULL;
        PyObject *at = lt && cas ? finish_table(cas, CAS_COLS, cas[0].length) : NULL;
        claim_c = line_c = cas = NULL;
        /* how many rows of each table have a value only the Polars expressions can read (see col_money) */
        PyObject *odd = Py_BuildValue("{sLsLsL}", "claims", (long long)odd_claims, "lines", (long long)odd_lines,
                                      "adjustments", (long long)odd_cas);
        /* how many claims and lines do not balance with their CAS (-1: not known), so the Polars
         * balance checks run only where they find something */
        PyObject *unbalanced = Py_BuildValue("{sLsL}", "claims", (long long)unbalanced_claims, "lines",
                                             (long long)unbalanced_lines);
        if (!unbalanced || PyDict_SetItemString(result, "unbalanced", unbalanced) < 0) Py_CLEAR(odd);
        Py_XDECREF(unbalanced);
        if (!at || !odd || PyDict_SetItemString(result, "claims", ct) < 0 ||
            PyDict_SetItemString(result, "lines", lt) < 0 || PyDict_SetItemString(result, "adjustments", at) < 0 ||
            PyDict_SetItemString(result, "odd", odd) < 0) {
            if (!PyErr_Occurred()) PyErr_NoMemory();
            Py_CLEAR(result);
        }
        Py_XDECREF(odd);
        Py_XDECREF(ct);
        Py_XDECREF(lt);
        Py_XDECREF(at);
    }
    if (claim_c) { for (int i = 0; i < CLAIM_COLS; i++) col_free(&claim_c[i]); free(claim_c); }
    if (line_c) { for (int i = 0; i < LINE_COLS; i++) col_free(&line_c[i]); free(line_c); }
    buf_free(claims.items);
    buf_free(lines.items);
    if (cas) { for (int i = 0; i < CAS_COLS; i++) col_free(&cas[i]); free(cas); }
    if (result && !outputs_into(result, outs, ntags)) Py_CLEAR(result);
done:
    free(keys.prefix);
    Py_DECREF(pseq);
    free_outputs(outs, ntags);
    Py_DECREF(seq);
    PyBuffer_Release(&txns);
    return result;
}

/* ---- 837: claims837.with_loops and the segments claims837.build reads ---- */

#define T_HL CODE('H', 'L', 0, 2)
#define T_SBR CODE('S', 'B', 'R', 3)
#define T_SV1 CODE('S', 'V', '1', 3)
#define T_SV2 CODE('S', 'V', '2', 3)
#define T_SV3 CODE('S', 'V', '3', 3)
#define CLAIMS_FIXED 11

/* Per segment id asked for, the rows of the 837 sets `txns` with claims837.with_loops' columns:
 * hl_seq, claim_ordinal, line_seq (null when not open), in_cob (0/1), lx_value (LX01 carried
 * forward, "" after CLM/HL/ST/SE) and position (the SVs so far in the row's stretch of one claim;
 * line_number is coalesce(lx_value as a number, position), computed by the caller). */
static PyObject *scan_claims837(ScanObject *s, PyObject *args) {
    Py_buffer txns;
    PyObject *specs;
    if (!PyArg_ParseTuple(args, "y*O", &txns, &specs)) return NULL;
    PyObject *seq = PySequence_Fast(specs, "specs must be a sequence of (tag, elements)");
    if (!seq) { PyBuffer_Release(&txns); return NULL; }
    Py_ssize_t ntags = PySequence_Fast_GET_SIZE(seq);
    static const char *fixed[] = {"seg_index", "offset", "txn", "tag", "comp", "hl_seq", "claim_ordinal", "line_seq",
                                  "in_cob", "lx_value", "position"};
    PyObject *result = NULL;
    TagOut *outs = tag_outputs(seq, ntags, fixed, "llluullllul", CLAIMS_FIXED);
    if (!outs || PyErr_Occurred()) goto done;
    Py_BEGIN_ALLOW_THREADS
    Wanted w = {txns.buf, txns.len / (Py_ssize_t)sizeof(int64_t), 0};
    int64_t hl = 0, hl_total = 0, claim = 0, line = 0, svc_total = 0, stretch_base = 0, prev_claim = -1;
    int cob = 0, first = 1;
    const char *lx = NULL;
    int32_t lx_n = -1; /* null until an LX or a closer */
    for (int64_t i = 0; i < s->nrows; i++) {
        const Row *r = &s->rows[i];
        if (!wanted(&w, r->txn)) continue;
        uint32_t t = r->code;
        int is_svc = t == T_SV1 || t == T_SV2 || t == T_SV3;
        int st_se = t == T_ST || t == T_SE;
        if (t == T_HL) { hl_total++; hl = hl_total; } else if (st_se) hl = 0;
        if (t == T_CLM) claim = r->clm; else if (t == T_HL || st_se) claim = 0;
        if (is_svc) { svc_total++; line = svc_total; }
        else if (t == T_LX || t == T_CLM || t == T_HL || st_se) line = 0;
        if (t == T_SBR) cob = 1; else if (t == T_CLM || t == T_LX || t == T_HL || st_se) cob = 0;
        if (t == T_LX) {
            Val v[2];
            split_elements(r, s->runs[r->run].elem, v, 1);
            if (v[1].n >= 0) { lx = v[1].p; lx_n = v[1].n; } /* an empty LX01 keeps the value before it */
        } else if (t == T_CLM || t == T_HL || st_se) {
            lx = ""; lx_n = 0;
        }
        int64_t claim_value = claim > 0 ? claim : 0;
        if (first || claim_value != prev_claim) stretch_base = svc_total - is_svc;
        first = 0;
        prev_claim = claim_value;
        int k = find_tag(outs, ntags, r);
        if (k < 0) continue;
        Col *c = outs[k].cols;
        col_i64(&c[0], r->seg_index);
        col_i64(&c[1], r->offset);
        col_i64(&c[2], r->txn);
        col_str(&c[3], r->p + r->tag_start, r->tag_len);
        col_str(&c[4], &r->comp, 1);
        col_opt_i64(&c[5], hl);
        col_opt_i64(&c[6], claim_value);
        col_opt_i64(&c[7], line);
        col_i64(&c[8], cob);
        if (lx_n >= 0) col_str(&c[9], lx, lx_n); else col_null(&c[9]);
        col_i64(&c[10], svc_total - stretch_base);
        row_elements(&outs[k], r, &s->runs[r->run]);
    }
    Py_END_ALLOW_THREADS
    result = PyDict_New();
    if (result && !outputs_into(result, outs, ntags)) Py_CLEAR(result);
done:
    free_outputs(outs, ntags);
    Py_DECREF(seq);
    PyBuffer_Release(&txns);
    return result;
}

/* ---- interchange starts: tokenize.isa_starts for ASCII text ---- */

static inline int py_isspace(char c) { /* str.isspace() on an ASCII character */
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}


typedef struct { char el, comp, seg, rep; } Delims; /* rep 0: none */

/* tokenize._terminator_after */
static char terminator_after(const char *t, Py_ssize_t n, Py_ssize_t k) {
    if (k >= n) return '~';
    char c = t[k];
    if (c != '\r' && c != '\n') return c;
    Py_ssize_t j = k;
    while (j < n && is_ws(t[j])) j++;
    if (j < n && !is_alnum(t[j])) return t[j];
    return '\n';
}

/* tokenize.isa_delimiters: 0 when `start` is not an ISA */
static int isa_delimiters(const char *t, Py_ssize_t n, Py_ssize_t start, Delims *d) {
    if (n <= start + 3) return 0;
    char el = t[start + 3];
    if (is_alnum(el) || py_isspace(el)) return 0;
    Py_ssize_t pos = start, at[17];
    for (int k = 0; k < 16; k++) {
        const char *q = pos + 1 < n ? memchr(t + pos + 1, el, (size_t)(n - pos - 1)) : NULL;
        if (!q) return 0;
        pos = q - t;
        if (pos - start > 200) return 0;
        at[k] = pos;
    }
    if (n <= pos + 1) return 0;
    d->el = el;
    d->comp = t[pos + 1];
    d->seg = terminator_after(t, n, pos + 2);
    /* ISA11 (fields[11], between separators 10 and 11) and ISA12, stripped as str.strip does */
    Py_ssize_t a11 = at[10] + 1, b11 = at[11], a12 = at[11] + 1, b12 = at[12];
    while (a11 < b11 && py_isspace(t[a11])) a11++;
    while (b11 > a11 && py_isspace(t[b11 - 1])) b11--;
    while (a12 < b12 && py_isspace(t[a12])) a12++;
    while (b12 > a12 && py_isspace(t[b12 - 1])) b12--;
    int ok = b11 - a11 == 1 && !is_alnum(t[a11]) && version_has_repetition(t + a12, b12 - a12);
    d->rep = ok ? t[a11] : 0;
    return 1;
}

static PyObject *delims_tuple(Py_ssize_t pos, const Delims *d) {
    if (d->rep) return Py_BuildValue("(nC C C C)", pos, (int)(unsigned char)d->el, (int)(unsigned char)d->comp,
                                     (int)(unsigned char)d->seg, (int)(unsigned char)d->rep);
    return Py_BuildValue("(nC C C O)", pos, (int)(unsigned char)d->el, (int)(unsigned char)d->comp,
                         (int)(unsigned char)d->seg, Py_None);
}

/* [(position, element, component, terminator, repetition or None)] of every ISA that opens an
 * interchange, as tokenize.isa_starts finds them (an ISA shaped like the last one walked reuses its
 * separators from the fixed-width positions). ASCII text only. */
static PyObject *core_isa_starts(PyObject *mod, PyObject *arg) {
    if (!PyUnicode_Check(arg) || !PyUnicode_IS_ASCII(arg)) {
        PyErr_SetString(PyExc_ValueError, "not ASCII: use tokenize.isa_starts");
        return NULL;
    }
    const char *t = (const char *)PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    Delims last = {0, 0, 0, 0};
    int have_last = 0;
    Py_ssize_t pos = 0;
    for (;;) {
        const char *q = pos < n ? memmem(t + pos, (size_t)(n - pos), "ISA", 3) : NULL;
        if (!q) break;
        pos = q - t;
        if (pos == 0 || !is_alnum(t[pos - 1])) {
            int fixed = 0;
            if (have_last && n > pos + 106 && t[pos + 3] == last.el && t[pos + 103] == last.el &&
                t[pos + 105] == last.seg) {
                int count = 0;
                for (Py_ssize_t k = pos; k < pos + 104; k++) count += t[k] == last.el;
                fixed = count == 16;
            }
            Delims d;
            if (fixed) {
                d = last;
                d.comp = t[pos + 104];
                d.rep = last.rep ? t[pos + 82] : 0;
            } else if (isa_delimiters(t, n, pos, &d)) {
                last = d;
                have_last = 1;
            } else {
                pos += 3;
                continue;
            }
            PyObject *item = delims_tuple(pos, &d);
            if (!item || PyList_Append(out, item) < 0) { Py_XDECREF(item); Py_DECREF(out); return NULL; }
            Py_DECREF(item);
        }
        pos += 3;
    }
    return out;
}

/* Let go of the rows and the texts once the last step has read them (memory is bounded by piece). */
static PyObject *scan_close(ScanObject *s, PyObject *unused) {
    buf_free(s->rows);
    s->rows = NULL;
    s->nrows = s->cap = 0;
    Py_CLEAR(s->texts);
    Py_RETURN_NONE;
}

static PyMethodDef scan_methods[] = {
    {"close", (PyCFunction)scan_close, METH_NOARGS, "Free the rows and let go of the texts."},
    {"context", (PyCFunction)scan_context, METH_VARARGS, "The segment frame (all rows, some sets' or the envelope's)."},
    {"transactions", (PyCFunction)scan_transactions, METH_NOARGS, "One row per transaction set."},
    {"counts", (PyCFunction)scan_counts, METH_NOARGS, "(segments, ST, CLP, CLM) of the piece."},
    {"hashes", (PyCFunction)scan_hashes, METH_NOARGS, "Each set's content hash (txn, transaction_hash)."},
    {"remit", (PyCFunction)scan_remit, METH_VARARGS, "835 rows per segment id with loops and elements."},
    {"claims837", (PyCFunction)scan_claims837, METH_VARARGS, "837 rows per segment id with loops and elements."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "claimback.x12._core.Scan",
    .tp_basicsize = sizeof(ScanObject),
    .tp_dealloc = (destructor)scan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The segments of one piece (the runs of one or more files), tokenized once.",
    .tp_methods = scan_methods,
    .tp_init = (initproc)scan_init,
    .tp_new = PyType_GenericNew,
};

/* the hash the portable code gives (32 hex digits), or OpenSSL's where found: the tests hold both to
 * hashlib, since a machine without libcrypto would silently use the portable one */
static PyObject *core_sha256_32(PyObject *mod, PyObject *args) {
    Py_buffer b;
    int portable = 0;
    if (!PyArg_ParseTuple(args, "y*|p", &b, &portable)) return NULL;
    char hex[32];
    sha256_hex32(b.buf, (size_t)b.len, hex, portable ? NULL : openssl_sha256);
    PyBuffer_Release(&b);
    return PyUnicode_FromStringAndSize(hex, 32);
}

static PyMethodDef core_functions[] = {
    {"sha256_32", core_sha256_32, METH_VARARGS, "sha256_32(data, portable=False): the first 32 hex digits of the sha256"},
    {"amounts", core_amounts, METH_O, "[(cents or None, is an X12 amount)] of each str, as the core reads money"},
    {"dates", core_dates, METH_O, "[days since 1970-01-01, None, or 'polars'] of each str, as the core reads CCYYMMDD"},
    {"isa_starts", core_isa_starts, METH_O, "Every ISA that opens an interchange, with its separators."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef coremodule = {
    PyModuleDef_HEAD_INIT, "_core", "The X12 reader's compiled core (see claimback/x12/core.py).", -1, core_functions,
};

PyMODINIT_FUNC PyInit__core(void) {
    if (PyType_Ready(&TableType) < 0 || PyType_Ready(&ScanType) < 0) return NULL;
    find_openssl_sha256();
    PyObject *m = PyModule_Create(&coremodule);
    if (!m) return NULL;
    Py_INCREF(&ScanType);
    if (PyModule_AddObject(m, "Scan", (PyObject *)&ScanType) < 0) { Py_DECREF(&ScanType); Py_DECREF(m); return NULL; }
    /* the interface core.py calls: a build older than the source it is imported with is not used */
    if (PyModule_AddIntConstant(m, "ABI", 3) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
