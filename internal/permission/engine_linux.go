package permission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fanotify"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Answer is a fanotify verdict the engine gives when it cannot decide.
type Answer int

// The answers.
const (
	// AnswerDeny fails the call (the rule's path already matched).
	AnswerDeny Answer = iota
	// AnswerAllow lets the call through.
	AnswerAllow
)

// DefaultTimeout bounds one decision: /proc reads take microseconds, so
// a decision this slow means the host is overloaded or /proc is stuck.
const DefaultTimeout = 250 * time.Millisecond

// Config configures the fanotify deny engine.
type Config struct {
	// Rules are the exec and open deny rules to enforce; each must be
	// one whose FanotifyProblem is "" (Plan chose fanotify for it).
	Rules []*policy.Rule
	// Timeout bounds each decision that needs /proc; 0 means
	// DefaultTimeout. Events whose path matches no rule never wait.
	Timeout time.Duration
	// OnTimeout is the answer when a decision takes longer than Timeout
	// or the decision queue is full. The default, AnswerDeny, fails
	// closed: only events whose resolved path already matched a deny
	// rule can be waiting, so denying them cannot stall the rest of the
	// host.
	OnTimeout Answer
	// Workers decide the events whose path matched; 0 means 2.
	Workers int
	// Emit receives an exec or open event with its Verdict for each
	// denial, after the answer is sent. It is called from the engine's
	// goroutines and must not block for long.
	Emit func(*event.Event)
	// Logger gets diagnostics; nil discards them.
	Logger *slog.Logger
	// Observe, when set, gets the time from reading each event whose
	// path matched a rule to answering it (the decisions that read
	// /proc; the others are answered at once by the reader).
	Observe func(time.Duration)
}

// Stats counts what the engine did.
type Stats struct {
	Events    uint64 // events read
	Allowed   uint64 // answered allow (fast path, own threads, decided, shutdown)
	Denied    uint64 // answered deny (by a rule or the watchdog)
	Timeouts  uint64 // decisions the watchdog answered
	Overloads uint64 // events answered OnTimeout because the queue was full
	Errors    uint64 // failed reads and answers (answers fail after shutdown)
}

// Engine is the fanotify deny engine. Create it with New, then call Run
// once. The process that runs an Engine should not fork (see Run); a
// program that must fork runs the engine in a helper process, as this
// package's tests do.
type Engine struct {
	cfg      Config
	g        *fanotify.Group
	marks    []fsMark                  // placed by Run
	inodes   map[devIno][]*policy.Rule // rules by the inode their exact path had at start
	exec     []*policy.Rule            // rules on FAN_OPEN_EXEC_PERM
	open     []*policy.Rule            // rules on FAN_OPEN_PERM
	errno    bool                      // FAN_DENY_ERRNO works on g
	queue    chan *pending
	ownPid   int32
	log      *slog.Logger
	stats    struct{ events, allowed, denied, timeouts, overloads, errors atomic.Uint64 }
	testHook func()        // called by workers before deciding; tests slow them down
	ready    chan struct{} // closed once the marks are placed
	stopping atomic.Bool
	inflight sync.Map // *pending being decided
}

// New creates the fanotify group and finds the filesystems that hold a
// path or path_prefix of the rules; Run marks them (FAN_OPEN_EXEC_PERM
// for exec rules, FAN_OPEN_PERM for open rules) once its readers are
// running, so that no open, not even this process's own, waits on a
// group nobody reads. Needs CAP_SYS_ADMIN and Linux 5.0+
// (FAN_OPEN_EXEC_PERM), 4.20+ for filesystem marks. Call Run or Close.
func New(cfg Config) (*Engine, error) {
	e := &Engine{cfg: cfg, ownPid: int32(os.Getpid()), log: cfg.Logger, ready: make(chan struct{})}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.cfg.Timeout <= 0 {
		e.cfg.Timeout = DefaultTimeout
	}
	if e.cfg.Workers <= 0 {
		e.cfg.Workers = 2
	}
	needErrno := false
	for _, r := range cfg.Rules {
		if p := r.FanotifyProblem(); p != "" {
			return nil, fmt.Errorf("rule %s: %s", r.Name, p)
		}
		switch r.Event {
		case event.TypeExec:
			e.exec = append(e.exec, r)
		case event.TypeOpen:
			e.open = append(e.open, r)
		}
		needErrno = needErrno || (r.Errno != 0 && r.Errno != unix.EPERM)
	}
	class := uint(unix.FAN_CLASS_CONTENT)
	if needErrno {
		if err := fanotify.ProbeDenyErrno(); err != nil {
			return nil, fmt.Errorf("a rule asks for an errno other than EPERM: %w", err)
		}
		class, e.errno = unix.FAN_CLASS_PRE_CONTENT, true
	}
	// FAN_UNLIMITED_QUEUE: a bounded queue drops permission events on
	// overflow, and the kernel allows what it drops. FAN_REPORT_TID: the
	// thread in the call, whose /proc/TID/syscall gives open flags.
	g, err := fanotify.Init(class|unix.FAN_UNLIMITED_QUEUE|unix.FAN_REPORT_TID, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating fanotify group: %w", err)
	}
	e.g = g
	if e.marks, err = e.findMarks(); err != nil {
		g.Close()
		return nil, err
	}
	return e, nil
}

