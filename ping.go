package webhook

// This file holds the payload of webhook.ping, the test event that a
// Dispatcher sends to a new subscription and on demand, whatever the
// product's own events are.

// PingEventData is the Data of webhook.ping, sent when a subscription is
// created and on demand, so the receiver can check it is reachable and that
// its secret verifies.
type PingEventData struct {
	Webhook WebhookRef `json:"webhook"`
	Message string     `json:"message"`
}

// WebhookRef describes the subscription a ping is sent to. It deliberately
// leaves out the URL (which can be a credential) and the secrets.
type WebhookRef struct {
	ID          string   `json:"id"`
	EventTypes  []string `json:"event_types"`
	Description string   `json:"description,omitempty"`
}

// PingMessage is the Message of the pings the library sends.
const PingMessage = "Test ping: verify its signature and answer with a 2xx status."

// NewPingData returns the Data of a webhook.ping to sub: its id, its event
// types and description, and PingMessage. It never includes the URL or the
// secrets. A nil sub yields an empty WebhookRef.
func NewPingData(sub *Subscription) PingEventData {
	d := PingEventData{Message: PingMessage, Webhook: WebhookRef{EventTypes: []string{}}}
	if sub != nil {
		d.Webhook.ID = sub.ID
		d.Webhook.Description = sub.Description
		d.Webhook.EventTypes = append(d.Webhook.EventTypes, sub.EventTypes...)
	}
	return d
}
