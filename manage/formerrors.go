package manage

import (
	"regexp"
	"strings"
)

// The library's validation errors name Go fields and speak its own
// language ("url: host 10.1.2.3 is not a public address: private network
// (RFC 1918)"): right for the API, whose answer names the JSON field, but
// not for a person filling in the add form. formMessage says the same in
// the form's terms.

// hostNotPublicRE reads the Dispatcher's reason for an IP literal the
// SSRF guard refuses.
var hostNotPublicRE = regexp.MustCompile(`^host (\S+) is not a public address: (.+)$`)

// formMessage returns what the add form says for the field (as the API
// names it) and the library's reason.
func formMessage(field, reason string) string {
	switch field {
	case "url":
		return urlMessage(reason)
	case "event_types":
		switch {
		case reason == "at least one event type is required":
			return "Choose at least one event, or All events."
		case strings.HasSuffix(reason, "listed twice"):
			return "Choose each event once."
		}
		return "Choose events from the list."
	case "project_id":
		if strings.HasPrefix(reason, "longer than") {
			return "This project id is too long."
		}
		return "Enter a valid project id."
	case "description":
		if strings.HasPrefix(reason, "longer than") {
			return "Keep the description under 1,024 characters."
		}
		return "The description holds characters that cannot be read."
	}
	return sentence(reason)
}

func urlMessage(reason string) string {
	if m := hostNotPublicRE.FindStringSubmatch(reason); m != nil {
		return "Enter a public URL: " + notPublic(m[1], m[2])
	}
	switch {
	case reason == "required":
		return "Enter the endpoint URL."
	case strings.HasPrefix(reason, "host ") && strings.HasSuffix(reason, " is loopback"):
		host := strings.TrimSuffix(strings.TrimPrefix(reason, "host "), " is loopback")
		return "Enter a public URL: " + notPublic(host, "loopback")
	case strings.HasPrefix(reason, "contains a space"):
		return "Remove the spaces from the URL, or write each one as %20."
	case strings.HasSuffix(reason, "in a non-standard notation"):
		return "Write the host as a name, or as a standard IP address."
	case strings.HasPrefix(reason, "scheme "):
		return "The URL must start with https://."
	case strings.HasPrefix(reason, "must not contain credentials"):
		return "Remove the user name and password from the URL: each delivery is signed with the webhook's secret instead."
	case strings.HasPrefix(reason, "must not contain a fragment"):
		return "Remove the #… part from the URL."
	case strings.HasPrefix(reason, "port "):
		return "The port must be a number from 1 to 65535."
	case strings.HasPrefix(reason, "longer than"):
		return "This URL is too long."
	case reason == "must be an absolute URL", reason == "must have a host", strings.HasPrefix(reason, "not a valid URL"):
		return "Enter a full URL, such as https://example.com/webhooks."
	}
	return "Check the endpoint URL: " + sentence(reason)
}
