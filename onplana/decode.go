package onplana

import (
	"encoding/json"

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
	// parsing it, in the one pass that also validates it. Each value is
	// allocated in one piece with the memory its decoding needs (spare).
	jsondec.Register(func(b []byte, i, depth int, carried jsondec.Carried) (*ProjectEventData, int, error) {
		v := new(struct {
			data  ProjectEventData
			spare spare
		})
		d := jsondec.NewAt(b, i, depth, carried)
		v.spare.give(&d)
		decodeProjectEvent(&d, &v.data, &v.spare)
		end, err := d.Done()
		return &v.data, end, err
	})
	jsondec.Register(func(b []byte, i, depth int, carried jsondec.Carried) (*TaskEventData, int, error) {
		v := new(struct {
			data  TaskEventData
			spare spare
		})
		d := jsondec.NewAt(b, i, depth, carried)
		v.spare.give(&d)
		decodeTaskEvent(&d, &v.data, &v.spare)
		end, err := d.Done()
		return &v.data, end, err
	})
	jsondec.Register(func(b []byte, i, depth int, carried jsondec.Carried) (*MilestoneEventData, int, error) {
		v := new(struct {
			data  MilestoneEventData
			spare spare
		})
		d := jsondec.NewAt(b, i, depth, carried)
		v.spare.give(&d)
		decodeMilestoneEvent(&d, &v.data, &v.spare)
		end, err := d.Done()
		return &v.data, end, err
	})
	jsondec.Register(func(b []byte, i, depth int, carried jsondec.Carried) (*CommentEventData, int, error) {
		v := new(struct {
			data  CommentEventData
			spare spare
		})
		d := jsondec.NewAt(b, i, depth, carried)
		v.spare.give(&d)
		decodeCommentEvent(&d, &v.data, &v.spare)
		end, err := d.Done()
		return &v.data, end, err
	})
	jsondec.Register(func(b []byte, i, depth int, carried jsondec.Carried) (*MemberEventData, int, error) {
		v := new(struct {
			data  MemberEventData
			spare spare
		})
		d := jsondec.NewAt(b, i, depth, carried)
		v.spare.give(&d)
		decodeMemberEvent(&d, &v.data, &v.spare)
		end, err := d.Done()
		return &v.data, end, err
	})
}

// spare is memory allocated with a payload decoded in place, which its
// decoding uses rather than allocating: the actor and the ids of a short
// list. The payload's fields then point into it, and keep it alive with
// the payload.
type spare struct {
	actor      Actor
	actorTaken bool
	ids        [2]string
}

// give hands d the spare memory for lists, and lets the raw values (a
// diff) share the envelope's bytes: the event's Data holds them, and the
// verified body is never modified.
func (s *spare) give(d *jsondec.Decoder) {
	d.Spare(s.ids[:])
	d.ShareInput()
}

// takeActor returns the spare Actor, once; nil after, or without a spare.
func (s *spare) takeActor() *Actor {
	if s == nil || s.actorTaken {
		return nil
	}
	s.actorTaken = true
	return &s.actor
}

// UnmarshalJSON decodes data into p exactly as encoding/json decodes it
// into a ProjectEventData without this method, faster. On error, p may be
// partly set.
func (p *ProjectEventData) UnmarshalJSON(data []byte) error {
	d := jsondec.New(data)
	decodeProjectEvent(&d, p, nil)
	return d.End()
}

