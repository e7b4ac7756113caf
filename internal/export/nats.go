package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/event"
)

// NATSConfig configures the JetStream exporter.
type NATSConfig struct {
	URL string // nats://host:port, or several separated by commas
	// Stream is created, capturing SubjectPrefix.>, when missing;
	// default "VIGIL". An existing stream is used as it is.
	Stream string
	// SubjectPrefix starts every subject: <prefix>.<host>.<type>, and
	// <prefix>.<host>.alert for the copy of each alert (an event with a
	// rule's severity, event.Event.Alert); default "vigil".
	SubjectPrefix string
	// Host is the host token of subjects; default os.Hostname with dots
	// made underscores.
	Host  string
	Creds string // credentials file, optional
	// BufferBytes bounds the events held while the server is away;
	// default DefaultBufferBytes.
	BufferBytes int64
	// AckTimeout is how long a publish waits for JetStream's ack before
	// it is sent again; default 5s.
	AckTimeout time.Duration
	Log        *slog.Logger
	Hooks      Hooks
}

// natsBatch is how many publishes are in flight at once.
const natsBatch = 256

// dupWindow is the stream's duplicate window: a message sent again
// because its ack was lost is stored once if resent within it.
const dupWindow = 2 * time.Minute

type natsMsg struct {
	subject string
	data    []byte
	id      string
}

// NATS publishes events to JetStream, one subject per host and event
// type, at least once: every message waits for the stream's ack and is
// sent again (with the same Nats-Msg-Id, so the stream keeps one copy)
// until it gets one. Create it with NewNATS.
type NATS struct {
	cfg    NATSConfig
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	q      *queue[natsMsg]
	prefix string // "<prefix>.<host>."
	runID  string
	seq    uint64

	stop  chan struct{} // closed by Close: deliver what is left, then end
	abort chan struct{} // closed when Close's context ends: give up
	done  chan struct{}

	delivered atomic.Uint64
	retries   atomic.Uint64
	unsent    int // given up at Close; written by run before done closes
}

// NewNATS connects to cfg.URL (retrying in the background if the server
// is not up yet) and starts the delivery goroutine. Call Close.
func NewNATS(cfg NATSConfig) (*NATS, error) {
	if cfg.URL == "" {
		return nil, errors.New("starting nats exporter: no url")
	}
	if cfg.Stream == "" {
		cfg.Stream = "VIGIL"
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "vigil"
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("starting nats exporter: %w", err)
		}
		cfg.Host = strings.NewReplacer(".", "_", " ", "_", "*", "_", ">", "_").Replace(h)
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 5 * time.Second
	}
	log := orDefault(cfg.Log).With("output", "nats")
	opts := []nats.Option{
		nats.Name("vigil " + cfg.Host),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// Our queue is the one bounded buffer; the client's own would
		// hide messages from the retry logic.
		nats.ReconnectBufSize(-1),
		// Close ends the logging: no callback outlives the exporter.
		nats.NoCallbacksAfterClientClose(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrl()) }),
	}
	if cfg.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to nats: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(cfg.AckTimeout), jetstream.WithPublishAsyncMaxPending(2*natsBatch))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("starting jetstream client: %w", err)
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	n := &NATS{
		cfg: cfg, log: log, nc: nc, js: js,
		q:      newQueue[natsMsg](cfg.BufferBytes, log),
		prefix: cfg.SubjectPrefix + "." + cfg.Host + ".",
		runID:  cfg.Host + "-" + hex.EncodeToString(id[:]) + "-",
		stop:   make(chan struct{}), abort: make(chan struct{}), done: make(chan struct{}),
	}
	go n.run()
	return n, nil
}

// Emit queues ev; it never blocks. A full queue drops ev (see Stats).
func (n *NATS) Emit(ev *event.Event) error {
	n.seq++
	data := ev.AppendJSON(make([]byte, 0, 512))
	m := natsMsg{subject: n.prefix + string(ev.Type), data: data, id: n.runID + strconv.FormatUint(n.seq, 10)}
	n.q.push(m, int64(len(data)+len(m.subject)+len(m.id)+64))
	if ev.Alert() {
		// A second message, so that a consumer of alerts alone
		// subscribes to one subject; its own id keeps both in the stream.
		a := natsMsg{subject: n.prefix + alertSubject, data: data, id: m.id + "a"}
		n.q.push(a, int64(len(data)+len(a.subject)+len(a.id)+64))
	}
	return nil
}

