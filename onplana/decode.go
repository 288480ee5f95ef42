package onplana

import (
	"github.com/onplana/webhook/internal/jsondec"
)

// The payload types decode themselves: webhook.Router hands them the data
// of a verified event, which the receiver has already validated, and their
// UnmarshalJSON reads it in one pass without reflection. encoding/json
// would scan it twice (once to validate, once to decode) and cost several
// times the HMAC that verified it. The result is what encoding/json would
// give for the same struct without the method; the tests compare the two
// on every sample and on fuzzed input.

func init() {
	// For webhook.Router, which decodes the data of an envelope while
	// parsing it, in the one pass that also validates it.
	jsondec.Register(func(b []byte, i, depth int, p *ProjectEventData) (int, error) {
		d := jsondec.NewAt(b, i, depth)
		decodeProjectEvent(&d, p)
		return d.Pos(), d.Err()
	})
	jsondec.Register(func(b []byte, i, depth int, p *TaskEventData) (int, error) {
		d := jsondec.NewAt(b, i, depth)
		decodeTaskEvent(&d, p)
		return d.Pos(), d.Err()
	})
	jsondec.Register(func(b []byte, i, depth int, p *MilestoneEventData) (int, error) {
		d := jsondec.NewAt(b, i, depth)
		decodeMilestoneEvent(&d, p)
		return d.Pos(), d.Err()
	})
	jsondec.Register(func(b []byte, i, depth int, p *CommentEventData) (int, error) {
		d := jsondec.NewAt(b, i, depth)
		decodeCommentEvent(&d, p)
		return d.Pos(), d.Err()
	})
	jsondec.Register(func(b []byte, i, depth int, p *MemberEventData) (int, error) {
		d := jsondec.NewAt(b, i, depth)
		decodeMemberEvent(&d, p)
		return d.Pos(), d.Err()
	})
}

// UnmarshalJSON decodes data into p exactly as encoding/json decodes it
// into a ProjectEventData without this method, faster. On error, p may be
// partly set.
func (p *ProjectEventData) UnmarshalJSON(data []byte) error {
	d := jsondec.New(data)
	decodeProjectEvent(&d, p)
	return d.End()
}

// decodeProjectEvent decodes the value at d into p, as encoding/json decodes it
// into a ProjectEventData without its UnmarshalJSON.
func decodeProjectEvent(d *jsondec.Decoder, p *ProjectEventData) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, projectEventFields) {
		case "project":
			decodeProject(d, &p.Project)
		case "diff":
			decodeChanges(d, &p.Diff)
		case "actor":
			decodeActor(d, &p.Actor)
		default:
			d.Skip()
		}
	})
}

// UnmarshalJSON decodes data into p exactly as encoding/json decodes it
// into a TaskEventData without this method, faster. On error, p may be
// partly set.
func (p *TaskEventData) UnmarshalJSON(data []byte) error {
	d := jsondec.New(data)
	decodeTaskEvent(&d, p)
	return d.End()
}

// decodeTaskEvent decodes the value at d into p, as encoding/json decodes it
// into a TaskEventData without its UnmarshalJSON.
func decodeTaskEvent(d *jsondec.Decoder, p *TaskEventData) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, taskEventFields) {
		case "task":
			decodeTask(d, &p.Task)
		case "diff":
			decodeChanges(d, &p.Diff)
		case "assignee_id":
			jsondec.String(d, &p.AssigneeID)
		case "actor":
			decodeActor(d, &p.Actor)
		default:
			d.Skip()
		}
	})
}

// UnmarshalJSON decodes data into p exactly as encoding/json decodes it
// into a MilestoneEventData without this method, faster. On error, p may be
// partly set.
func (p *MilestoneEventData) UnmarshalJSON(data []byte) error {
	d := jsondec.New(data)
	decodeMilestoneEvent(&d, p)
	return d.End()
}

// decodeMilestoneEvent decodes the value at d into p, as encoding/json decodes it
// into a MilestoneEventData without its UnmarshalJSON.
func decodeMilestoneEvent(d *jsondec.Decoder, p *MilestoneEventData) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, milestoneEventFields) {
		case "milestone":
			decodeMilestone(d, &p.Milestone)
		case "diff":
			decodeChanges(d, &p.Diff)
		case "actor":
			decodeActor(d, &p.Actor)
		default:
			d.Skip()
		}
	})
}

// UnmarshalJSON decodes data into p exactly as encoding/json decodes it
// into a CommentEventData without this method, faster. On error, p may be
// partly set.
func (p *CommentEventData) UnmarshalJSON(data []byte) error {
	d := jsondec.New(data)
	decodeCommentEvent(&d, p)
	return d.End()
}

