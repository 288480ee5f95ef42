package onplana

import (
	"encoding/json"

	"github.com/onplana/webhook"
)

// ValidateEnvelope checks a whole envelope, as received, against the
// compiled schema of typ: the check Validator makes on the envelope it
// builds from an Event, open to envelopes the Event cannot express.
func ValidateEnvelope(typ webhook.EventType, body []byte) error {
	var env any
	if err := json.Unmarshal(body, &env); err != nil {
		return err
	}
	if v := compiledSchemas()[typ].validate(env); v != nil {
		return &webhook.ValidationError{Field: v.field(), Reason: v.reason}
	}
	return nil
}