// alertSubject is the last token of the subject alerts are copied to.
const alertSubject = "alert"

// Flush does nothing: delivery runs on its own goroutine.
func (n *NATS) Flush() error { return nil }

// Stats returns the exporter's counters.
func (n *NATS) Stats() Stats {
	return Stats{
		Queued: n.q.depth.Load(), QueuedBytes: n.q.qbytes.Load(), Enqueued: n.q.pushed.Load(),
		Delivered: n.delivered.Load(), Dropped: n.q.dropped.Load(), Retries: n.retries.Load(),
	}
}

// Close stops taking events, delivers what is queued until ctx ends,
// then counts what is left as dropped and closes the connection.
func (n *NATS) Close(ctx context.Context) error {
	n.q.close()
	close(n.stop)
	select {
	case <-n.done:
	case <-ctx.Done():
		close(n.abort)
		<-n.done
	}
	n.nc.Close()
	if left := n.q.close() + n.unsent; left > 0 {
		n.q.dropped.Add(uint64(left))
		return fmt.Errorf("closing nats exporter: %d events undelivered", left)
	}
	return nil
}

// run is the delivery goroutine.
func (n *NATS) run() {
	defer close(n.done)
	var batch, retry []entry[natsMsg]
	streamOK := false
	fails := 0
	for {
		if !streamOK {
			if err := n.ensureStream(); err != nil {
				if fails == 0 || fails%20 == 0 {
					n.log.Warn("nats stream not ready", "stream", n.cfg.Stream, "err", err)
				}
				if !n.wait(backoff(fails)) {
					n.dropLeft(retry)
					return
				}
				fails++
				continue
			}
			streamOK = true
		}
		if len(retry) > 0 {
			batch, retry = append(batch[:0], retry...), retry[:0]
		} else {
			batch = n.q.take(batch[:0], natsBatch, n.stop)
			if len(batch) == 0 {
				return // stopped and nothing left
			}
		}
		retry = n.publish(batch, retry)
		if len(retry) == 0 {
			fails = 0
			continue
		}
		n.retries.Add(uint64(len(retry)))
		if !n.wait(backoff(fails)) {
			n.dropLeft(retry)
			return
		}
		fails++
	}
}

// publish sends batch and waits for every ack; it returns retry with the
// messages that must be sent again appended.
func (n *NATS) publish(batch, retry []entry[natsMsg]) []entry[natsMsg] {
	futs := make([]jetstream.PubAckFuture, len(batch))
	for i, e := range batch {
		m := &nats.Msg{Subject: e.v.subject, Data: e.v.data, Header: nats.Header{}}
		f, err := n.js.PublishMsgAsync(m, jetstream.WithMsgID(e.v.id))
		if err != nil {
			retry = append(retry, batch[i:]...)
			break
		}
		futs[i] = f
	}
	for i, f := range futs {
		if f == nil {
			break
		}
		select {
		case <-f.Ok():
			n.delivered.Add(1)
			n.cfg.Hooks.delivered(batch[i].enq)
		case <-f.Err():
			retry = append(retry, batch[i])
		}
	}
	return retry
}

// ensureStream creates the stream when it does not exist.
func (n *NATS) ensureStream() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := n.js.Stream(ctx, n.cfg.Stream)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("looking up stream: %w", err)
	}
	_, err = n.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:       n.cfg.Stream,
		Subjects:   []string{n.cfg.SubjectPrefix + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: dupWindow,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("creating stream: %w", err)
	}
	n.log.Info("nats stream ready", "stream", n.cfg.Stream, "subjects", n.cfg.SubjectPrefix+".>")
	return nil
}

// wait sleeps d; it reports false when Close gave up meanwhile.
func (n *NATS) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.abort:
		return false
	}
}

// dropLeft records messages the goroutine gives up on, for Close.
func (n *NATS) dropLeft(left []entry[natsMsg]) { n.unsent = len(left) }
