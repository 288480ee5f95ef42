package webhook

// This file holds the payload of webhook.ping, the test event that a
// Dispatcher sends to a new subscription and on demand, whatever the
// product's own events are. Receivers decode it with the onplana package's
// PingEventData.

// pingEventData is the Data of webhook.ping, sent when a subscription is
// created and on demand, so the receiver can check it is reachable and that
// its secret verifies.
type pingEventData struct {
	Webhook webhookRef `json:"webhook"`
	Message string     `json:"message"`
}

// webhookRef describes the subscription a ping is sent to. It deliberately
// leaves out the URL (which can be a credential) and the secrets.
type webhookRef struct {
	ID          string   `json:"id"`
	EventTypes  []string `json:"event_types"`
	Description string   `json:"description,omitempty"`
}

// PingMessage is the Message of the pings the library sends.
const PingMessage = "Test ping: verify its signature and answer with a 2xx status."

// newPingData returns the Data of a webhook.ping to sub: its id, its event
// types and description, and PingMessage. It never includes the URL or the
// secrets. A nil sub yields an empty webhookRef.
func newPingData(sub *Subscription) pingEventData {
	d := pingEventData{Message: PingMessage, Webhook: webhookRef{EventTypes: []string{}}}
	if sub != nil {
		d.Webhook.ID = sub.ID
		d.Webhook.Description = sub.Description
		d.Webhook.EventTypes = append(d.Webhook.EventTypes, sub.EventTypes...)
	}
	return d
}
