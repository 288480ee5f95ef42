package webhook

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/onplana/webhook/internal/eventpattern"
	"github.com/onplana/webhook/keyring"
)

// MemoryStore is a Store kept in the memory of one process: for tests,
// examples and hosts that accept losing pending deliveries when the process
// stops (use sqlitestore or pgstore otherwise). It is safe for concurrent use
// and implements WorkNotifier.
//
// Matching looks subscriptions up in an index keyed by organization, project
// (or none, for organization-wide ones) and event-type pattern, so its cost
// depends on the number of matches, not of subscriptions. Due deliveries wait
// in a min-heap ordered by when they are due, so Claim costs O(k log n) for k
// claimed among n queued. Listing the delivery log walks the deliveries of
// one subscription (or organization) newest first, filtering as it goes.
//
// Given a key ring (NewMemoryStoreWithKeys), it keeps each subscription's
// signing secrets sealed, as the durable stores do, and opens them when a
// subscription is read or claimed.
//
// The store keeps its own copies of what it is given and returns fresh copies,
// so a caller cannot change stored state through a pointer. The one
// exception is Delivery.Body: the bytes passed to Enqueue are kept, not
// copied, and every Delivery returned shares them. They are the signed
// payload, identical on every attempt; neither the caller of Enqueue nor a
// reader may modify them.
type MemoryStore struct {
	mu sync.RWMutex

	subs    map[string]*memSub   // by id
	orgSubs map[string][]*memSub // by organization, ascending id
	// index holds the enabled subscriptions under each of their patterns.
	index map[matchKey]map[*memSub]struct{}

	deliveries map[string]*memDelivery // by id
	queue      pendingQueue            // pending deliveries, by when they are due
	// leased holds the deliveries being attempted, by when their lease
	// expires. Leases are mostly claimed in the order they expire, so
	// pushing one costs little, and finishing one is a removal from a heap
	// as small as the number of attempts in flight.
	leased dueQueue
	// holding indexes leased by delivery id: Complete and Release look
	// their delivery up in this small map, which stays in cache, rather
	// than in deliveries.
	holding map[string]*memDelivery
	// The delivery log, each list in ascending id (creation) order.
	all   []*memDelivery
	byOrg map[string][]*memDelivery
	bySub map[string][]*memDelivery

	work chan struct{}

	keys *keyring.Ring // nil: secrets are kept in clear
}

// matchKey is one entry of the subscription index. project is empty for
// organization-wide subscriptions.
type matchKey struct {
	org, project, pattern string
}

type memSub struct {
	// sub is replaced whole on update; its slices are never written to,
	// so that Claim can share them. Its Secrets are nil when sealed is set.
	sub Subscription
	// sealed holds sub's secrets encrypted under the key keyID when the
	// store has a key ring; keyID is empty for secrets kept in clear.
	keyID  string
	sealed []byte
	// parked holds pending deliveries that came due while the subscription
	// was disabled; enabling it puts them back in the queue.
	parked []*memDelivery
}

type memDelivery struct {
	d        Delivery
	attempts []Attempt
	heapIdx  int // position in queue or leased; -1 when in neither
}

// due is the queue key: when a pending delivery is due, or when the lease of
// a delivering one has expired. Claim takes keys <= now, and a lease expires
// strictly before now, hence the nanosecond.
func (md *memDelivery) due() time.Time {
	if md.d.State == StateDelivering {
		return md.d.LeaseExpiresAt.Add(time.Nanosecond)
	}
	return md.d.NextAttemptAt
}

