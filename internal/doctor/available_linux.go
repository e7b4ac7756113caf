package doctor

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/policy"
)

// Rung mechanism prefixes of the action ladders, as policy names them.
const (
	rungKill     = "bpf_send_signal"
	rungLSM      = "lsm/"
	rungFanotify = "fanotify "
)

// Offers reports whether the rung of ladder whose mechanism starts with
// prefix is usable on this kernel, with the cached probes (Check), and
// why not.
func Offers(ladder, prefix string) (bool, string) {
	for _, l := range Ladders {
		if l.Name != ladder {
			continue
		}
		for _, r := range l.Rungs {
			if !strings.HasPrefix(r.Mechanism, prefix) {
				continue
			}
			why, _ := unusable(r, checkedResults(r.Needs), PointExists)
			return why == "", why
		}
	}
	return false, "vigil has no " + prefix + " rung for " + ladder
}

// RungNamed returns the full mechanism name of ladder's rung that starts with
// prefix ("lsm/bprm_check_security" for "deny exec", "lsm/"), or "" when
// the ladder has none: what the sensors log when they use that rung.
func RungNamed(ladder, prefix string) string {
	for _, l := range Ladders {
		for _, r := range l.Rungs {
			if l.Name == ladder && strings.HasPrefix(r.Mechanism, prefix) {
				return r.Mechanism
			}
		}
	}
	return ""
}

// checkedResults are the cached results of the named probes ("!name"
// asks for name), as Resolve reads them.
func checkedResults(needs []string) map[string]Result {
	out := make(map[string]Result, len(needs))
	for _, n := range needs {
		n = strings.TrimPrefix(n, "!")
		_, err := Check(n)
		res := Result{Name: n}
		res.Status, res.Reason = verdict(err)
		out[n] = res
	}
	return out
}

// Available is what the policy planner may use on this kernel, read from
// the action ladders (Ladders) with the cached probes: one table for what
// vigil doctor prints and what vigil monitor plans with.
func Available() policy.Available {
	kill, _ := Offers("kill", rungKill)
	lsm, _ := Offers("deny exec", rungLSM)
	fanExec, _ := Offers("deny exec", rungFanotify)
	fanOpen, _ := Offers("deny open", rungFanotify)
	av := policy.Available{Kill: kill, LSM: lsm, Fanotify: fanExec && fanOpen}
	if av.Fanotify {
		_, err := Check("fanotify-deny-errno")
		av.FanotifyErrno = err == nil
	}
	return av
}
