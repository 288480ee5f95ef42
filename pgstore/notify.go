package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener reconnect delays: the first retry waits listenMinBackoff, each
// further one twice as long, up to listenMaxBackoff.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// WorkAvailable returns a channel that receives a value after deliveries are
// enqueued, released or redelivered, by this Store or by any process using
// the same database and Channel. Values coalesce and sends never block.
//
// The first call starts a goroutine holding one dedicated connection (not
// taken from the pool) that LISTENs on the channel; Close stops it. When the
// connection fails, the goroutine logs the outage, reconnects with backoff
// and then sends a value, since notifications sent meanwhile were lost; a
// dispatcher also keeps a fallback poll for the same reason. Processes that
// only publish never call it and hold no extra connection.
func (s *Store) WorkAvailable() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop == nil && !s.closed {
		ctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		s.listenWG.Add(1)
		go func() {
			defer s.listenWG.Done()
			s.listen(ctx)
		}()
	}
	return s.work
}

// signal wakes a waiting dispatcher of this process without blocking.
func (s *Store) signal() {
	select {
	case s.work <- struct{}{}:
	default:
	}
}

// listen keeps a LISTEN connection open until ctx ends, signalling on every
// notification.
func (s *Store) listen(ctx context.Context) {
	backoff := listenMinBackoff
	failing := false
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() {
			if failing {
				s.logger.InfoContext(ctx, "pgstore: listener reconnected", "channel", s.channel)
				failing = false
			}
			backoff = listenMinBackoff
			// Notifications sent while disconnected are lost: look again.
			s.signal()
		})
		if ctx.Err() != nil {
			return
		}
		if !failing {
			s.logger.WarnContext(ctx, "pgstore: listener connection lost; reconnecting", "channel", s.channel, "err", err)
			failing = true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, LISTENs, calls ready, and signals on each
// notification until the connection fails or ctx ends.
func (s *Store) listenOnce(ctx context.Context, ready func()) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		// The listener's ctx may be done: close with a fresh, short one.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	ready()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.signal()
	}
}
