package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// exampleSend plays the sender: it POSTs the envelope body to url, signed
// with secret as the Dispatcher signs it, and returns the response status.
func exampleSend(url string, secret webhook.Secret, body []byte) string {
	e, err := webhook.ParseEvent(body)
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := (webhook.Signer{}).SignRequest(req.Header, []webhook.Secret{secret}, e.DeliveryID, e.Type, time.Now(), body); err != nil {
		log.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	return resp.Status
}

// A complete receiver for task.updated: verified, deduplicated, with the
// task decoded and the changed due date read from the diff. Other event
// types, including those added to the catalog later, are acknowledged.
func ExampleNewHandler() {
	secret := webhook.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") // from your secret manager

	r := webhook.NewRouter()
	onplana.OnTaskUpdated(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
		before, after, changed, err := onplana.ChangeOf[string](data.Diff, "due_date")
		if err != nil {
			return err
		}
		if changed {
			fmt.Printf("%q is now due %s (was %s)\n", data.Task.Title, after, before)
		}
		return nil // 204; an error answers 500 and the sender retries
	})
	h, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{secret},
		Dedupe:  webhook.NewMemoryDedupeStore(100_000), // a retry of a processed delivery is not run again
		Logger:  slog.New(slog.DiscardHandler),
	}, r)
	if err != nil {
		log.Fatal(err)
	}

	// In production: http.Handle("/webhooks/onplana", h) on an http.Server
	// with ReadHeaderTimeout and ReadTimeout set (see Receiver).
	srv := httptest.NewServer(h)
	defer srv.Close()
	info, _ := onplana.LookupEvent(webhook.EventTaskUpdated)
	fmt.Println(exampleSend(srv.URL, secret, info.Sample))
	fmt.Println(exampleSend(srv.URL, secret, info.Sample)) // the sender's retry
	fmt.Println(exampleSend(srv.URL, "whsec_bm90IHRoZSByaWdodCBzZWNyZXQ=", info.Sample))
	// Output:
	// "Migrate the pricing page to the new CMS" is now due 2026-07-03 (was 2026-07-01)
	// 204 No Content
	// 200 OK
	// 401 Unauthorized
}

// Typed handlers for one type, for a whole category, and a fallback that
// keeps what this receiver does not know yet.
func ExampleRouter() {
	r := webhook.NewRouter()
	onplana.OnTaskCompleted(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
		fmt.Println("completed:", data.Task.Title)
		return nil
	})
	onplana.OnTask(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
		fmt.Println(e.Type, "of", data.Task.ID)
		return nil
	})
	r.Fallback(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		fmt.Println("not handled yet:", e.Type)
		return nil
	}))

	for _, typ := range []webhook.EventType{webhook.EventTaskCompleted, webhook.EventTaskAssigned, webhook.EventCommentCreated} {
		info, _ := onplana.LookupEvent(typ)
		e, _ := webhook.ParseEvent(info.Sample)
		if err := r.HandleEvent(context.Background(), e, info.Sample); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// completed: Migrate the pricing page to the new CMS
	// task.assigned of task_8f3k2m
	// not handled yet: comment.created
}

// A function that is not an http.Handler (a serverless function, a queue
// consumer) verifies and decodes a delivery in one call.
func ExampleVerifyEvent() {
	secret := webhook.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	body := []byte(`{"delivery_id":"dlv_01","event_id":"evt_01","event":"task.completed",` +
		`"timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123","data":{"task":{"title":"Ship"}}}`)
	signature := webhook.Sign(secret, body) // the X-Onplana-Signature header

	e, err := webhook.VerifyEvent(body, signature, secret)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Type, e.DeliveryID)

	_, err = webhook.VerifyEvent(body, signature, "whsec_bm90IHRoZSByaWdodCBzZWNyZXQ=")
	fmt.Println(err)
	// Output:
	// task.completed dlv_01
	// webhook: no matching signature
}
