// Package webhook sends HMAC-signed webhooks to customer endpoints and
// verifies them on receipt.
//
// A SaaS backend embeds the sending half (a [Dispatcher] over a [Store]); its
// customers embed the receiving half (a [Receiver], usually with
// [Idempotency]). Both speak the same wire format: a JSON envelope POSTed
// with two headers,
//
//	X-Onplana-Event:     task.updated
//	X-Onplana-Signature: <lowercase hex HMAC-SHA256(newest secret, raw body)>
//
// and, during a secret rotation's grace period only, a third,
//
//	X-Onplana-Signature-Previous: <hex HMAC-SHA256(older secret, raw body)> …
//
//	{"delivery_id":"dlv_…","event_id":"evt_…","event":"task.updated",
//	 "timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123",
//	 "project_id":"proj_xyz789","data":{"task":{…},"diff":{…}}}
//
// or, with [SchemeStandard], the Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature).
//
// # Events
//
// Every type of the catalog (project.*, task.*, milestone.*,
// comment.created, member.*, webhook.ping) is an [EventType] constant. Data
// holds the resource's full current state under its resource name, a diff
// for update events and an optional actor. The domain model is package
// [github.com/onplana/webhook/onplana]: the typed payloads to decode Data
// into with [Event.DecodeData] (such as onplana.TaskEventData), the Diff
// helper that builds an update's diff, and the Catalog of the types with
// their descriptions, JSON Schemas and sample envelopes. The test ping a
// Dispatcher sends carries what onplana.PingEventData decodes.
//
// # Signatures
//
// The Onplana signature ([Sign]) is the lowercase hex HMAC-SHA256 of the raw
// body, keyed with the secret string as given. X-Onplana-Signature always
// holds exactly one, made with the subscription's newest secret, so a
// receiver written from the Onplana guide (a constant-time comparison of
// the header with its own HMAC) works whatever the rotation state. During a
// rotation's grace period the signatures under the older secrets travel in
// X-Onplana-Signature-Previous ([DefaultPreviousSignatureHeader]),
// space-separated, newest first; the [Receiver] accepts a match in either
// header, so a receiver built on this package that holds only the old
// secret keeps working until the grace period ends, while a hand-written one must switch to the new secret (or compare
// each entry of the second header too). The Standard Webhooks scheme
// ([SignStandard]) signs "id.timestamp.body" with the decoded whsec_ key,
// lists every live secret's signature in webhook-signature as its
// specification says, and is checked with a five-minute tolerance both
// ways. A [Receiver] holds its keyed HMAC states and allocates nothing per
// verification; every error wraps an exported sentinel such as
// [ErrSignatureMismatch].
//
// # Sending
//
// [NewDispatcher] takes a Store and a [Config] whose zero value works.
// [Dispatcher.CreateSubscription] validates the endpoint (https only, no
// credentials, no internal addresses: such an error matches
// [ErrBlockedAddress] and names the Config field that allows a local
// receiver), generates its secret with [NewSecret] (or
// takes the caller's, refused when weak: [ErrWeakSecret]) and sends it a
// webhook.ping. [Dispatcher.Publish] refuses, with a [ValidationError]
// naming the field, an event its catalog entry forbids: it checks the
// project, the resource and the diff itself, and with [Config.Validator]
// set to onplana.Validator() the type's whole JSON Schema
// ([EventValidator]). It returns once one delivery per matching
// subscription is in the store; workers started by
// [Dispatcher.Start] claim due deliveries and POST the stored bytes, signed
// with every unexpired secret of the subscription (so [Dispatcher.RotateSecret]
// has a grace period). Every attempt is recorded in the delivery log.
//
// Claimed deliveries wait in memory in one queue per endpoint (host and
// port), and [Config.Workers] workers take them endpoint by endpoint, in
// turn, with at most [Config.MaxPerEndpoint] attempts in flight to each:
// a backlog to one endpoint keeps its slots busy, while a slow or dead
// endpoint holds only its own slots and a bounded share of the queues,
// and what is due after its backlog is claimed and sent meanwhile.
//
// Outbound requests go through a guarded client ([NewClient]): the SSRF
// guard ([ClientConfig]) checks the address actually dialled, so loopback,
// private, link-local and other non-public addresses are refused even after
// DNS rebinding; proxies from the environment are ignored, redirects are
// never followed, and each attempt has a deadline. Endpoint URLs are
// redacted in logs and errors ([RedactURL]): a Slack incoming-webhook URL is
// itself a credential.
//
// # Retries
//
// Any 2xx is a success. Everything else (3xx, 4xx, 5xx, timeouts, refused or
// reset connections) is retried on the schedule of a [RetryPolicy], by
// default exponential backoff with jitter over three days
// ([ExponentialRetry]). Retries are scheduled in the store, never slept in
// a goroutine, so they survive restarts. A Retry-After header on 429, 502,
// 503 and 504 is honoured within [Config.MaxRetryAfter]; 410 Gone disables
// the subscription, and so do failures with no success for
// [Config.DisableAfter]. A failed delivery can be sent again by hand with
// [Dispatcher.Redeliver].
//
// # Storage
//
// [MemoryStore] keeps everything in the process: for tests, development and
// hosts that accept losing pending deliveries on a crash. The pgstore package
// keeps them in PostgreSQL, shared by many dispatcher processes, and its
// PublishTx records an event's deliveries inside the caller's transaction
// (the outbox pattern); sqlitestore keeps them in one embedded SQLite file.
// Each is a module of its own (github.com/onplana/webhook/pgstore and
// github.com/onplana/webhook/sqlitestore), so this module requires no
// database driver.
// Delivery is at least once: a worker that dies mid-attempt leaves a lease
// that expires, and another worker sends the delivery again with the same
// delivery_id. The storetest package checks any Store against the contract.
//
// Given a key ring (package keyring; pgstore.Config.Keys,
// sqlitestore.Config.Keys, [NewMemoryStoreWithKeys]), a store keeps each
// subscription's signing secrets sealed with AES-256-GCM, the key id beside the ciphertext, so a
// database dump or a backup cannot forge webhooks. Without one, the durable
// stores keep them in clear and log a warning at start-up. Rotating the key
// is online: put the new key first in the ring, keep the old one, call the
// store's ReencryptSecrets, then drop the old key.
//
// # Receiving
//
// [NewHandler] returns a complete endpoint from a [ReceiverConfig] and an
// [EventHandler], usually a [Router] of typed handlers:
//
//	r := webhook.NewRouter()
//	onplana.OnTaskUpdated(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
//		…
//	})
//	h, err := webhook.NewHandler(webhook.ReceiverConfig{Secrets: secrets, Dedupe: webhook.NewMemoryDedupeStore(0)}, r)
//
// It refuses methods other than POST (405), reads the raw body under a size
// cap (413), checks the signature in constant time before anything is
// decoded or routed (401), decodes the envelope (400), skips deliveries
// already processed when [ReceiverConfig.Dedupe] is set, and calls the
// handler with the event and the exact verified bytes. A handler error is
// answered 500, so the sender retries; one wrapped with [Permanent] (a
// retry cannot help) is acknowledged and logged instead. Mount it on an
// [net/http.Server] with ReadHeaderTimeout and ReadTimeout set, so a client
// trickling its body is cut off (the [Receiver] doc shows a configuration).
//
// [Handle] registers on a Router a function taking the event's data decoded
// into a Go type, for an event type, a category ("task.*") or "*"; package
// onplana has one typed helper per catalog type (onplana.OnTaskUpdated) and
// the diff helpers (onplana.ChangeOf). Events no handler takes go to
// [Router.Fallback], or are acknowledged: a receiver keeps working when the
// catalog grows.
//
// The pipeline has four layers, which NewHandler assembles in the only order
// that works and which can also be nested by hand: [Receiver.Middleware]
// verifies; [Idempotency] runs a handler once per delivery_id (duplicates
// of a processed delivery are answered 2xx, a concurrent duplicate is
// refused while the first runs, and a failing handler releases its claim so
// the sender's retry is processed); [AsyncHandler] answers at once and
// processes from a bounded queue, answering 503 when it is full so nothing
// is lost (errors of the handler then go to [AsyncConfig.OnError]);
// [Receiver.ServeEvents] calls the handler.
//
// A handler that is not an http.Handler (a serverless function, a queue
// consumer) verifies and decodes a delivery in one call with [VerifyEvent]
// or [Receiver.VerifyEvent]. [Verify] checks a signature by hand;
// [VerifyStandard] does the same for Standard Webhooks, with a timestamp
// tolerance against replays. Every secret is a
// [Secret], printed redacted; [Secret.Reveal] returns its value.
//
// # Observability
//
// A [Config.Observer] is told about every attempt and every delivery that
// ends; optional interfaces tell it more ([AttemptObserver],
// [TraceObserver], [DisableObserver], [HeaderInjector]). With a
// TraceObserver, Publish keeps the trace context of its ctx with each
// delivery ([Delivery.TraceContext]), so an attempt made days later, by
// another process, can be linked to the trace that published the event.
// Stores that implement [QueueStatsStore] report their backlog. On the
// receiving side, [ReceiverConfig.Observer] learns why requests were
// refused, about duplicates and every run of the handler, and
// [AsyncHandler.Stats] reports the queue. The otelwebhook package, a module
// of its own (github.com/onplana/webhook/otelwebhook), implements them all
// with OpenTelemetry metrics and spans.
//
// # Shutdown
//
// [Dispatcher.Close] stops claiming, waits for attempts in flight and leaves
// everything else pending in the store; [Dispatcher.Drain], before it,
// waits until nothing is due. [Handler.Shutdown] and [AsyncHandler.Shutdown]
// drain the receiver's queue. They return ctx.Err() if the caller stops
// waiting.
package webhook
