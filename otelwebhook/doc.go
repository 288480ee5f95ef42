// Package otelwebhook reports what the webhook package's Dispatcher and
// Receiver do as OpenTelemetry metrics and spans. It is a module of its
// own (go get github.com/onplana/webhook/otelwebhook), so that programs
// using the webhook package without it have no OpenTelemetry dependency.
//
// On the sending side, an [Observer] is the Dispatcher's Config.Observer,
// and [Observer.ObserveQueue] adds the gauges of a store's queue:
//
//	obs, err := otelwebhook.NewObserver(nil) // the global providers
//	d, err := webhook.NewDispatcher(store, &webhook.Config{Observer: obs})
//	_, err = obs.ObserveQueue(store)
//
// With pgstore's PublishTx, set pgstore.Config.TraceContext to
// obs.TraceContext as well. On the receiving side, a [ReceiverObserver] is
// the ReceiverConfig.Observer:
//
//	obs, err := otelwebhook.NewReceiverObserver(nil)
//	h, err := webhook.NewHandler(webhook.ReceiverConfig{Secrets: secrets, Observer: obs}, router)
//	http.Handle("/webhooks", obs.Middleware(h))
//
// # Metrics
//
// Names follow OpenTelemetry's conventions: a webhook. namespace, units in
// UCUM, durations in seconds as histograms, attributes of the semantic
// conventions where one fits (error.type, http.response.status_code,
// server.address, server.port). Sending side:
//
//	webhook.deliveries               counter {delivery}    webhook.event.type, webhook.delivery.state (succeeded, failed)
//	webhook.delivery.duration        histogram s           same; from Publish to the end of the delivery, retries included
//	webhook.attempts                 counter {attempt}     webhook.event.type, server.address, server.port,
//	                                                       http.response.status_code (when there was a response),
//	                                                       error.type (failures only: the status code, or timeout,
//	                                                       connection, blocked, other), webhook.subscription.id
//	                                                       (with Config.SubscriptionMetrics)
//	webhook.attempt.duration         histogram s           same as webhook.attempts
//	webhook.subscriptions.disabled   counter {subscription} webhook.disable.reason (gone, failing)
//	webhook.queue.deliveries         gauge {delivery}      webhook.delivery.state (pending, delivering, held)
//	webhook.queue.oldest.age         gauge s               age of the oldest delivery waiting
//	webhook.queue.lag                gauge s               how long the earliest due delivery has been due
//
// Receiving side:
//
//	webhook.receiver.rejections         counter {request}  http.response.status_code, error.type (a webhook.RejectReason:
//	                                                       invalid_signature, missing_signature, too_large, malformed,
//	                                                       queue_full, …)
//	webhook.receiver.duplicates         counter {delivery} webhook.event.type, webhook.dedupe.result (done, in_flight)
//	webhook.receiver.handler.duration   histogram s        webhook.event.type, error.type (failures only)
//	webhook.receiver.handler.errors     counter {error}    webhook.event.type, error.type (permanent, panic, aborted,
//	                                                       or the error's Go type or ErrorType() method)
//	webhook.receiver.async.queue.length gauge {event}      events waiting in an AsyncHandler (ObserveAsync)
//	webhook.receiver.async.queue.limit  gauge {event}      its capacity
//
// # Spans
//
// Each attempt is an HTTP client span ("POST") with the event type and
// id, the delivery and subscription ids, the attempt number, status,
// error type and class, and the endpoint's URL redacted as in logs
// (webhook.RedactURL). It links to the span around the Publish call that
// created the delivery, whose trace context the store keeps with the
// delivery: the link survives a restart, and holds when another process
// makes the attempt. No trace header is sent to endpoints unless
// Config.PropagateToEndpoints is set.
//
// On the receiving side each run of the event handler is a consumer span,
// a child of the request's server span ([ReceiverObserver.Middleware], or
// the host's HTTP instrumentation), which also gets the event's attributes
// and an event per rejection or duplicate.
package otelwebhook