// decodeProjectEvent decodes the value at d into p, as encoding/json decodes it
// into a ProjectEventData without its UnmarshalJSON.
func decodeProjectEvent(d *jsondec.Decoder, p *ProjectEventData, sp *spare) {
	d.ObjectOf(projectEventFields, func(f int) {
		switch f {
		case fieldProjectEventProject:
			decodeProject(d, &p.Project)
		case fieldProjectEventDiff:
			decodeChanges(d, &p.Diff)
		case fieldProjectEventActor:
			decodeActor(d, &p.Actor, sp)
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
	decodeTaskEvent(&d, p, nil)
	return d.End()
}

// decodeTaskEvent decodes the value at d into p, as encoding/json decodes it
// into a TaskEventData without its UnmarshalJSON.
func decodeTaskEvent(d *jsondec.Decoder, p *TaskEventData, sp *spare) {
	d.ObjectOf(taskEventFields, func(f int) {
		switch f {
		case fieldTaskEventTask:
			decodeTask(d, &p.Task)
		case fieldTaskEventDiff:
			decodeChanges(d, &p.Diff)
		case fieldTaskEventAssigneeID:
			jsondec.String(d, &p.AssigneeID)
		case fieldTaskEventActor:
			decodeActor(d, &p.Actor, sp)
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
	decodeMilestoneEvent(&d, p, nil)
	return d.End()
}

// decodeMilestoneEvent decodes the value at d into p, as encoding/json decodes it
// into a MilestoneEventData without its UnmarshalJSON.
func decodeMilestoneEvent(d *jsondec.Decoder, p *MilestoneEventData, sp *spare) {
	d.ObjectOf(milestoneEventFields, func(f int) {
		switch f {
		case fieldMilestoneEventMilestone:
			decodeMilestone(d, &p.Milestone)
		case fieldMilestoneEventDiff:
			decodeChanges(d, &p.Diff)
		case fieldMilestoneEventActor:
			decodeActor(d, &p.Actor, sp)
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
	decodeCommentEvent(&d, p, nil)
	return d.End()
}

// decodeCommentEvent decodes the value at d into p, as encoding/json decodes it
// into a CommentEventData without its UnmarshalJSON.
func decodeCommentEvent(d *jsondec.Decoder, p *CommentEventData, sp *spare) {
	d.ObjectOf(commentEventFields, func(f int) {
		switch f {
		case fieldCommentEventComment:
			decodeComment(d, &p.Comment)
		case fieldCommentEventActor:
			decodeActor(d, &p.Actor, sp)
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
	decodeMemberEvent(&d, p, nil)
	return d.End()
}

// decodeMemberEvent decodes the value at d into p, as encoding/json decodes it
// into a MemberEventData without its UnmarshalJSON.
func decodeMemberEvent(d *jsondec.Decoder, p *MemberEventData, sp *spare) {
	d.ObjectOf(memberEventFields, func(f int) {
		switch f {
		case fieldMemberEventMember:
			decodeMember(d, &p.Member)
		case fieldMemberEventDiff:
			decodeChanges(d, &p.Diff)
		case fieldMemberEventActor:
			decodeActor(d, &p.Actor, sp)
		default:
			d.Skip()
		}
	})
}

// The JSON names of each type's fields, as its struct tags spell them and in
// their order (TestDecodersKnowEveryField checks them against the tags), and
// the index of each name, which ObjectOf hands the decoders.
var (
	projectEventFields   = jsondec.NewFields("project", "diff", "actor")
	taskEventFields      = jsondec.NewFields("task", "diff", "assignee_id", "actor")
	milestoneEventFields = jsondec.NewFields("milestone", "diff", "actor")
	commentEventFields   = jsondec.NewFields("comment", "actor")
	memberEventFields    = jsondec.NewFields("member", "diff", "actor")
	projectFields        = jsondec.NewFields("id", "organization_id", "name", "description", "status", "owner_id", "start_date", "due_date", "url", "archived_at", "deleted_at", "created_at", "updated_at")
	taskFields           = jsondec.NewFields("id", "project_id", "milestone_id", "title", "description", "status", "priority", "assignee_ids", "reporter_id", "due_date", "url", "completed_at", "deleted_at", "created_at", "updated_at")
	milestoneFields      = jsondec.NewFields("id", "project_id", "name", "description", "status", "due_date", "url", "completed_at", "created_at", "updated_at")
	commentFields        = jsondec.NewFields("id", "project_id", "target_type", "target_id", "author_id", "body", "mention_ids", "url", "created_at", "updated_at")
	memberFields         = jsondec.NewFields("id", "user_id", "organization_id", "scope", "project_id", "email", "name", "role", "status", "invited_by_id", "invited_at", "activated_at", "deactivated_at", "created_at", "updated_at")
	actorFields          = jsondec.NewFields("type", "id", "name", "email")
	fieldChangeFields    = jsondec.NewFields("before", "after")
)

const (
	fieldProjectEventProject = iota
	fieldProjectEventDiff
	fieldProjectEventActor
)

const (
	fieldTaskEventTask = iota
	fieldTaskEventDiff
	fieldTaskEventAssigneeID
	fieldTaskEventActor
)

const (
	fieldMilestoneEventMilestone = iota
	fieldMilestoneEventDiff
	fieldMilestoneEventActor
)

const (
	fieldCommentEventComment = iota
	fieldCommentEventActor
)

const (
	fieldMemberEventMember = iota
	fieldMemberEventDiff
	fieldMemberEventActor
)

const (
	fieldProjectID = iota
	fieldProjectOrganizationID
	fieldProjectName
	fieldProjectDescription
	fieldProjectStatus
	fieldProjectOwnerID
	fieldProjectStartDate
	fieldProjectDueDate
	fieldProjectURL
	fieldProjectArchivedAt
	fieldProjectDeletedAt
	fieldProjectCreatedAt
	fieldProjectUpdatedAt
)

const (
	fieldTaskID = iota
	fieldTaskProjectID
	fieldTaskMilestoneID
	fieldTaskTitle
	fieldTaskDescription
	fieldTaskStatus
	fieldTaskPriority
	fieldTaskAssigneeIDs
	fieldTaskReporterID
	fieldTaskDueDate
	fieldTaskURL
	fieldTaskCompletedAt
	fieldTaskDeletedAt
	fieldTaskCreatedAt
	fieldTaskUpdatedAt
)

const (
	fieldMilestoneID = iota
	fieldMilestoneProjectID
	fieldMilestoneName
	fieldMilestoneDescription
	fieldMilestoneStatus
	fieldMilestoneDueDate
	fieldMilestoneURL
	fieldMilestoneCompletedAt
	fieldMilestoneCreatedAt
	fieldMilestoneUpdatedAt
)

const (
	fieldCommentID = iota
	fieldCommentProjectID
	fieldCommentTargetType
	fieldCommentTargetID
	fieldCommentAuthorID
	fieldCommentBody
	fieldCommentMentionIDs
	fieldCommentURL
	fieldCommentCreatedAt
	fieldCommentUpdatedAt
)

const (
	fieldMemberID = iota
	fieldMemberUserID
	fieldMemberOrganizationID
	fieldMemberScope
	fieldMemberProjectID
	fieldMemberEmail
	fieldMemberName
	fieldMemberRole
	fieldMemberStatus
	fieldMemberInvitedByID
	fieldMemberInvitedAt
	fieldMemberActivatedAt
	fieldMemberDeactivatedAt
	fieldMemberCreatedAt
	fieldMemberUpdatedAt
)

const (
	fieldActorType = iota
	fieldActorID
	fieldActorName
	fieldActorEmail
)

const (
	fieldChangeBefore = iota
	fieldChangeAfter
)

func decodeProject(d *jsondec.Decoder, p *Project) {
	d.ObjectOf(projectFields, func(f int) {
		switch f {
		case fieldProjectID:
			jsondec.String(d, &p.ID)
		case fieldProjectOrganizationID:
			jsondec.String(d, &p.OrganizationID)
		case fieldProjectName:
			jsondec.String(d, &p.Name)
		case fieldProjectDescription:
			jsondec.String(d, &p.Description)
		case fieldProjectStatus:
			jsondec.String(d, (*string)(&p.Status))
		case fieldProjectOwnerID:
			jsondec.String(d, &p.OwnerID)
		case fieldProjectStartDate:
			jsondec.String(d, &p.StartDate)
		case fieldProjectDueDate:
			jsondec.String(d, &p.DueDate)
		case fieldProjectURL:
			jsondec.String(d, &p.URL)
		case fieldProjectArchivedAt:
			jsondec.Time(d, &p.ArchivedAt)
		case fieldProjectDeletedAt:
			jsondec.Time(d, &p.DeletedAt)
		case fieldProjectCreatedAt:
			jsondec.Time(d, &p.CreatedAt)
		case fieldProjectUpdatedAt:
			jsondec.Time(d, &p.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeTask(d *jsondec.Decoder, t *Task) {
	d.ObjectOf(taskFields, func(f int) {
		switch f {
		case fieldTaskID:
			jsondec.String(d, &t.ID)
		case fieldTaskProjectID:
			jsondec.String(d, &t.ProjectID)
		case fieldTaskMilestoneID:
			jsondec.String(d, &t.MilestoneID)
		case fieldTaskTitle:
			jsondec.String(d, &t.Title)
		case fieldTaskDescription:
			jsondec.String(d, &t.Description)
		case fieldTaskStatus:
			jsondec.String(d, (*string)(&t.Status))
		case fieldTaskPriority:
			jsondec.String(d, (*string)(&t.Priority))
		case fieldTaskAssigneeIDs:
			jsondec.Strings(d, &t.AssigneeIDs)
		case fieldTaskReporterID:
			jsondec.String(d, &t.ReporterID)
		case fieldTaskDueDate:
			jsondec.String(d, &t.DueDate)
		case fieldTaskURL:
			jsondec.String(d, &t.URL)
		case fieldTaskCompletedAt:
			jsondec.Time(d, &t.CompletedAt)
		case fieldTaskDeletedAt:
			jsondec.Time(d, &t.DeletedAt)
		case fieldTaskCreatedAt:
			jsondec.Time(d, &t.CreatedAt)
		case fieldTaskUpdatedAt:
			jsondec.Time(d, &t.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeMilestone(d *jsondec.Decoder, m *Milestone) {
	d.ObjectOf(milestoneFields, func(f int) {
		switch f {
		case fieldMilestoneID:
			jsondec.String(d, &m.ID)
		case fieldMilestoneProjectID:
			jsondec.String(d, &m.ProjectID)
		case fieldMilestoneName:
			jsondec.String(d, &m.Name)
		case fieldMilestoneDescription:
			jsondec.String(d, &m.Description)
		case fieldMilestoneStatus:
			jsondec.String(d, (*string)(&m.Status))
		case fieldMilestoneDueDate:
			jsondec.String(d, &m.DueDate)
		case fieldMilestoneURL:
			jsondec.String(d, &m.URL)
		case fieldMilestoneCompletedAt:
			jsondec.Time(d, &m.CompletedAt)
		case fieldMilestoneCreatedAt:
			jsondec.Time(d, &m.CreatedAt)
		case fieldMilestoneUpdatedAt:
			jsondec.Time(d, &m.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeComment(d *jsondec.Decoder, c *Comment) {
	d.ObjectOf(commentFields, func(f int) {
		switch f {
		case fieldCommentID:
			jsondec.String(d, &c.ID)
		case fieldCommentProjectID:
			jsondec.String(d, &c.ProjectID)
		case fieldCommentTargetType:
			jsondec.String(d, (*string)(&c.TargetType))
		case fieldCommentTargetID:
			jsondec.String(d, &c.TargetID)
		case fieldCommentAuthorID:
			jsondec.String(d, &c.AuthorID)
		case fieldCommentBody:
			jsondec.String(d, &c.Body)
		case fieldCommentMentionIDs:
			jsondec.Strings(d, &c.MentionIDs)
		case fieldCommentURL:
			jsondec.String(d, &c.URL)
		case fieldCommentCreatedAt:
			jsondec.Time(d, &c.CreatedAt)
		case fieldCommentUpdatedAt:
			jsondec.Time(d, &c.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

func decodeMember(d *jsondec.Decoder, m *Member) {
	d.ObjectOf(memberFields, func(f int) {
		switch f {
		case fieldMemberID:
			jsondec.String(d, &m.ID)
		case fieldMemberUserID:
			jsondec.String(d, &m.UserID)
		case fieldMemberOrganizationID:
			jsondec.String(d, &m.OrganizationID)
		case fieldMemberScope:
			jsondec.String(d, (*string)(&m.Scope))
		case fieldMemberProjectID:
			jsondec.String(d, &m.ProjectID)
		case fieldMemberEmail:
			jsondec.String(d, &m.Email)
		case fieldMemberName:
			jsondec.String(d, &m.Name)
		case fieldMemberRole:
			jsondec.String(d, (*string)(&m.Role))
		case fieldMemberStatus:
			jsondec.String(d, (*string)(&m.Status))
		case fieldMemberInvitedByID:
			jsondec.String(d, &m.InvitedByID)
		case fieldMemberInvitedAt:
			jsondec.Time(d, &m.InvitedAt)
		case fieldMemberActivatedAt:
			jsondec.Time(d, &m.ActivatedAt)
		case fieldMemberDeactivatedAt:
			jsondec.Time(d, &m.DeactivatedAt)
		case fieldMemberCreatedAt:
			jsondec.Time(d, &m.CreatedAt)
		case fieldMemberUpdatedAt:
			jsondec.Time(d, &m.UpdatedAt)
		default:
			d.Skip()
		}
	})
}

// decodeActor decodes an optional actor: null sets it to nil, and an
// object is decoded into the Actor already there, or a new one (sp's if
// it has one to spare).
func decodeActor(d *jsondec.Decoder, dst **Actor, sp *spare) {
	if d.Null() {
		*dst = nil
		return
	}
	a := *dst
	if a == nil {
		if a = sp.takeActor(); a == nil {
			a = new(Actor)
		}
		*dst = a
	}
	d.ObjectOf(actorFields, func(f int) {
		switch f {
		case fieldActorType:
			jsondec.String(d, (*string)(&a.Type))
		case fieldActorID:
			jsondec.String(d, &a.ID)
		case fieldActorName:
			jsondec.String(d, &a.Name)
		case fieldActorEmail:
			jsondec.String(d, &a.Email)
		default:
			d.Skip()
		}
	})
}

// decodeChanges decodes a diff: an object whose members are change
// objects, or null, which leaves dst as it is. It checks the diff's shape,
// as decoding it into a map of FieldChange would, and keeps its bytes:
// the fields are decoded when the handler asks for them (Changes.Field).
func decodeChanges(d *jsondec.Decoder, dst *Changes) {
	if d.Null() {
		return // as encoding/json calls Changes.UnmarshalJSON: no change
	}
	start := d.Pos()
	d.Object(func([]byte) {
		d.ObjectOf(fieldChangeFields, func(int) { d.Skip() })
	})
	var raw json.RawMessage
	jsondec.RawFrom(d, start, &raw)
	if d.Err() == nil {
		*dst = Changes{raw: raw}
	}
}
