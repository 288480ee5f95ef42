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
)

// exampleDelivery plays the sender: it POSTs body to url signed with secret,
// as the Dispatcher does, and returns the response status.
func exampleDelivery(url string, secret webhook.Secret, body []byte) string {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	err = webhook.Signer{}.SignRequest(req.Header, []webhook.Secret{secret}, "dlv_01", webhook.EventTaskCompleted, time.Now(), body)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	return resp.Status
}

const exampleBody = `{"delivery_id":"dlv_01","event_id":"evt_01","event":"task.completed",` +
	`"timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123","project_id":"proj_xyz789",` +
	`"data":{"task":{"id":"task_8f3k2m","title":"Ship the pricing page"}}}`

// An untyped handler behind NewHandler: verified, then called with the
// event; a forged delivery never reaches it.
func ExampleNewHandler_eventHandlerFunc() {
	// The secret shown once when the webhook was created; keep it in a
	// secret manager, not in code.
	secret := webhook.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

	handler, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{secret},
		Logger:  slog.New(slog.DiscardHandler),
	}, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		var data struct {
			Task struct{ Title string } `json:"task"`
		}
		if err := e.DecodeData(&data); err != nil {
			return err
		}
		fmt.Printf("%s in %s: %q\n", e.Type, e.ProjectID, data.Task.Title)
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}

	// In production, mount handler on an http.Server with ReadHeaderTimeout
	// and ReadTimeout set (see Receiver).
	srv := httptest.NewServer(handler)
	defer srv.Close()

	fmt.Println(exampleDelivery(srv.URL, secret, []byte(exampleBody)))
	fmt.Println(exampleDelivery(srv.URL, "whsec_bm90IHRoZSByaWdodCBzZWNyZXQ=", []byte(exampleBody)))
	// Output:
	// task.completed in proj_xyz789: "Ship the pricing page"
	// 204 No Content
	// 401 Unauthorized
}

func ExampleIdempotency_Middleware() {
	secret := webhook.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	rv, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: []webhook.Secret{secret}})
	if err != nil {
		log.Fatal(err)
	}
	// One process: a memory store. Several: a shared one such as pgstore.
	idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(100_000), nil)
	if err != nil {
		log.Fatal(err)
	}
	handle := webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		fmt.Println("handling", e.DeliveryID)
		return nil
	})
	srv := httptest.NewServer(rv.Middleware(idem.Middleware(rv.ServeEvents(handle))))
	defer srv.Close()

	// The sender retries a delivery whose 2xx it did not see: same bytes,
	// same delivery_id. The handler runs once; the retry is acknowledged.
	fmt.Println(exampleDelivery(srv.URL, secret, []byte(exampleBody)))
	fmt.Println(exampleDelivery(srv.URL, secret, []byte(exampleBody)))
	// Output:
	// handling dlv_01
	// 204 No Content
	// 200 OK
}

func ExampleNewAsyncHandler() {
	secret := webhook.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	rv, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: []webhook.Secret{secret}})
	if err != nil {
		log.Fatal(err)
	}
	handled := make(chan string, 1)
	async, err := webhook.NewAsyncHandler(webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		handled <- e.ID
		return nil
	}), &webhook.AsyncConfig{
		QueueSize: 1000,
		Workers:   4,
		OnError: func(ctx context.Context, e *webhook.Event, body []byte, err error) {
			log.Printf("event %s failed after 202: %v", e.DeliveryID, err) // dead-letter it here
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(rv.Middleware(async))
	defer srv.Close()

	fmt.Println(exampleDelivery(srv.URL, secret, []byte(exampleBody)))
	fmt.Println("handled", <-handled)

	// On shutdown: stop the server first, then drain the queue.
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := async.Shutdown(ctx); err != nil {
		log.Print(err)
	}
	// Output:
	// 202 Accepted
	// handled evt_01
}

func ExamplePermanent() {
	secret := webhook.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	projects := map[string]bool{"proj_other": true} // proj_xyz789 was deleted here
	handler, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{secret},
		Logger:  slog.New(slog.DiscardHandler),
	}, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
		if !projects[e.ProjectID] {
			// Retrying for days would fail the same way: acknowledge it.
			return webhook.Permanent(fmt.Errorf("project %s is not synced here", e.ProjectID))
		}
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	fmt.Println(exampleDelivery(srv.URL, secret, []byte(exampleBody)))
	// Output:
	// 200 OK
}
