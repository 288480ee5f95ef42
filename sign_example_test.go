package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/onplana/webhook"
)

// A sender signs the raw body with the subscription's secret; the result is
// the X-Onplana-Signature header. (Secret and body are GitHub's documented
// example, so the output can be checked against their docs.)
func ExampleSign() {
	secret := webhook.Secret("It's a Secret to Everybody")
	body := []byte("Hello, World!")
	fmt.Println(webhook.Sign(secret, body))
	// Output:
	// 757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}

// A receiver verifies the raw body it read against the signature header,
// before decoding anything. A body changed in transit, even by one space,
// is rejected.
func ExampleVerify() {
	secret := webhook.Secret("whsec_RhAzxBWy9Mjy1ckyHXDFCu4ncs0FeYUjT3f1rIZF4x8=")
	body := []byte(`{"event":"task.updated","data":{"task":{"id":"task_42"}}}`)
	signature := webhook.Sign(secret, body) // what the header carries

	fmt.Println(webhook.Verify(body, signature, secret))

	tampered := []byte(`{"event":"task.updated", "data":{"task":{"id":"task_42"}}}`)
	err := webhook.Verify(tampered, signature, secret)
	fmt.Println(errors.Is(err, webhook.ErrSignatureMismatch))

	err = webhook.Verify(body, "", secret)
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// webhook: missing signature
}

// During a rotation a receiver holds the new and the old secret, so
// deliveries signed with either verify; once the old secret is removed, its
// signatures stop verifying. A placeholder secret is refused outright.
func ExampleVerify_rotation() {
	newSecret := webhook.Secret("whsec_RhAzxBWy9Mjy1ckyHXDFCu4ncs0FeYUjT3f1rIZF4x8=")
	oldSecret := webhook.Secret("whsec_0nHlA3sVpWAeMNBMgpN1i3G0ICrSO9hQtX1FiQm6Vd4=")
	body := []byte(`{"event":"webhook.ping","data":{}}`)
	signedWithOld := webhook.Sign(oldSecret, body)

	fmt.Println(webhook.Verify(body, signedWithOld, newSecret, oldSecret)) // during
	fmt.Println(webhook.Verify(body, signedWithOld, newSecret))            // after
	err := webhook.Verify(body, signedWithOld, "changeme")
	fmt.Println(errors.Is(err, webhook.ErrNoSecret))
	// Output:
	// <nil>
	// webhook: no matching signature
	// true
}

// The Standard Webhooks scheme signs "id.timestamp.body"; this is the
// specification's own test vector.
func ExampleSignStandard() {
	sig, err := webhook.SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(sig, err)
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= <nil>
}

// VerifyStandard checks the values of the three webhook-* headers and
// refuses messages older (or newer) than DefaultTolerance, so a captured
// request cannot be replayed later.
func ExampleVerifyStandard() {
	secret := webhook.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	body := []byte(`{"test": 2432232314}`)
	for _, age := range []time.Duration{time.Minute, time.Hour} {
		sent := time.Now().Add(-age)
		sig, err := webhook.SignStandard(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent, body)
		if err != nil {
			panic(err)
		}
		ts := strconv.FormatInt(sent.Unix(), 10) // the webhook-timestamp header
		fmt.Printf("sent %v ago: %v\n", age, webhook.VerifyStandard(body, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, sig, secret))
	}
	// Output:
	// sent 1m0s ago: <nil>
	// sent 1h0m0s ago: webhook: bad timestamp: older than the 5m0s tolerance
}

// Signer writes the headers of one delivery: here during a secret rotation,
// so the signature header carries the newest secret's signature and the
// previous-signatures header the older secret's.
func ExampleSigner_SignRequest() {
	current := webhook.Secret("whsec_RhAzxBWy9Mjy1ckyHXDFCu4ncs0FeYUjT3f1rIZF4x8=")
	previous := webhook.Secret("whsec_0nHlA3sVpWAeMNBMgpN1i3G0ICrSO9hQtX1FiQm6Vd4=")
	body := []byte(`{"event":"webhook.ping","data":{}}`)

	h := http.Header{}
	err := webhook.Signer{}.SignRequest(h, []webhook.Secret{current, previous},
		"dlv_1", webhook.EventPing, time.Now(), body)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Get("X-Onplana-Event"))
	// X-Onplana-Signature holds one value, made with the current secret:
	// what a receiver written from the Onplana guide compares.
	fmt.Println(h.Get("X-Onplana-Signature") == webhook.Sign(current, body))
	// The previous secret's signature travels in X-Onplana-Signature-Previous,
	// which a Receiver also checks: a receiver that holds only the previous
	// secret still verifies during the grace period.
	fmt.Println(webhook.Verify(body, h.Get("X-Onplana-Signature-Previous"), previous))
	// Output:
	// webhook.ping
	// true
	// <nil>
}
