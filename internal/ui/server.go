// Package ui is vigil's read-only view of the host: the process tree from
// the monitor's process table, the events streaming through it and the
// alerts (events a policy rule matched) with the ancestry that led to
// them. The agent serves it when asked (vigil monitor --ui): a page with
// its assets embedded in the binary, and a JSON API (/api/tree,
// /api/alerts, /api/events as Server-Sent Events) that vigil tree --from
// uses too. Nothing it serves changes the host; it has no authentication,
// which is why ListenAddr refuses addresses other hosts reach unless
// told otherwise.
//
// The Server is an event.Sink in the monitor's fanout. Emit never blocks
// the sensors' reader: each client has a bounded queue, and what a slow
// client cannot take is dropped and counted. Errors: Serve returns the
// listening error; the handlers answer HTTP errors and log nothing.
package ui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
)

//go:embed static
var static embed.FS

// DefaultQueue is how many bytes of events a client's queue holds: some
// 2,500 events with a full chain of ancestors, 50 ms at 50,000 events/s.
// A client holds up to twice that (the queue and the piece being
// written).
const DefaultQueue = 4 << 20

// Config configures Serve.
type Config struct {
	Addr  string       // host:port to listen on, from ListenAddr
	Table *proc.Table  // the monitor's process table
	Log   *slog.Logger // for serving errors
	Queue int          // bytes of events queued per client; DefaultQueue when <= 0
}

// Server serves the view. Create it with Serve; Close stops it and waits
// for its goroutines.
type Server struct {
	cfg    Config
	srv    *http.Server
	addr   net.Addr
	done   chan struct{}
	cancel context.CancelFunc
	page   *template.Template
	users  users
	alerts alerts

	emu     sync.Mutex // Emit's scratch
	scratch []byte

	cmu      sync.RWMutex
	clients  map[*client]struct{}
	nclients atomic.Int32
	sent     atomic.Uint64
	dropped  atomic.Uint64
}

// Serve listens on cfg.Addr and serves the view until Close. Listening
// happens before Serve returns, so a busy port is the caller's error.
func Serve(cfg Config) (*Server, error) {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	page, err := template.New("index.html").Funcs(funcs).ParseFS(static, "static/index.html")
	if err != nil {
		return nil, fmt.Errorf("parsing page template: %w", err)
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening for the ui: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, addr: l.Addr(), done: make(chan struct{}), cancel: cancel, page: page, clients: map[*client]struct{}{}}
	s.srv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && cfg.Log != nil {
			cfg.Log.Error("serving the ui", "err", err)
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Close ends the event streams, stops the server and waits for it.
func (s *Server) Close() error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("stopping the ui server: %w", err)
	}
	return nil
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(static, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.HandleFunc("GET /fragment/tree", s.serveTreeFragment)
	mux.HandleFunc("GET /api/tree", s.serveTree)
	mux.HandleFunc("GET /api/alerts", s.serveAlerts)
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Stats()) })
	mux.HandleFunc("GET /api/events", s.serveEvents)
	h := readOnly(mux)
	if host, _, err := net.SplitHostPort(s.cfg.Addr); err == nil && loopback(host) {
		h = loopbackHost(h)
	}
	return h
}

// loopbackHost refuses requests whose Host header is not a loopback name
// or address, for a server listening on loopback only: a web page the
// operator visits cannot then read the view through DNS rebinding (its
// name resolving to 127.0.0.1 on a second look-up).
func loopbackHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if !loopback(host) {
			http.Error(w, "the view answers only to a loopback host name", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// readOnly answers only GET and HEAD (the mux's GET patterns match both),
// and forbids every source but the page's own for scripts, styles and
// connections: the page fetches nothing from elsewhere.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// tree returns the process tree from the table, with the marks; only
// pid's branch when pid is not 0.
func (s *Server) tree(pid uint32) *Tree {
	ps := processes(s.cfg.Table.Snapshot(), &s.users, s.alerts.markCopy())
	if pid != 0 {
		ps = Branch(ps, pid)
	}
	return &Tree{Time: time.Now(), Source: "agent", Processes: ps}
}

func pidParam(r *http.Request) (uint32, error) {
	v := r.URL.Query().Get("pid")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("pid %q: not a pid", v)
	}
	return uint32(n), nil
}

func (s *Server) serveTree(w http.ResponseWriter, r *http.Request) {
	pid, err := pidParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, s.tree(pid))
}

func (s *Server) serveAlerts(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.alerts.list())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// serveEvents streams events as Server-Sent Events: each "data:" line is
// one event's JSON (docs/events.md). ?type=exec,open, ?rule=NAME and
// ?alerts=1 narrow the stream. When the client's queue overflowed, an
// "event: dropped" message says how many events it lost in all.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	c := newClient(s.cfg.Queue)
	c.rule, c.alerts = r.URL.Query().Get("rule"), r.URL.Query().Get("alerts") == "1"
	if v := r.URL.Query().Get("type"); v != "" {
		c.types = map[event.Type]bool{}
		for _, t := range strings.Split(v, ",") {
			c.types[event.Type(t)] = true
		}
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	if _, err := fmt.Fprint(w, ": vigil events\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	spare := make([]byte, 0, cap(c.buf))
	s.addClient(c)
	defer s.removeClient(c)
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	var told uint64
	for {
		var out []byte
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			out = append(spare[:0], ": keepalive\n\n"...)
		case <-c.notify:
			out = c.take(spare)
		}
		if d := c.dropped.Load(); d != told {
			told = d
			out = fmt.Appendf(out, "event: dropped\ndata: %d\n\n", d)
		}
		if _, err := w.Write(out); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		spare = out
	}
}
