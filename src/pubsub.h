/*
 * pubsub.h - SUBSCRIBE, PSUBSCRIBE, PUBLISH and PUBSUB; SSUBSCRIBE and SPUBLISH.
 *
 * Subscriptions are kept by the shard that owns the subscribing client (a
 * channel -> clients dict and a pattern list per shard), so (un)subscribing
 * touches no other shard. PUBLISH runs with every shard parked and appends
 * the message to each subscriber's output directly, on whichever shard it
 * lives, so it can answer the exact number of receivers. A subscriber whose
 * unsent output passes the pubsub output buffer limit (32 MiB hard, or 8 MiB
 * for 60 seconds, Redis's defaults) is disconnected.
 */
#ifndef STRATA_PUBSUB_H
#define STRATA_PUBSUB_H

#include "server.h"

struct client;
struct acl_user;

/* Subscriptions (channels + patterns) of a client. */
int pubsub_count(const struct client *c);
/* Drops every subscription (disconnect, RESET). */
void pubsub_unsubscribe_all(struct client *c, bool notify);
/* True if cmd's reply to a RESP3 client is a push ((p)(un)subscribe):
 * pushes are sent even under CLIENT REPLY OFF, as Redis does. */
bool pubsub_reply_is_push(const struct cmd_def *cmd, int proto);
/* True if cmd may run while a RESP2 client is subscribed. */
bool pubsub_allowed_in_context(const struct cmd_def *cmd);
void pubsub_free_all(struct shard *sh);
/* Whether user u may keep every subscription of c (channels matched as
 * globs, patterns literally: acl_channel_allowed). */
bool pubsub_allowed_for(const struct client *c, const struct acl_user *u);
/* Distinct channels with subscribers, pattern subscriptions, and distinct
 * shard channels with subscribers, over all shards (INFO stats): every shard
 * must be parked. */
void pubsub_counts(size_t *channels, size_t *patterns, size_t *shard_channels);

#endif