// Ready is closed once Run has placed every mark: from then on the
// rules are enforced. It is never closed if placing the marks fails (Run
// returns the error).
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// Close releases the group without running; pending events are allowed.
func (e *Engine) Close() error { return e.g.Close() }

// Stats returns the counters so far.
func (e *Engine) Stats() Stats {
	s := &e.stats
	return Stats{s.events.Load(), s.allowed.Load(), s.denied.Load(), s.timeouts.Load(), s.overloads.Load(), s.errors.Load()}
}

// Run answers permission events until ctx ends, then shuts down so that
// nothing stays blocked: it removes the marks (no new events), answers
// allow to every event queued or being decided, and closes the group. It
// returns nil on a normal stop.
//
// The kernel allows pending events when the group's last reference goes,
// but a child forked by this process that is blocked in execve on one of
// the group's own events still holds a copy of the fd (close-on-exec has
// not happened yet), so closing alone could leave it, and every later
// exec on the marked filesystems, waiting forever. Hence the explicit
// answers; and hence the process that runs an Engine should not fork.
func (e *Engine) Run(ctx context.Context) error {
	e.queue = make(chan *pending, 256)
	var workers, readers sync.WaitGroup
	for range e.cfg.Workers {
		workers.Go(func() {
			for p := range e.queue {
				e.decide(p)
			}
		})
	}
	for range 2 {
		readers.Go(e.read)
	}
	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()
	markErr := e.mark()
	if markErr == nil {
		close(e.ready)
		select {
		case <-ctx.Done():
		case <-readersDone:
		}
	}
	err := e.shutdown(readersDone)
	close(e.queue)
	workers.Wait()
	return errors.Join(markErr, err)
}

// shutdown makes every event get an allow: new ones never come (the
// marks go), queued ones are read and allowed until the queue is empty,
// in-flight ones are allowed here; then the group is closed.
func (e *Engine) shutdown(readersDone <-chan struct{}) error {
	e.stopping.Store(true)
	var errs []error
	if err := e.g.Flush(); err != nil {
		errs = append(errs, err)
	}
	// Readers drain what is queued, allowing it, and stop when a read
	// finds nothing for a moment.
	if err := e.g.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil && !errors.Is(err, os.ErrClosed) {
		errs = append(errs, err)
	}
	<-readersDone
	e.inflight.Range(func(k, _ any) bool {
		e.answer(k.(*pending), AnswerAllow, nil)
		return true
	})
	if err := e.g.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("stopping the fanotify engine: %w", errors.Join(errs...))
	}
	return nil
}

// read is one reader loop: it answers at once every event whose path no
// rule names and queues the others for a worker.
func (e *Engine) read() {
	buf := make([]byte, 32<<10)
	evs := make([]fanotify.Event, 0, 256)
	var linkBuf [unix.PathMax + 16]byte
	for {
		n, err := e.g.Read(buf)
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && e.stopping.Load() {
			return
		}
		if err != nil {
			// EMFILE and friends: the kernel denied that one event
			// itself. Keep reading, but do not spin.
			e.stats.errors.Add(1)
			e.log.Warn("reading fanotify events", "err", err)
			time.Sleep(time.Millisecond)
			continue
		}
		evs, err = fanotify.Decode(buf[:n], evs[:0])
		if err != nil {
			e.stats.errors.Add(1)
			e.log.Error("decoding fanotify events", "err", err)
		}
		for _, ev := range evs {
			e.first(ev, linkBuf[:])
		}
	}
}
