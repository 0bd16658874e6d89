/*
 * version.h - the server's version, and the Redis version whose protocol
 * and command semantics it follows (reported as redis_version in INFO and
 * HELLO, because clients and the Redis test suite gate features on it).
 */
#ifndef STRATA_VERSION_H
#define STRATA_VERSION_H

#define STRATA_VERSION "0.1.0"
#define STRATA_REDIS_VERSION "7.0.15"

#endif
