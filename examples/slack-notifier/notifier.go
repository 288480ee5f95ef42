package main

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// notifier turns events into Slack messages. Its handlers, registered by
// routes, run on the AsyncHandler's workers, after the delivery was
// answered. Safe for concurrent use.
type notifier struct {
	slack      *slackClient
	perProject bool // create a channel per project (needs a bot token)
	prefix     string
	log        *slog.Logger

	mu       sync.Mutex
	names    map[string]string // project id → name, learnt from project events
	channels map[string]string // project id → Slack channel id
}

func newNotifier(s *slackClient, perProject bool, prefix string, log *slog.Logger) *notifier {
	return &notifier{slack: s, perProject: perProject, prefix: prefix, log: log,
		names: map[string]string{}, channels: map[string]string{}}
}

// routes registers the notifier's handlers on r: every project event
// (which teaches it project names), completed milestones, and created or
// updated tasks. The Router acknowledges every other type. An error of a
// handler is reported to the AsyncHandler's OnError and releases the
// delivery's dedupe claim, so a redelivery from the delivery log posts
// again.
func (n *notifier) routes(r *webhook.Router) {
	onplana.OnProject(r, n.project)
	onplana.OnMilestoneCompleted(r, n.milestone)
	onplana.OnTaskCreated(r, n.task)
	onplana.OnTaskUpdated(r, n.task)
}

// post posts msg to the channel of the event's project.
func (n *notifier) post(ctx context.Context, e *webhook.Event, msg message) error {
	msg.Channel = n.channel(e.ProjectID)
	if err := n.slack.post(ctx, msg); err != nil {
		return fmt.Errorf("post %s %s to Slack: %w", e.Type, e.DeliveryID, err)
	}
	n.log.InfoContext(ctx, "posted to Slack", "event", e.Type, "delivery_id", e.DeliveryID, "channel", msg.Channel)
	return nil
}

// project remembers the project's name, creates its channel on
// project.created, and announces a status change to at risk or off track.
func (n *notifier) project(ctx context.Context, e *webhook.Event, d *onplana.ProjectEventData) error {
	p := d.Project
	n.mu.Lock()
	n.names[p.ID] = p.Name
	n.mu.Unlock()

	switch e.Type {
	case webhook.EventProjectCreated:
		if n.perProject {
			return n.createChannel(ctx, p)
		}
	case webhook.EventProjectStatusChanged:
		if p.Status != onplana.ProjectStatusAtRisk && p.Status != onplana.ProjectStatusOffTrack {
			return nil // back on track: not worth a ping
		}
		icon := "⚠️"
		if p.Status == onplana.ProjectStatusOffTrack {
			icon = "🔴"
		}
		before, _, _, err := onplana.ChangeOf[onplana.ProjectStatus](d.Diff, "status")
		if err != nil {
			return err
		}
		status := statusLabel(p.Status)
		if before != "" {
			status = statusLabel(before) + " → " + status
		}
		return n.post(ctx, e, notice{
			title:  fmt.Sprintf("%s Project %s is %s", icon, p.Name, statusLabel(p.Status)),
			fields: [][2]string{{"Project", p.Name}, {"Status", status}, {"Changed by", who(d.Actor)}},
			link:   p.URL,
			footer: footer(e),
		}.render())
	}
	return nil
}

// milestone announces a completed milestone.
func (n *notifier) milestone(ctx context.Context, e *webhook.Event, d *onplana.MilestoneEventData) error {
	m := d.Milestone
	return n.post(ctx, e, notice{
		title:  "🏁 Milestone completed: " + m.Name,
		fields: [][2]string{{"Milestone", m.Name}, {"Project", n.projectName(m.ProjectID)}, {"Completed by", who(d.Actor)}, {"Status", statusLabel(m.Status)}},
		link:   m.URL,
		footer: footer(e),
	}.render())
}

// task announces a task that became blocked (created blocked, or updated
// with a diff whose status turned to blocked). Routine task updates are
// deliberately ignored: a channel that fires on every edit gets muted.
func (n *notifier) task(ctx context.Context, e *webhook.Event, d *onplana.TaskEventData) error {
	t := d.Task
	status := statusLabel(t.Status)
	if e.Type == webhook.EventTaskUpdated {
		before, after, changed, err := onplana.ChangeOf[onplana.TaskStatus](d.Diff, "status")
		if err != nil || !changed || after != onplana.TaskStatusBlocked {
			return err
		}
		status = statusLabel(before) + " → " + statusLabel(after)
	} else if t.Status != onplana.TaskStatusBlocked {
		return nil
	}
	fields := [][2]string{{"Task", t.Title}, {"Project", n.projectName(t.ProjectID)}, {"Status", status}, {"Changed by", who(d.Actor)}}
	if t.DueDate != "" {
		fields = append(fields, [2]string{"Due", t.DueDate})
	}
	return n.post(ctx, e, notice{
		title:  "⛔ Task blocked: " + t.Title,
		fields: fields,
		link:   t.URL,
		footer: footer(e),
	}.render())
}

// projectName is the project's name if a project event taught it, else
// its id. (A production notifier would ask the Onplana REST API.)
func (n *notifier) projectName(id string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name := n.names[id]; name != "" {
		return name
	}
	return id
}

// channel is the project's own channel, or "" for the incoming webhook's.
func (n *notifier) channel(projectID string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.channels[projectID]
}

// createChannel creates the project's channel with conversations.create.
func (n *notifier) createChannel(ctx context.Context, p onplana.Project) error {
	id, err := n.slack.createChannel(ctx, channelName(n.prefix, p))
	if err != nil {
		return fmt.Errorf("create channel of project %s: %w", p.ID, err)
	}
	n.mu.Lock()
	n.channels[p.ID] = id
	n.mu.Unlock()
	n.log.InfoContext(ctx, "created Slack channel", "project_id", p.ID, "channel", id)
	return nil
}

var notChannelChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// channelName derives a valid Slack channel name (lower case letters,
// digits, - and _, at most 80 characters) from the project's name, with the
// end of its id so that two projects of the same name do not collide.
func channelName(prefix string, p onplana.Project) string {
	slug := strings.Trim(notChannelChars.ReplaceAllString(strings.ToLower(p.Name), "-"), "-")
	id := strings.TrimPrefix(p.ID, "proj_")
	if len(id) > 6 {
		id = id[len(id)-6:]
	}
	id = notChannelChars.ReplaceAllString(strings.ToLower(id), "")
	if max := 80 - len(prefix) - len(id) - 1; len(slug) > max {
		slug = strings.TrimRight(slug[:max], "-")
	}
	if slug == "" {
		return prefix + id
	}
	return prefix + slug + "-" + id
}