// decodeCommentEvent decodes the value at d into p, as encoding/json decodes it
// into a CommentEventData without its UnmarshalJSON.
func decodeCommentEvent(d *jsondec.Decoder, p *CommentEventData) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, commentEventFields) {
		case "comment":
			decodeComment(d, &p.Comment)
		case "actor":
			decodeActor(d, &p.Actor)
		default:
			d.Skip()
		}
	})
}

// UnmarshalJSON decodes data into p exactly as encoding/json decodes it
// into a MemberEventData without this method, faster. On error, p may be
// partly set.
func (p *MemberEventData) UnmarshalJSON(data []byte) error {
	d := jsondec.New(data)
	decodeMemberEvent(&d, p)
	return d.End()
}

// decodeMemberEvent decodes the value at d into p, as encoding/json decodes it
// into a MemberEventData without its UnmarshalJSON.
func decodeMemberEvent(d *jsondec.Decoder, p *MemberEventData) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, memberEventFields) {
		case "member":
			decodeMember(d, &p.Member)
		case "diff":
			decodeChanges(d, &p.Diff)
		case "actor":
			decodeActor(d, &p.Actor)
		default:
			d.Skip()
		}
	})
}

// The JSON names of each type's fields, as its struct tags spell them
// (TestDecodersKnowEveryField checks them against the tags).
var (
	projectEventFields   = []string{"project", "diff", "actor"}
	taskEventFields      = []string{"task", "diff", "assignee_id", "actor"}
	milestoneEventFields = []string{"milestone", "diff", "actor"}
	commentEventFields   = []string{"comment", "actor"}
	memberEventFields    = []string{"member", "diff", "actor"}

	projectFields = []string{"id", "organization_id", "name", "description", "status", "owner_id",
		"start_date", "due_date", "url", "archived_at", "deleted_at", "created_at", "updated_at"}
	taskFields = []string{"id", "project_id", "milestone_id", "title", "description", "status", "priority",
		"assignee_ids", "reporter_id", "due_date", "url", "completed_at", "deleted_at", "created_at", "updated_at"}
	milestoneFields = []string{"id", "project_id", "name", "description", "status", "due_date", "url",
		"completed_at", "created_at", "updated_at"}
	commentFields = []string{"id", "project_id", "target_type", "target_id", "author_id", "body",
		"mention_ids", "url", "created_at", "updated_at"}
	memberFields = []string{"id", "user_id", "organization_id", "scope", "project_id", "email", "name", "role",
		"status", "invited_by_id", "invited_at", "activated_at", "deactivated_at", "created_at", "updated_at"}
	actorFields       = []string{"type", "id", "name", "email"}
	fieldChangeFields = []string{"before", "after"}
)

