package webhook

// EventTypes exposes the ordered list of types to the external tests.
var EventTypes = eventTypes
