package policy

import (
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/errno"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// Mechanism names what carries out a verdict; the names are those of
// event.Verdict.Mechanism.
type Mechanism string

// The mechanisms.
const (
	// MechKill is SIGKILL sent by a BPF program at the hook
	// (bpf_send_signal, Linux 5.3+).
	MechKill Mechanism = "bpf_send_signal"
	// MechLSM is a BPF LSM program that returns an error (Linux 5.7+,
	// "bpf" in the active LSM list).
	MechLSM Mechanism = "lsm"
	// MechFanotify is a fanotify permission event answered FAN_DENY
	// (FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM), decided in userspace.
	MechFanotify Mechanism = "fanotify"
)

// Available says which mechanisms the running kernel offers. The caller
// probes them (internal/doctor); policy only reads this.
type Available struct {
	Kill     bool // bpf_send_signal from the sensors' programs
	LSM      bool // BPF LSM programs attach
	Fanotify bool // fanotify permission events (FAN_CLASS_CONTENT)
	// FanotifyErrno is FAN_DENY_ERRNO (Linux 6.13+): fanotify can fail
	// a call with an errno other than EPERM.
	FanotifyErrno bool
}

// fanotifyErrnos are the errnos FAN_DENY_ERRNO accepts
// (fs/notify/fanotify/fanotify_user.c, process_access_response).
var fanotifyErrnos = []syscall.Errno{unix.EPERM, unix.EIO, unix.EBUSY, unix.ETXTBSY, unix.EAGAIN, unix.ENOSPC, unix.EDQUOT}

// Options returns the mechanisms that could carry out r's action,
// preferred first, whatever the kernel offers; nil for ActionLog.
func (r *Rule) Options() []Mechanism {
	switch r.Action {
	case ActionKill:
		return []Mechanism{MechKill}
	case ActionDeny:
		if r.Event == event.TypeExec || r.Event == event.TypeOpen {
			if r.FanotifyProblem() == "" {
				if r.Match.hasContainerMatchers() {
					// BPF LSM does not evaluate them (Kernel).
					return []Mechanism{MechFanotify}
				}
				return []Mechanism{MechLSM, MechFanotify}
			}
		}
		return []Mechanism{MechLSM}
	}
	return nil
}

// FanotifyProblem returns why fanotify cannot enforce r, or "" when it
// can. It does not consider FanotifyErrno; see Plan.
func (r *Rule) FanotifyProblem() string {
	m := &r.Match
	switch {
	case r.Action != ActionDeny && r.Action != ActionKill:
		return "fanotify only denies and kills"
	case r.Event != event.TypeExec && r.Event != event.TypeOpen:
		return fmt.Sprintf("fanotify has no permission event for %s", r.Event)
	case m.Path == nil && m.PathPrefix == nil:
		return "fanotify needs path or path_prefix to know which filesystems to watch"
	case m.ArgsContain != nil || m.ArgsGlob != nil:
		return "the exec's arguments are still in user memory when fanotify asks, so args_contain and args_glob could be raced"
	case m.Memfd != nil && *m.Memfd:
		return "memfds live on a kernel-internal filesystem that fanotify cannot mark"
	case r.Errno == unix.EACCES || (r.Errno != 0 && !contains(fanotifyErrnos, r.Errno)):
		return fmt.Sprintf("fanotify cannot fail a call with %s (it can give %s)", errno.Name(r.Errno), errno.Names(fanotifyErrnos))
	}
	return ""
}

// Plan chooses, for every kill and deny rule, the first of its Options
// that av offers. Where none is offered it returns an error for each such
// rule (an *Error at the rule's action, all joined) and no plan: a policy
// is refused rather than silently downgraded to log.
func (s *Set) Plan(av Available) (map[*Rule]Mechanism, error) {
	plan := map[*Rule]Mechanism{}
	var errs yamldoc.List
	for _, r := range s.Rules {
		opts := r.Options()
		if opts == nil {
			continue
		}
		chosen := Mechanism("")
		for _, m := range opts {
			if offered(av, r, m) {
				chosen = m
				break
			}
		}
		if chosen == "" {
			errs.Add(r.FieldPos("action"), r.field("action"), "%s", missing(av, r, opts))
			continue
		}
		plan[r] = chosen
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return plan, nil
}

func offered(av Available, r *Rule, m Mechanism) bool {
	switch m {
	case MechKill:
		return av.Kill
	case MechLSM:
		return av.LSM
	case MechFanotify:
		return av.Fanotify && (r.Errno == 0 || r.Errno == unix.EPERM || av.FanotifyErrno)
	}
	return false
}

// missing explains why no mechanism can carry out r.
func missing(av Available, r *Rule, opts []Mechanism) string {
	var why []string
	for _, m := range opts {
		switch m {
		case MechKill:
			why = append(why, "bpf_send_signal is not available")
		case MechLSM:
			why = append(why, "BPF LSM is not available on this kernel")
		case MechFanotify:
			if !av.Fanotify {
				why = append(why, "fanotify permission events are not available")
			} else {
				why = append(why, fmt.Sprintf("fanotify cannot fail a call with %s before Linux 6.13 (FAN_DENY_ERRNO)", errno.Name(r.Errno)))
			}
		}
	}
	if p := r.FanotifyProblem(); r.Action == ActionDeny && p != "" && (r.Event == event.TypeExec || r.Event == event.TypeOpen) {
		why = append(why, "fanotify cannot do it: "+p)
	}
	return fmt.Sprintf("%s on %s cannot be enforced here: %s; use another action or remove the rule", r.Action, r.Event, strings.Join(why, "; "))
}

// Need is one (event, action) pair a Set holds, with the mechanisms that
// can carry it out.
type Need struct {
	Event  event.Type
	Action Action
	// Options are the union of the rules' options, preferred first.
	Options []Mechanism
	// Rules are the names of the rules that need it.
	Rules []string
}

// Needs returns the (event, action) pairs of s's kill and deny rules, in
// first-seen order, so that start-up and `vigil policy check` can say
// what the policy asks of the kernel.
func (s *Set) Needs() []Need {
	var out []Need
	idx := map[[2]string]int{}
	for _, r := range s.Rules {
		opts := r.Options()
		if opts == nil {
			continue
		}
		k := [2]string{string(r.Event), string(r.Action)}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Need{Event: r.Event, Action: r.Action})
		}
		for _, m := range opts {
			if !contains(out[i].Options, m) {
				out[i].Options = append(out[i].Options, m)
			}
		}
		out[i].Rules = append(out[i].Rules, r.Name)
	}
	return out
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
