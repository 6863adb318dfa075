#include "io/frame_cache.h"

#include <stdlib.h>

typedef struct node {
  struct node *prev, *next; /* prev = more recently used */
  int key;
  size_t bytes;
  uint8_t *data;
} node;

struct mv_frame_cache {
  int key_count;
  size_t capacity, used;
  node **slots;     /* by key */
  node head;        /* sentinel: head.next = most recent, head.prev = least */
  uint8_t *spare;   /* one evicted buffer kept for reuse (saves page faults) */
  size_t spare_bytes;
};

/* Buffers get slack so SIMD writers (swscale) may overrun the last row a little. */
enum { SLACK = 64 };

mv_frame_cache *mv_frame_cache_new(int key_count, size_t capacity_bytes) {
  if (key_count < 0) return NULL;
  mv_frame_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->slots = calloc(key_count > 0 ? (size_t)key_count : 1, sizeof *c->slots);
  if (!c->slots) {
    free(c);
    return NULL;
  }
  c->key_count = key_count;
  c->capacity = capacity_bytes;
  c->head.next = c->head.prev = &c->head;
  return c;
}

static void unlink_node(node *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
}

static void push_front(mv_frame_cache *c, node *n) {
  n->prev = &c->head;
  n->next = c->head.next;
  c->head.next->prev = n;
  c->head.next = n;
}

static void drop(mv_frame_cache *c, node *n) {
  unlink_node(n);
  c->slots[n->key] = NULL;
  c->used -= n->bytes;
  if (!c->spare) {
    c->spare = n->data;
    c->spare_bytes = n->bytes;
  } else {
    free(n->data);
  }
  free(n);
}

void mv_frame_cache_free(mv_frame_cache *c) {
  if (!c) return;
  while (c->head.next != &c->head) drop(c, c->head.next);
  free(c->spare);
  free(c->slots);
  free(c);
}

uint8_t *mv_frame_cache_get(mv_frame_cache *c, int key) {
  if (!c || key < 0 || key >= c->key_count || !c->slots[key]) return NULL;
  node *n = c->slots[key];
  unlink_node(n);
  push_front(c, n);
  return n->data;
}

int mv_frame_cache_contains(const mv_frame_cache *c, int key) {
  return c && key >= 0 && key < c->key_count && c->slots[key] != NULL;
}

const uint8_t *mv_frame_cache_peek(const mv_frame_cache *c, int key) {
  return mv_frame_cache_contains(c, key) ? c->slots[key]->data : NULL;
}

void mv_frame_cache_remove(mv_frame_cache *c, int key) {
  if (!c || key < 0 || key >= c->key_count || !c->slots[key]) return;
  drop(c, c->slots[key]);
}

uint8_t *mv_frame_cache_put(mv_frame_cache *c, int key, size_t bytes) {
  if (!c || key < 0 || key >= c->key_count) return NULL;
  mv_frame_cache_remove(c, key);
  while (c->head.prev != &c->head && c->used + bytes > c->capacity) drop(c, c->head.prev);
  node *n = malloc(sizeof *n);
  if (!n) return NULL;
  if (c->spare && c->spare_bytes == bytes) {
    n->data = c->spare;
    c->spare = NULL;
  } else {
    n->data = malloc(bytes + SLACK);
  }
  if (!n->data) {
    free(n);
    return NULL;
  }
  n->key = key;
  n->bytes = bytes;
  c->slots[key] = n;
  c->used += bytes;
  push_front(c, n);
  return n->data;
}

size_t mv_frame_cache_used(const mv_frame_cache *c) { return c ? c->used : 0; }
size_t mv_frame_cache_capacity(const mv_frame_cache *c) { return c ? c->capacity : 0; }
