package onplana

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/sortid"
)

// This file builds the sample envelope of each event type (EventInfo.Sample,
// the golden files under the module's testdata/events). The samples tell one
// story, the relaunch of Acme's website, so that they read like real
// traffic: the update samples' diffs are computed with Diff from a before
// and an after.

// sampleTime is when every sample event happens.
var sampleTime = time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC)

// sampleID returns an id shaped like the ids the library generates
// (time-ordered, Crockford base32), but derived from seed so the samples
// never change.
func sampleID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return sortid.Encode(prefix, uint64(sampleTime.UnixMilli()), [10]byte(sum[:10]))
}

const (
	sampleOrg     = "org_abc123"
	sampleProject = "proj_xyz789"
	sampleApp     = "https://app.onplana.com/org_abc123"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err) // literal timestamps below
	}
	return t
}

var (
	sampleMaya = Actor{Type: ActorUser, ID: "usr_maya01", Name: "Maya Chen", Email: "maya.chen@acme.example"}
	sampleSam  = Actor{Type: ActorUser, ID: "usr_sam042", Name: "Sam Okafor", Email: "sam.okafor@acme.example"}
	sampleJira = Actor{Type: ActorIntegration, ID: "int_jira7", Name: "Jira sync"}
)

func sampleProjectState() Project {
	return Project{
		ID:             sampleProject,
		OrganizationID: sampleOrg,
		Name:           "Website Relaunch",
		Description:    "Move acme.example to the new CMS and refresh the pricing and product pages.",
		Status:         ProjectStatusOnTrack,
		OwnerID:        sampleMaya.ID,
		StartDate:      "2026-05-04",
		DueDate:        "2026-09-30",
		URL:            sampleApp + "/projects/" + sampleProject,
		CreatedAt:      at("2026-05-02T14:03:11Z"),
		UpdatedAt:      at("2026-06-26T16:40:02Z"),
	}
}

func sampleTaskState() Task {
	return Task{
		ID:          "task_8f3k2m",
		ProjectID:   sampleProject,
		MilestoneID: "ms_beta01",
		Title:       "Migrate the pricing page to the new CMS",
		Description: "Port the three plan cards and the FAQ; keep the current URLs.",
		Status:      TaskStatusInProgress,
		Priority:    TaskPriorityHigh,
		AssigneeIDs: []string{sampleSam.ID},
		ReporterID:  sampleMaya.ID,
		DueDate:     "2026-07-01",
		URL:         sampleApp + "/tasks/task_8f3k2m",
		CreatedAt:   at("2026-06-02T10:21:45Z"),
		UpdatedAt:   at("2026-06-25T08:02:17Z"),
	}
}

func sampleMilestoneState() Milestone {
	return Milestone{
		ID:          "ms_beta01",
		ProjectID:   sampleProject,
		Name:        "Public beta",
		Description: "New site live on beta.acme.example for customer feedback.",
		Status:      MilestoneStatusOpen,
		DueDate:     "2026-07-15",
		URL:         sampleApp + "/projects/" + sampleProject + "/milestones/ms_beta01",
		CreatedAt:   at("2026-05-04T09:00:00Z"),
		UpdatedAt:   at("2026-06-20T11:12:13Z"),
	}
}

func sampleMemberState() Member {
	return Member{
		ID:             "mem_p5r2x9",
		UserID:         "usr_priya7",
		OrganizationID: sampleOrg,
		Scope:          ScopeOrganization,
		Email:          "priya.nair@acme.example",
		Name:           "Priya Nair",
		Role:           RoleMember,
		Status:         MemberStatusActive,
		InvitedByID:    sampleMaya.ID,
		InvitedAt:      at("2026-06-20T15:30:00Z"),
		ActivatedAt:    at("2026-06-21T08:47:52Z"),
		CreatedAt:      at("2026-06-20T15:30:00Z"),
		UpdatedAt:      at("2026-06-21T08:47:52Z"),
	}
}

// update returns the diff of before and after without the updated_at
// bookkeeping field, as the samples show it.
func update(before, after any) (Changes, error) {
	c, err := Diff(before, after)
	if err != nil {
		return Changes{}, err
	}
	fields := maps.Collect(c.All())
	delete(fields, "updated_at")
	return NewChanges(fields)
}