func decodeProject(d *jsondec.Decoder, p *Project) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, projectFields) {
		case "id":
			jsondec.String(d, &p.ID)
		case "organization_id":
			jsondec.String(d, &p.OrganizationID)
		case "name":
			jsondec.String(d, &p.Name)
		case "description":
			jsondec.String(d, &p.Description)
		case "status":
			jsondec.String(d, &p.Status)
		case "owner_id":
			jsondec.String(d, &p.OwnerID)
		case "start_date":
			jsondec.String(d, &p.StartDate)
		case "due_date":
			jsondec.String(d, &p.DueDate)
		case "url":
			jsondec.String(d, &p.URL)
		case "archived_at":
			jsondec.Time(d, &p.ArchivedAt)
		case "deleted_at":
			jsondec.Time(d, &p.DeletedAt)
		case "created_at":
			jsondec.Time(d, &p.CreatedAt)
		case "updated_at":
			jsondec.Time(d, &p.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeTask(d *jsondec.Decoder, t *Task) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, taskFields) {
		case "id":
			jsondec.String(d, &t.ID)
		case "project_id":
			jsondec.String(d, &t.ProjectID)
		case "milestone_id":
			jsondec.String(d, &t.MilestoneID)
		case "title":
			jsondec.String(d, &t.Title)
		case "description":
			jsondec.String(d, &t.Description)
		case "status":
			jsondec.String(d, &t.Status)
		case "priority":
			jsondec.String(d, &t.Priority)
		case "assignee_ids":
			jsondec.Strings(d, &t.AssigneeIDs)
		case "reporter_id":
			jsondec.String(d, &t.ReporterID)
		case "due_date":
			jsondec.String(d, &t.DueDate)
		case "url":
			jsondec.String(d, &t.URL)
		case "completed_at":
			jsondec.Time(d, &t.CompletedAt)
		case "deleted_at":
			jsondec.Time(d, &t.DeletedAt)
		case "created_at":
			jsondec.Time(d, &t.CreatedAt)
		case "updated_at":
			jsondec.Time(d, &t.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeMilestone(d *jsondec.Decoder, m *Milestone) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, milestoneFields) {
		case "id":
			jsondec.String(d, &m.ID)
		case "project_id":
			jsondec.String(d, &m.ProjectID)
		case "name":
			jsondec.String(d, &m.Name)
		case "description":
			jsondec.String(d, &m.Description)
		case "status":
			jsondec.String(d, &m.Status)
		case "due_date":
			jsondec.String(d, &m.DueDate)
		case "url":
			jsondec.String(d, &m.URL)
		case "completed_at":
			jsondec.Time(d, &m.CompletedAt)
		case "created_at":
			jsondec.Time(d, &m.CreatedAt)
		case "updated_at":
			jsondec.Time(d, &m.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeComment(d *jsondec.Decoder, c *Comment) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, commentFields) {
		case "id":
			jsondec.String(d, &c.ID)
		case "project_id":
			jsondec.String(d, &c.ProjectID)
		case "target_type":
			jsondec.String(d, &c.TargetType)
		case "target_id":
			jsondec.String(d, &c.TargetID)
		case "author_id":
			jsondec.String(d, &c.AuthorID)
		case "body":
			jsondec.String(d, &c.Body)
		case "mention_ids":
			jsondec.Strings(d, &c.MentionIDs)
		case "url":
			jsondec.String(d, &c.URL)
		case "created_at":
			jsondec.Time(d, &c.CreatedAt)
		case "updated_at":
			jsondec.Time(d, &c.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeMember(d *jsondec.Decoder, m *Member) {
	d.Object(func(name []byte) {
		switch jsondec.Match(name, memberFields) {
		case "id":
			jsondec.String(d, &m.ID)
		case "user_id":
			jsondec.String(d, &m.UserID)
		case "organization_id":
			jsondec.String(d, &m.OrganizationID)
		case "scope":
			jsondec.String(d, &m.Scope)
		case "project_id":
			jsondec.String(d, &m.ProjectID)
		case "email":
			jsondec.String(d, &m.Email)
		case "name":
			jsondec.String(d, &m.Name)
		case "role":
			jsondec.String(d, &m.Role)
		case "status":
			jsondec.String(d, &m.Status)
		case "invited_by_id":
			jsondec.String(d, &m.InvitedByID)
		case "invited_at":
			jsondec.Time(d, &m.InvitedAt)
		case "activated_at":
			jsondec.Time(d, &m.ActivatedAt)
		case "deactivated_at":
			jsondec.Time(d, &m.DeactivatedAt)
		case "created_at":
			jsondec.Time(d, &m.CreatedAt)
		case "updated_at":
			jsondec.Time(d, &m.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

// decodeActor decodes an optional actor: null sets it to nil, and an
// object is decoded into the Actor already there, or a new one.
func decodeActor(d *jsondec.Decoder, dst **Actor) {
	if d.Null() {
		*dst = nil
		return
	}
	a := *dst
	if a == nil {
		a = new(Actor)
		*dst = a
	}
	d.Object(func(name []byte) {
		switch jsondec.Match(name, actorFields) {
		case "type":
			jsondec.String(d, &a.Type)
		case "id":
			jsondec.String(d, &a.ID)
		case "name":
			jsondec.String(d, &a.Name)
		case "email":
			jsondec.String(d, &a.Email)
		default:
			d.Skip()
		}
	})
}

// decodeChanges decodes a diff as encoding/json decodes a map: null sets it
// to nil; an object adds its fields to the map already there, or a new one,
// each decoded into a zero FieldChange.
func decodeChanges(d *jsondec.Decoder, dst *Changes) {
	if d.Null() {
		*dst = nil
		return
	}
	if d.Peek() == '{' && *dst == nil {
		*dst = make(Changes)
	}
	m := *dst
	d.Object(func(name []byte) {
		key := d.Key(name)
		var c FieldChange
		d.Object(func(side []byte) {
			switch jsondec.Match(side, fieldChangeFields) {
			case "before":
				jsondec.Raw(d, &c.Before)
			case "after":
				jsondec.Raw(d, &c.After)
			default:
				d.Skip()
			}
		})
		if d.Err() == nil {
			m[key] = c
		}
	})
}
