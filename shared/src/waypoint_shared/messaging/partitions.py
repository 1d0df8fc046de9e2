"""Which partition of a topic a record key goes to, as Kafka's default partitioner decides it.

Kafka places a keyed record on partition `murmur2(key) & 0x7fffffff` modulo the topic's partition
count (the Java client's rule, which kafka-python's default partitioner follows). The relay
chooses the partition itself and hands it to the producer: the same partition as the producer
would choose, found with a hash that reads the key four bytes at a time (kafka-python's reads it
byte by byte, ~40 µs a key) and remembered for the keys seen lately, since a client's events
come in runs.
"""

from __future__ import annotations

import functools
import struct

_SEED, _M, _MASK = 0x9747B28C, 0x5BD1E995, 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 of data, as Kafka's clients compute it (little-endian words, seed 0x9747b28c)."""
    length = len(data)
    h = _SEED ^ length
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = data[words * 4 :]
    if tail:
        if len(tail) >= 3:
            h ^= tail[2] << 16
        if len(tail) >= 2:
            h ^= tail[1] << 8
        h = ((h ^ tail[0]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


@functools.lru_cache(maxsize=65_536)
def _hashed(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The partition among the topic's (sorted) partitions that a record with this key goes to."""
    return partitions[_hashed(key) % len(partitions)]