// sampleData returns the Data of the sample of t and its project id.
func sampleData(t webhook.EventType) (data any, projectID string, err error) {
	projectID = sampleProject
	maya, sam := sampleMaya, sampleSam
	switch t.Category() {
	case webhook.CategoryProject:
		before := sampleProjectState()
		p := before
		p.UpdatedAt = sampleTime
		d := ProjectEventData{Actor: &maya}
		switch t {
		case webhook.EventProjectCreated:
			p.Description, p.StartDate, p.DueDate = "", "2026-05-04", "2026-09-30"
			p.CreatedAt = sampleTime
		case webhook.EventProjectUpdated:
			p.DueDate = "2026-10-15"
			p.Description = "Move acme.example to the new CMS, refresh the pricing and product pages, and add the partner portal."
			d.Diff, err = update(before, p)
		case webhook.EventProjectArchived:
			p.ArchivedAt = sampleTime
		case webhook.EventProjectDeleted:
			p.ArchivedAt = at("2026-06-01T12:00:00Z")
			p.DeletedAt = sampleTime
		case webhook.EventProjectStatusChanged:
			p.Status = ProjectStatusAtRisk
			d.Diff, err = update(before, p)
		}
		d.Project = p
		return d, projectID, err

	case webhook.CategoryTask:
		before := sampleTaskState()
		task := before
		task.UpdatedAt = sampleTime
		d := TaskEventData{Actor: &maya}
		switch t {
		case webhook.EventTaskCreated:
			jira := sampleJira
			d.Actor = &jira
			task.Status, task.AssigneeIDs, task.DueDate = TaskStatusTodo, nil, ""
			task.CreatedAt = sampleTime
		case webhook.EventTaskUpdated:
			task.Status = TaskStatusBlocked
			task.Priority = TaskPriorityUrgent
			task.DueDate = "2026-07-03"
			d.Diff, err = update(before, task)
		case webhook.EventTaskCompleted:
			d.Actor = &sam
			task.Status = TaskStatusDone
			task.CompletedAt = sampleTime
		case webhook.EventTaskDeleted:
			task.DeletedAt = sampleTime
		case webhook.EventTaskAssigned:
			task.AssigneeIDs = append(task.AssigneeIDs, "usr_lena33")
			d.AssigneeID = "usr_lena33"
		case webhook.EventTaskUnassigned:
			d.AssigneeID = task.AssigneeIDs[0]
			task.AssigneeIDs = []string{}
		}
		d.Task = task
		return d, projectID, err

	case webhook.CategoryMilestone:
		before := sampleMilestoneState()
		m := before
		m.UpdatedAt = sampleTime
		d := MilestoneEventData{Actor: &maya}
		switch t {
		case webhook.EventMilestoneCreated:
			m.CreatedAt = sampleTime
		case webhook.EventMilestoneUpdated:
			m.DueDate = "2026-07-22"
			d.Diff, err = update(before, m)
		case webhook.EventMilestoneCompleted:
			m.Status = MilestoneStatusCompleted
			m.CompletedAt = sampleTime
		}
		d.Milestone = m
		return d, projectID, err

	case webhook.CategoryComment:
		return CommentEventData{
			Comment: Comment{
				ID:         "cmt_4w9d1q",
				ProjectID:  sampleProject,
				TargetType: CommentOnTask,
				TargetID:   "task_8f3k2m",
				AuthorID:   sam.ID,
				Body:       "Blocked: the CMS export needs API credentials from IT. @Maya can you escalate?",
				MentionIDs: []string{maya.ID},
				URL:        sampleApp + "/tasks/task_8f3k2m#comment-cmt_4w9d1q",
				CreatedAt:  sampleTime,
				UpdatedAt:  sampleTime,
			},
			Actor: &sam,
		}, projectID, nil

	case webhook.CategoryMember:
		before := sampleMemberState()
		m := before
		m.UpdatedAt = sampleTime
		d := MemberEventData{Actor: &maya}
		projectID = ""
		switch t {
		case webhook.EventMemberInvited:
			m.Name, m.Status, m.ActivatedAt = "", MemberStatusInvited, time.Time{}
			m.InvitedAt, m.CreatedAt = sampleTime, sampleTime
		case webhook.EventMemberActivated:
			priya := Actor{Type: ActorUser, ID: m.UserID, Name: m.Name, Email: m.Email}
			d.Actor = &priya
			m.ActivatedAt = sampleTime
		case webhook.EventMemberDeactivated:
			m.Status, m.DeactivatedAt = MemberStatusDeactivated, sampleTime
		case webhook.EventMemberRoleChanged:
			// A project membership: the envelope names the project.
			before.ID, before.Scope, before.ProjectID = "mem_q8t4z1", ScopeProject, sampleProject
			m = before
			m.UpdatedAt = sampleTime
			m.Role = RoleAdmin
			d.Diff, err = update(before, m)
			projectID = sampleProject
		}
		d.Member = m
		return d, projectID, err

	case webhook.CategoryWebhook:
		return PingEventData{
			Webhook: WebhookRef{
				ID:          sampleID("sub_", "sample subscription"),
				EventTypes:  []string{"task.*", "project.status_changed", "milestone.completed"},
				Description: "Slack #website-relaunch notifications",
			},
			Message: webhook.PingMessage,
		}, "", nil
	}
	return nil, "", fmt.Errorf("onplana: no sample for %q", t)
}

// sampleEnvelope returns the indented sample envelope of t.
func sampleEnvelope(t webhook.EventType) (json.RawMessage, error) {
	data, projectID, err := sampleData(t)
	if err != nil {
		return nil, err
	}
	e, err := webhook.NewEvent(t, sampleOrg, projectID, data)
	if err != nil {
		return nil, err
	}
	e.ID = sampleID("evt_", "event "+string(t))
	e.DeliveryID = sampleID("dlv_", "delivery "+string(t))
	e.Timestamp = sampleTime
	return json.MarshalIndent(e, "", "  ")
}
