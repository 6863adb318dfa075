/* Decoded frames kept by index, least recently used evicted first, bounded
 * in bytes (the most recently inserted frame is always kept, so one frame
 * fits even when the bound is smaller). */
#ifndef MV_FRAME_CACHE_H
#define MV_FRAME_CACHE_H
#include <stddef.h>
#include <stdint.h>

typedef struct mv_frame_cache mv_frame_cache;

/* Keys are 0..key_count-1. NULL when out of memory. */
mv_frame_cache *mv_frame_cache_new(int key_count, size_t capacity_bytes);
void mv_frame_cache_free(mv_frame_cache *cache);
/* The frame stored under `key` (now most recently used) or NULL. */
uint8_t *mv_frame_cache_get(mv_frame_cache *cache, int key);
int mv_frame_cache_contains(const mv_frame_cache *cache, int key);
/* The buffer stored under `key` or NULL, without touching the LRU order. */
const uint8_t *mv_frame_cache_peek(const mv_frame_cache *cache, int key);
/* A buffer of `bytes` stored under `key` (replacing any), for the caller to
 * fill; evicts least recently used frames to stay within the bound. NULL when
 * out of memory. */
uint8_t *mv_frame_cache_put(mv_frame_cache *cache, int key, size_t bytes);
void mv_frame_cache_remove(mv_frame_cache *cache, int key);
size_t mv_frame_cache_used(const mv_frame_cache *cache);
size_t mv_frame_cache_capacity(const mv_frame_cache *cache);

#endif