var (
	_ Store               = (*MemoryStore)(nil)
	_ WorkNotifier        = (*MemoryStore)(nil)
	_ keyring.Reencrypter = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore that keeps signing secrets in
// clear.
func NewMemoryStore() *MemoryStore { return NewMemoryStoreWithKeys(nil) }

// NewMemoryStoreWithKeys returns an empty MemoryStore that keeps signing
// secrets sealed under keys (see package keyring); a nil keys keeps them in clear,
// like NewMemoryStore.
func NewMemoryStoreWithKeys(keys *keyring.Ring) *MemoryStore {
	return &MemoryStore{
		keys:       keys,
		subs:       make(map[string]*memSub),
		orgSubs:    make(map[string][]*memSub),
		index:      make(map[matchKey]map[*memSub]struct{}),
		deliveries: make(map[string]*memDelivery),
		holding:    make(map[string]*memDelivery),
		byOrg:      make(map[string][]*memDelivery),
		bySub:      make(map[string][]*memDelivery),
		work:       make(chan struct{}, 1),
	}
}

// WorkAvailable implements WorkNotifier. The channel, the same on every call,
// receives a value after deliveries are enqueued, released, redelivered,
// scheduled for a retry, or freed by enabling their subscription.
func (s *MemoryStore) WorkAvailable() <-chan struct{} { return s.work }

func (s *MemoryStore) signal() {
	select {
	case s.work <- struct{}{}:
	default:
	}
}

// CreateSubscription implements SubscriptionStore.
func (s *MemoryStore) CreateSubscription(ctx context.Context, sub *Subscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateSubscription(sub); err != nil {
		return err
	}
	now := time.Now().Round(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[sub.ID]; ok {
		return storeErr(ErrConflict, "subscription "+sub.ID+" exists")
	}
	ms := &memSub{}
	if err := s.store(ms, sub); err != nil {
		return err
	}
	ms.sub.CreatedAt, ms.sub.UpdatedAt = now, now
	sub.CreatedAt, sub.UpdatedAt = now, now
	s.subs[sub.ID] = ms
	s.orgSubs[sub.OrganizationID] = insertByID(s.orgSubs[sub.OrganizationID], ms, memSubID)
	s.indexSub(ms)
	return nil
}

// GetSubscription implements SubscriptionStore.
func (s *MemoryStore) GetSubscription(ctx context.Context, id string) (*Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ms, ok := s.subs[id]
	if !ok {
		return nil, storeErr(ErrNotFound, "subscription "+id)
	}
	return s.open(ms)
}

// ListSubscriptions implements SubscriptionStore. The cursor is the id of
// the last subscription of the previous page.
func (s *MemoryStore) ListSubscriptions(ctx context.Context, organizationID string, page Page) ([]*Subscription, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	size, err := page.Size()
	if err != nil {
		return nil, "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.orgSubs[organizationID]
	i := 0
	if page.Cursor != "" {
		// The first subscription after the cursor.
		i, _ = slices.BinarySearchFunc(list, page.Cursor, func(ms *memSub, id string) int {
			if ms.sub.ID <= id {
				return -1
			}
			return 1
		})
	}
	var out []*Subscription
	for ; i < len(list) && len(out) < size; i++ {
		c, err := s.open(list[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	next := ""
	if i < len(list) && len(out) > 0 {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// UpdateSubscription implements SubscriptionStore.
func (s *MemoryStore) UpdateSubscription(ctx context.Context, sub *Subscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateSubscription(sub); err != nil {
		return err
	}
	now := time.Now().Round(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, ok := s.subs[sub.ID]
	if !ok {
		return storeErr(ErrNotFound, "subscription "+sub.ID)
	}
	if sub.OrganizationID != ms.sub.OrganizationID {
		return &ValidationError{Field: "OrganizationID", Reason: "cannot change"}
	}
	created, updated := ms.sub.CreatedAt, now
	if updated.Before(created) { // the wall clock went back
		updated = created
	}
	var next memSub
	if err := s.store(&next, sub); err != nil {
		return err
	}
	wasDisabled := ms.sub.Disabled
	s.unindexSub(ms)
	sub.CreatedAt, sub.UpdatedAt = created, updated
	ms.sub, ms.keyID, ms.sealed = next.sub, next.keyID, next.sealed
	ms.sub.CreatedAt, ms.sub.UpdatedAt = created, updated
	s.indexSub(ms)
	if wasDisabled && !sub.Disabled && len(ms.parked) > 0 {
		nowKey := dueKey(time.Now())
		for _, md := range ms.parked {
			s.queue.push(md, nowKey)
		}
		ms.parked = nil
		s.signal()
	}
	return nil
}

// DeleteSubscription implements SubscriptionStore. It removes the
// subscription's pending deliveries; the others stay in the log. A delivery
// being attempted when its subscription is deleted can still be completed;
// if it is then due again, Claim discards it.
func (s *MemoryStore) DeleteSubscription(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, ok := s.subs[id]
	if !ok {
		return storeErr(ErrNotFound, "subscription "+id)
	}
	s.unindexSub(ms)
	delete(s.subs, id)
	org := ms.sub.OrganizationID
	s.orgSubs[org] = slices.DeleteFunc(s.orgSubs[org], func(o *memSub) bool { return o == ms })
	if len(s.orgSubs[org]) == 0 {
		delete(s.orgSubs, org)
	}
	s.removeDeliveries(func(md *memDelivery) bool {
		return md.d.SubscriptionID == id && md.d.State == StatePending
	}, s.bySub[id])
	return nil
}

// MatchSubscriptionIDs implements SubscriptionStore. It returns the matches
// in ascending id order.
func (s *MemoryStore) MatchSubscriptionIDs(ctx context.Context, organizationID, projectID string, typ EventType) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var buf [16]*memSub
	found := s.matching(buf[:0], organizationID, projectID, typ)
	ids := make([]string, len(found))
	for i, ms := range found {
		ids[i] = ms.sub.ID
	}
	return ids, nil
}

// matching appends to found the enabled subscriptions an event matches,
// in ascending id order, and returns it. s.mu is held.
func (s *MemoryStore) matching(found []*memSub, organizationID, projectID string, typ EventType) []*memSub {
	patterns := eventpattern.Keys(string(typ))
	scopes := [2]string{"", projectID} // organization-wide, then the project's
	n := 1
	if projectID != "" {
		n = 2
	}
	for _, project := range scopes[:n] {
		for _, p := range patterns {
			for ms := range s.index[matchKey{organizationID, project, p}] {
				found = append(found, ms)
			}
		}
	}
	slices.SortFunc(found, func(a, b *memSub) int { return cmp.Compare(a.sub.ID, b.sub.ID) })
	return slices.Compact(found) // a subscription listing "task.*" and "task.updated"
}

// Enqueue implements DeliveryStore.
func (s *MemoryStore) Enqueue(ctx context.Context, deliveries []*Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, d := range deliveries {
		if err := ValidateDelivery(d); err != nil {
			return fmt.Errorf("delivery %d: %w", i, err)
		}
	}
	if len(deliveries) == 0 {
		return nil
	}
	now := time.Now().Round(0)
	nowKey := dueKey(now)
	// The copies are made before taking the lock, which every worker of a
	// Dispatcher needs too.
	mds := make([]*memDelivery, len(deliveries))
	for i, d := range deliveries {
		md := &memDelivery{d: *d, heapIdx: -1}
		md.d.State = StatePending
		md.d.LeaseExpiresAt = time.Time{}
		md.d.NextAttemptAt = md.d.NextAttemptAt.Round(0)
		md.d.CreatedAt = md.d.CreatedAt.Round(0)
		if md.d.CreatedAt.IsZero() {
			md.d.CreatedAt = now
		}
		md.d.UpdatedAt = now
		mds[i] = md
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkNewIDs(deliveries); err != nil {
		return err
	}
	for _, md := range mds {
		d := &md.d
		s.deliveries[d.ID] = md
		s.queue.push(md, nowKey)
		s.all = insertByID(s.all, md, memDeliveryID)
		s.byOrg[d.OrganizationID] = insertByID(s.byOrg[d.OrganizationID], md, memDeliveryID)
		s.bySub[d.SubscriptionID] = insertByID(s.bySub[d.SubscriptionID], md, memDeliveryID)
	}
	s.signal()
	return nil
}

// checkNewIDs returns ErrConflict if a delivery id is stored already or
// appears twice in deliveries. s.mu is held.
func (s *MemoryStore) checkNewIDs(deliveries []*Delivery) error {
	// A typical fan-out is a few deliveries: comparing them pairwise is
	// cheaper than building a set.
	const smallBatch = 16
	var seen map[string]struct{}
	if len(deliveries) > smallBatch {
		seen = make(map[string]struct{}, len(deliveries))
	}
	for i, d := range deliveries {
		if _, ok := s.deliveries[d.ID]; ok {
			return storeErr(ErrConflict, "delivery "+d.ID+" exists")
		}
		twice := false
		if seen != nil {
			_, twice = seen[d.ID]
			seen[d.ID] = struct{}{}
		} else {
			for _, o := range deliveries[:i] {
				twice = twice || o.ID == d.ID
			}
		}
		if twice {
			return storeErr(ErrConflict, "delivery "+d.ID+" is in the batch twice")
		}
	}
	return nil
}

// Claim implements DeliveryStore. The subscriptions it returns share their
// slices with the store, which replaces them whole when a subscription
// changes and never writes into them: a copy of the subscription per run
// of deliveries to it, and none of its event types or secrets.
func (s *MemoryStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]Claimed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, &ValidationError{Field: "limit", Reason: "must be positive"}
	}
	if lease <= 0 {
		return nil, &ValidationError{Field: "lease", Reason: "must be positive"}
	}
	now = now.Round(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	nowKey := dueKey(now)
	if !s.anyDue(nowKey) {
		return nil, nil
	}
	// The copies handed out share one allocation, and so does the list.
	n := min(limit, s.queue.len()+len(s.leased))
	out := make([]Claimed, 0, n)
	copies := make([]Delivery, 0, n)
	var (
		dropped []*memDelivery
		skipped []*memDelivery // due, put back once the claim is done
		claimed []*memDelivery // given back if the claim fails
		lastMs  *memSub        // the subscription of the last delivery claimed,
		lastSub *Subscription  // and its copy
		err     error
	)
	for len(out) < limit && s.anyDue(nowKey) {
		md := s.popDue(nowKey)
		ms := s.subs[md.d.SubscriptionID]
		switch {
		case ms == nil: // deleted while this delivery was in flight
			dropped = append(dropped, md)
			continue
		case len(skip) > 0 && slices.Contains(skip, md.d.SubscriptionID):
			skipped = append(skipped, md)
			continue
		case ms.sub.Disabled:
			md.d.State = StatePending
			md.d.LeaseExpiresAt = time.Time{}
			ms.parked = append(ms.parked, md)
			continue
		}
		if ms != lastMs {
			// Deliveries due together mostly share a subscription: one
			// copy for each run of them.
			var sub Subscription
			if sub, err = s.claimedSubscription(ms); err != nil {
				// Never hand out a delivery without its secrets.
				s.requeue(md, nowKey)
				break
			}
			lastMs, lastSub = ms, &sub
		}
		md.d.State = StateDelivering
		md.d.LeaseExpiresAt = now.Add(lease)
		md.d.UpdatedAt = now
		s.lease(md) // due again when the lease expires
		claimed = append(claimed, md)
		copies = append(copies, md.d)
		out = append(out, Claimed{Delivery: &copies[len(copies)-1], Subscription: lastSub})
	}
	if err != nil {
		for _, md := range claimed {
			s.unlease(md)
			md.d.State = StatePending
			md.d.LeaseExpiresAt = time.Time{}
			s.queue.push(md, nowKey)
		}
		out = nil
	}
	for _, md := range skipped {
		s.requeue(md, nowKey)
	}
	if len(dropped) > 0 {
		drop := make(map[*memDelivery]bool, len(dropped))
		for _, md := range dropped {
			drop[md] = true
		}
		s.removeDeliveries(func(md *memDelivery) bool { return drop[md] }, dropped)
	}
	return out, err
}

// Complete implements DeliveryStore.
func (s *MemoryStore) Complete(ctx context.Context, d *Delivery, a *Attempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d == nil {
		return &ValidationError{Field: "Delivery", Reason: "is nil"}
	}
	if a == nil {
		return &ValidationError{Field: "Attempt", Reason: "is nil"}
	}
	switch d.State {
	case StatePending, StateSucceeded, StateFailed:
	default:
		return &ValidationError{Field: "State", Reason: "must be pending, succeeded or failed, got " + strconv.Quote(string(d.State))}
	}
	if a.DeliveryID != "" && a.DeliveryID != d.ID {
		return &ValidationError{Field: "DeliveryID", Reason: "attempt belongs to another delivery"}
	}
	// Everything that can be prepared without the lock is: every worker
	// of a Dispatcher completes through it.
	now := time.Now().Round(0)
	first := []Attempt{*a} // the log of a delivery's first attempt
	first[0].DeliveryID = d.ID
	s.mu.Lock()
	defer s.mu.Unlock()
	md, err := s.held(d)
	if err != nil {
		return err
	}
	s.unlease(md)
	md.d.State = d.State
	md.d.AttemptCount = d.AttemptCount
	md.d.NextAttemptAt = d.NextAttemptAt.Round(0)
	md.d.LastStatusCode = d.LastStatusCode
	md.d.LastError = d.LastError
	md.d.LeaseExpiresAt = time.Time{}
	md.d.UpdatedAt = now
	if md.attempts == nil {
		md.attempts = first
	} else {
		md.attempts = append(md.attempts, first[0])
	}
	if md.d.State == StatePending {
		s.queue.push(md, dueKey(now))
		s.signal()
	}
	return nil
}

// Release implements DeliveryStore.
func (s *MemoryStore) Release(ctx context.Context, d *Delivery, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d == nil {
		return &ValidationError{Field: "Delivery", Reason: "is nil"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	md, err := s.held(d)
	if err != nil {
		return err
	}
	s.unlease(md)
	md.d.State = StatePending
	md.d.NextAttemptAt = at.Round(0)
	md.d.LeaseExpiresAt = time.Time{}
	md.d.UpdatedAt = time.Now().Round(0)
	s.queue.push(md, dueKey(md.d.UpdatedAt))
	s.signal()
	return nil
}

// anyDue reports whether a delivery is due at nowKey: a pending one or one
// whose lease expired.
func (s *MemoryStore) anyDue(nowKey int64) bool {
	if e, ok := s.queue.first(); ok && e.key <= nowKey {
		return true
	}
	return len(s.leased) > 0 && s.leased[0].key <= nowKey
}

// popDue takes out of its queue the delivery due first at nowKey; one is
// (anyDue).
func (s *MemoryStore) popDue(nowKey int64) *memDelivery {
	e, ok := s.queue.first()
	if len(s.leased) > 0 && s.leased[0].key <= nowKey && (!ok || e.key > nowKey || dueBefore(s.leased[0], e)) {
		md := heap.Pop(&s.leased).(*memDelivery)
		delete(s.holding, md.d.ID) // its lease expired
		return md
	}
	return s.queue.pop()
}

// requeue puts md, which popDue returned and Claim skipped, back where it
// was: among the expired leases, or in the pending queue.
func (s *MemoryStore) requeue(md *memDelivery, nowKey int64) {
	if md.d.State == StateDelivering {
		s.lease(md)
		return
	}
	s.queue.push(md, nowKey)
}

// lease adds md, just claimed, to leased and holding.
func (s *MemoryStore) lease(md *memDelivery) {
	heap.Push(&s.leased, md)
	s.holding[md.d.ID] = md
}

// unlease takes md out of leased and holding.
func (s *MemoryStore) unlease(md *memDelivery) {
	heap.Remove(&s.leased, md.heapIdx)
	delete(s.holding, md.d.ID)
}

// held returns the stored delivery d if the caller still holds its lease.
// Every delivery in holding is being attempted (its state is delivering).
func (s *MemoryStore) held(d *Delivery) (*memDelivery, error) {
	if md, ok := s.holding[d.ID]; ok && md.d.LeaseExpiresAt.Equal(d.LeaseExpiresAt) {
		return md, nil
	}
	md, ok := s.deliveries[d.ID]
	if !ok {
		return nil, storeErr(ErrNotFound, "delivery "+d.ID)
	}
	if md.d.State != StateDelivering || !md.d.LeaseExpiresAt.Equal(d.LeaseExpiresAt) {
		return nil, storeErr(ErrLeaseLost, "delivery "+d.ID)
	}
	return md, nil
}

// GetDelivery implements DeliveryStore.
func (s *MemoryStore) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	md, ok := s.deliveries[id]
	if !ok {
		return nil, storeErr(ErrNotFound, "delivery "+id)
	}
	c := md.d
	return &c, nil
}

// ListDeliveries implements DeliveryStore. It walks the deliveries of
// q.SubscriptionID, else of q.OrganizationID, else all of them, newest first,
// and keeps those matching the other fields of q. The cursor is the id of the
// last delivery of the previous page.
func (s *MemoryStore) ListDeliveries(ctx context.Context, q DeliveryQuery) ([]*Delivery, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	size, err := q.Page.Size()
	if err != nil {
		return nil, "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.all
	switch {
	case q.SubscriptionID != "":
		list = s.bySub[q.SubscriptionID]
	case q.OrganizationID != "":
		list = s.byOrg[q.OrganizationID]
	}
	i := len(list) - 1
	if q.Page.Cursor != "" {
		// The last delivery before the cursor.
		j, _ := slices.BinarySearchFunc(list, q.Page.Cursor, func(md *memDelivery, id string) int {
			return cmp.Compare(md.d.ID, id)
		})
		i = j - 1
	}
	var out []*Delivery
	for ; i >= 0; i-- {
		d := &list[i].d
		if !deliveryMatches(d, &q) {
			continue
		}
		if len(out) == size {
			return out, out[len(out)-1].ID, nil
		}
		c := *d
		out = append(out, &c)
	}
	return out, "", nil
}

func deliveryMatches(d *Delivery, q *DeliveryQuery) bool {
	return (q.OrganizationID == "" || d.OrganizationID == q.OrganizationID) &&
		(q.SubscriptionID == "" || d.SubscriptionID == q.SubscriptionID) &&
		(q.State == "" || d.State == q.State) &&
		(q.EventType == "" || d.EventType == q.EventType) &&
		(q.CreatedAfter.IsZero() || !d.CreatedAt.Before(q.CreatedAfter)) &&
		(q.CreatedBefore.IsZero() || d.CreatedAt.Before(q.CreatedBefore))
}

// ListAttempts implements DeliveryStore.
func (s *MemoryStore) ListAttempts(ctx context.Context, deliveryID string) ([]*Attempt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	md, ok := s.deliveries[deliveryID]
	if !ok {
		return nil, storeErr(ErrNotFound, "delivery "+deliveryID)
	}
	out := make([]*Attempt, len(md.attempts))
	for i := range md.attempts {
		c := md.attempts[i]
		out[i] = &c
	}
	return out, nil
}

// Redeliver implements DeliveryStore.
func (s *MemoryStore) Redeliver(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	md, ok := s.deliveries[id]
	if !ok {
		return storeErr(ErrNotFound, "delivery "+id)
	}
	if md.d.State != StateFailed && md.d.State != StateSucceeded {
		return storeErr(ErrConflict, "delivery "+id+" is "+string(md.d.State))
	}
	if _, ok := s.subs[md.d.SubscriptionID]; !ok {
		return storeErr(ErrConflict, "the subscription of delivery "+id+" was deleted")
	}
	md.d.State = StatePending
	md.d.NextAttemptAt = at.Round(0)
	md.d.UpdatedAt = time.Now().Round(0)
	s.queue.push(md, dueKey(md.d.UpdatedAt))
	s.signal()
	return nil
}

// indexSub adds an enabled subscription to the match index.
func (s *MemoryStore) indexSub(ms *memSub) {
	if ms.sub.Disabled {
		return
	}
	for _, p := range ms.sub.EventTypes {
		k := matchKey{ms.sub.OrganizationID, ms.sub.ProjectID, p}
		set := s.index[k]
		if set == nil {
			set = make(map[*memSub]struct{})
			s.index[k] = set
		}
		set[ms] = struct{}{}
	}
}

// unindexSub removes a subscription from the match index.
func (s *MemoryStore) unindexSub(ms *memSub) {
	for _, p := range ms.sub.EventTypes {
		k := matchKey{ms.sub.OrganizationID, ms.sub.ProjectID, p}
		if set := s.index[k]; set != nil {
			delete(set, ms)
			if len(set) == 0 {
				delete(s.index, k)
			}
		}
	}
}

// removeDeliveries deletes from the store the deliveries among candidates for
// which drop is true, taking them out of the queue and the log.
func (s *MemoryStore) removeDeliveries(drop func(*memDelivery) bool, candidates []*memDelivery) {
	orgs := make(map[string]bool)
	subs := make(map[string]bool)
	n := 0
	for _, md := range candidates {
		if !drop(md) {
			continue
		}
		n++
		delete(s.deliveries, md.d.ID)
		switch {
		case md.heapIdx == -1: // in neither queue
		case md.d.State == StateDelivering:
			s.unlease(md)
		default:
			s.queue.remove(md)
		}
		orgs[md.d.OrganizationID] = true
		subs[md.d.SubscriptionID] = true
	}
	if n == 0 {
		return
	}
	s.all = slices.DeleteFunc(s.all, drop)
	for org := range orgs {
		s.byOrg[org] = slices.DeleteFunc(s.byOrg[org], drop)
		if len(s.byOrg[org]) == 0 {
			delete(s.byOrg, org)
		}
	}
	for sub := range subs {
		s.bySub[sub] = slices.DeleteFunc(s.bySub[sub], drop)
		if len(s.bySub[sub]) == 0 {
			delete(s.bySub, sub)
		}
	}
}

// store sets ms to the stored form of sub: a copy, with its secrets sealed
// when the store has a key ring. s.mu is held.
func (s *MemoryStore) store(ms *memSub, sub *Subscription) error {
	ms.sub, ms.keyID, ms.sealed = cloneSubscription(sub), "", nil
	if s.keys == nil {
		return nil
	}
	keyID, sealed, err := SealSecrets(s.keys, sub.ID, sub.Secrets)
	if err != nil {
		return err
	}
	ms.sub.Secrets, ms.keyID, ms.sealed = nil, keyID, sealed
	return nil
}

// open returns a copy of the subscription stored in ms, its secrets opened.
// s.mu is held.
func (s *MemoryStore) open(ms *memSub) (*Subscription, error) {
	c, err := s.claimedSubscription(ms)
	if err != nil {
		return nil, err
	}
	c.EventTypes = slices.Clone(c.EventTypes)
	if ms.keyID == "" {
		c.Secrets = slices.Clone(c.Secrets)
	}
	return &c, nil
}

// claimedSubscription returns the subscription stored in ms with its
// secrets opened, sharing its event types (and its secrets, when they are
// kept in clear) with the store. s.mu is held.
func (s *MemoryStore) claimedSubscription(ms *memSub) (Subscription, error) {
	c := ms.sub
	if ms.keyID == "" {
		return c, nil
	}
	secrets, err := OpenSecrets(s.keys, ms.sub.ID, ms.keyID, ms.sealed)
	if err != nil {
		return Subscription{}, err
	}
	c.Secrets = secrets
	return c, nil
}

// ReencryptSecrets implements keyring.Reencrypter: it seals under the key
// ring's current key the secrets of the subscriptions kept under another
// key or in clear. It holds the store's lock while it runs.
func (s *MemoryStore) ReencryptSecrets(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		return 0, errors.New("webhook: reencrypt secrets: the store has no key ring")
	}
	n := 0
	for _, ms := range s.subs {
		if ms.keyID == s.keys.Current() {
			continue
		}
		sub, err := s.claimedSubscription(ms)
		if err != nil {
			return n, err
		}
		if err := s.store(ms, &sub); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// cloneSubscription returns a copy of sub sharing no memory with it.
func cloneSubscription(sub *Subscription) Subscription {
	c := *sub
	c.EventTypes = slices.Clone(sub.EventTypes)
	c.Secrets = slices.Clone(sub.Secrets)
	return c
}

func memSubID(ms *memSub) string           { return ms.sub.ID }
func memDeliveryID(md *memDelivery) string { return md.d.ID }

// insertByID inserts v into list, kept in ascending id order. Ids are
// time-sortable to the millisecond and random within it, so v belongs at
// the end or a few places before it: insertByID looks there first and
// searches the whole list only when v is older than the last few entries.
func insertByID[T any](list []T, v T, id func(T) string) []T {
	const nearEnd = 32
	vid := id(v)
	i := len(list)
	for i > 0 && len(list)-i < nearEnd && id(list[i-1]) > vid {
		i--
	}
	if i > 0 && len(list)-i == nearEnd && id(list[i-1]) > vid {
		i, _ = slices.BinarySearchFunc(list[:i], vid, func(e T, target string) int { return cmp.Compare(id(e), target) })
	}
	if i == len(list) {
		return append(list, v)
	}
	return slices.Insert(list, i, v)
}

// storeErr wraps a sentinel with detail, keeping errors.Is working.
func storeErr(sentinel error, detail string) error {
	return fmt.Errorf("%w: %s", sentinel, detail)
}
