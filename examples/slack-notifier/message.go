package main

import (
	"fmt"
	"strings"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// message is a Slack message: the payload of an incoming webhook, and of
// chat.postMessage with Channel set. Text is the fallback shown in
// notifications; Blocks is the Block Kit layout.
type message struct {
	Channel string  `json:"channel,omitempty"`
	Text    string  `json:"text"`
	Blocks  []block `json:"blocks"`
}

// block is one Block Kit block. Only the fields of the block types used
// here (header, section, actions, context) are modelled.
type block struct {
	Type     string     `json:"type"`
	Text     *textObj   `json:"text,omitempty"`
	Fields   []textObj  `json:"fields,omitempty"`
	Elements []blockElt `json:"elements,omitempty"`
}

type textObj struct {
	Type string `json:"type"` // "plain_text" or "mrkdwn"
	Text string `json:"text"`
}

// blockElt is an element of an actions block (a link button) or of a
// context block (a text object).
type blockElt struct {
	Type string `json:"type"`
	Text any    `json:"text,omitempty"` // *textObj for buttons, string for context mrkdwn
	URL  string `json:"url,omitempty"`
	ID   string `json:"action_id,omitempty"`
}

// notice is what a message says, before it is laid out.
type notice struct {
	title  string // header, plain text
	fields [][2]string
	link   string // the resource in the web app
	footer string // context line, mrkdwn
}

// render lays a notice out as Block Kit: a header, a section of fields, a
// button linking to the resource, and a context line.
func (n notice) render() message {
	var fields []textObj
	var plain []string
	for _, f := range n.fields {
		fields = append(fields, textObj{Type: "mrkdwn", Text: "*" + escape(f[0]) + "*\n" + escape(f[1])})
		plain = append(plain, f[0]+": "+f[1])
	}
	m := message{
		// The fallback text is mrkdwn too: escaped like the fields.
		Text: escape(n.title + " — " + strings.Join(plain, ", ")),
		Blocks: []block{
			{Type: "header", Text: &textObj{Type: "plain_text", Text: truncate(n.title, 150)}},
			{Type: "section", Fields: fields},
		},
	}
	if n.link != "" {
		m.Blocks = append(m.Blocks, block{Type: "actions", Elements: []blockElt{{
			Type: "button", Text: &textObj{Type: "plain_text", Text: "Open in Onplana"}, URL: n.link, ID: "open",
		}}})
	}
	if n.footer != "" {
		m.Blocks = append(m.Blocks, block{Type: "context", Elements: []blockElt{{Type: "mrkdwn", Text: n.footer}}})
	}
	return m
}

// escape makes user text safe in mrkdwn: Slack reads &, < and > as markup
// (links, mentions such as <!channel>), so a task title could otherwise
// ping a whole channel.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n runes; Block Kit rejects longer texts.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// who names the actor of an event.
func who(a *onplana.Actor) string {
	switch {
	case a == nil:
		return "someone"
	case a.Name != "":
		return a.Name
	case a.Email != "":
		return a.Email
	}
	return a.ID
}

// statusLabel turns "at_risk" into "at risk".
func statusLabel[S ~string](s S) string { return strings.ReplaceAll(string(s), "_", " ") }

// footer is the context line of every message.
func footer(e *webhook.Event) string {
	return fmt.Sprintf("%s · %s", e.Type, e.Timestamp.UTC().Format("2006-01-02 15:04 UTC"))
}
