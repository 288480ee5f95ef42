package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
)

// memTickets is a TicketClient kept in memory that prints what it does:
// the --dry-run ticket system, for trying the example without Jira. Safe
// for concurrent use.
type memTickets struct {
	out io.Writer

	mu      sync.Mutex
	tickets []*Ticket
}

var _ TicketClient = (*memTickets)(nil)

func (m *memTickets) FindByLabel(_ context.Context, label string) (*Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tickets {
		if slices.Contains(t.Fields.Labels, label) {
			cp := *t
			return &cp, nil
		}
	}
	return nil, ErrNoTicket
}

func (m *memTickets) CreateTicket(_ context.Context, f TicketFields) (*Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &Ticket{Key: fmt.Sprintf("DRY-%d", len(m.tickets)+1), Fields: f}
	m.tickets = append(m.tickets, t)
	fmt.Fprintf(m.out, "dry run: created %s %q labels=%v status=%q priority=%q due=%q\n",
		t.Key, f.Summary, f.Labels, f.Status, f.Priority, f.DueDate)
	cp := *t
	return &cp, nil
}

func (m *memTickets) UpdateTicket(_ context.Context, key string, u TicketUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tickets {
		if t.Key == key {
			if s, ok := u.Fields["summary"].(string); ok {
				t.Fields.Summary = s
			}
			if u.Status != "" {
				t.Fields.Status = u.Status
			}
			fmt.Fprintf(m.out, "dry run: updated %s fields=%v status=%q\n", key, u.Fields, u.Status)
			return nil
		}
	}
	return fmt.Errorf("dry run: no ticket %s", key)
}
